// Work done travels without the journal. CI artifacts drop dot-folders, `merge` writes none, a cache
// or a commit may keep only manifest.json and the files: the manifest then is the record of what was
// paid for. Each manifest task a folder's journal does not know is turned back into the journal
// records that would have produced it (pure: tested as data), so that the engine resumes it exactly
// as if this folder had run it: a succeeded task with intact files is skipped, a lost file is fetched
// again from its task, a task in flight is polled, and nothing paid for is submitted again.
import { taskKeyOf } from "../canonical.js";
import { FETCH_AGAIN_CODES, OUTPUT_LOST, REFUSED_ANSWER_CODES } from "../manifest/codes.js";
import type { ManifestAttempt, ManifestTask } from "../manifest/types.js";
import type { NewJournalRecord } from "../journal/records.js";
import { outputFileName } from "./output-files.js";

type Attempt = Pick<ManifestAttempt, "taskId" | "status" | "error">;

/**
 * The journal records that stand for one manifest task (empty when there is nothing to resume:
 * never submitted). `planned` is the output name the plan gives the key now (null for an orphan):
 * recorded files are matched to their output number by it.
 */
export function recordsFromManifestTask(task: ManifestTask, planned: string | null): NewJournalRecord[] {
  const identity = {
    pair: task.pair,
    params: task.params,
    request: task.request,
    output: planned ?? task.outputs[0]?.file ?? "",
  };
  const current: Attempt & { outputs: ManifestTask["outputs"] } = task;
  const attempts: (Attempt & { outputs?: ManifestTask["outputs"] })[] = task.history.toSorted(
    (a, b) => a.attempt - b.attempt,
  );
  // A task never submitted (and no attempt in its history) has nothing to resume.
  if (!(task.status === "NOT_SUBMITTED" && task.error === null && task.taskId === null))
    attempts.push(current);
  const records: NewJournalRecord[] = [];
  attempts.forEach((attempt, index) => {
    const number = index + 1;
    records.push({ t: "intent", key: task.key, attempt: number, ...identity });
    records.push(...attemptRecords(task.key, number, attempt, identity.output));
  });
  return records;
}

function attemptRecords(
  key: string,
  attempt: number,
  recorded: Attempt & { outputs?: ManifestTask["outputs"] },
  planned: string,
): NewJournalRecord[] {
  const { taskId, status, error } = recorded;
  if (taskId === null) {
    if (status === "AMBIGUOUS")
      return [{ t: "ambiguous", key, attempt, message: error?.message ?? "the create's outcome is unknown" }];
    // Answered, the answer refused: a failure that may have been paid, not a create the service refused.
    if (status === "FAILED" && error !== null && REFUSED_ANSWER_CODES.has(error.code))
      return [{ t: "ambiguous", key, attempt, message: error.message, code: error.code }];
    // Provably not created: refused (FAILED, no id), or not sent on (NOT_SUBMITTED with its reason).
    return [
      {
        t: "not-created",
        key,
        attempt,
        reason: status === "FAILED" ? "rejected" : "unavailable",
        code: error?.code ?? "NOT_CREATED",
        message: error?.message ?? "the service did not create the task",
      },
    ];
  }
  const ended = (final: "FAILED" | "CANCELLED"): NewJournalRecord => ({
    t: "terminal",
    key,
    attempt,
    taskId,
    status: final,
    error,
    outputs: 0,
  });
  const created: NewJournalRecord = { t: "created", key, attempt, taskId, adopted: true };
  const outputs = recorded.outputs ?? [];
  const succeeded = (count: number): NewJournalRecord => ({
    t: "terminal",
    key,
    attempt,
    taskId,
    status: "SUCCEEDED",
    error: null,
    outputs: count,
  });
  switch (status) {
    case "SUCCEEDED": {
      if (error?.code === OUTPUT_LOST)
        return [created, succeeded(1), { t: "lost", key, attempt, taskId, message: error.message }];
      // Act-Two renders one output; a task recorded with more keeps them all.
      const count = Math.max(outputs.length, 1);
      return [created, succeeded(count), ...outputRecords(key, attempt, taskId, outputs, planned, count)];
    }
    case "PENDING":
    case "RUNNING":
    case "FAILED":
      if (error?.code === OUTPUT_LOST)
        return [created, succeeded(1), { t: "lost", key, attempt, taskId, message: error.message }];
      // Succeeded at the service, not (all) downloaded: a rerun fetches the files from the task.
      if (error !== null && FETCH_AGAIN_CODES.has(error.code)) {
        const count = Math.max(outputs.length + 1, 1);
        return [created, succeeded(count), ...outputRecords(key, attempt, taskId, outputs, planned, count)];
      }
      if (status === "FAILED") return [created, ended("FAILED")];
      // In flight (or downloading when the manifest was written): polled, never submitted again.
      return [created];
    case "CANCELLED":
      return [created, ended("CANCELLED")];
    case "THROTTLED":
      return [created];
    case "NOT_SUBMITTED":
    case "AMBIGUOUS":
      // Not shapes a run writes with a task id; resuming it by polling is the safe reading.
      return [created];
  }
}

/** Output records, each file matched to its output number by the name the plan gives that number. */
function outputRecords(
  key: string,
  attempt: number,
  taskId: string,
  outputs: ManifestTask["outputs"],
  planned: string,
  count: number,
): NewJournalRecord[] {
  const names = Array.from({ length: count }, (_, index) => outputFileName(planned, index));
  const taken = new Set<number>();
  const indexOf = new Map<ManifestTask["outputs"][number], number>();
  for (const output of outputs) {
    const index = names.indexOf(output.file);
    if (index >= 0 && !taken.has(index)) {
      taken.add(index);
      indexOf.set(output, index);
    }
  }
  // Files under another name (the output template changed since): the free numbers, in order.
  let next = 0;
  return outputs.map((output) => {
    let index = indexOf.get(output);
    if (index === undefined) {
      while (taken.has(next)) next++;
      index = next;
      taken.add(index);
    }
    return {
      t: "output",
      key,
      attempt,
      taskId,
      index,
      file: output.file,
      bytes: output.bytes,
      sha256: output.sha256,
      ...(output.checks && { checks: output.checks }),
    };
  });
}

/** Why a manifest record cannot be trusted to stand for its key (hand-edited, or another tool's). */
export function untrustedRecord(task: ManifestTask): string | null {
  if (taskKeyOf(task.request) !== task.key) return "its key is not the digest of its recorded request";
  return null;
}
