// The manifest's view of each key, derived from the journal fold (plus what this run has verified on
// disk and, at checkpoints, what is in progress). Deterministic: the same journal and the same files
// give the same entries, which is what makes a no-op rerun leave manifest.json byte-identical.
import { NO_VALID_ANSWER, OUTPUT_LOST, OUTPUT_MISSING } from "../manifest/codes.js";
import type {
  ManifestAttempt,
  ManifestError,
  ManifestOutput,
  ManifestTask,
  ManifestTaskStatus,
} from "../manifest/types.js";
import type { ParamValue, RequestBody } from "../job/types.js";
import {
  hasVanished,
  isPossiblyChargedTwice,
  lastAttempt,
  paidAttempts,
  type AttemptState,
  type JournalFold,
  type KeyState,
} from "../journal/fold.js";
import type { RecordSource } from "../manifest/checkpoint-writer.js";
import { missingOutputs } from "./decide.js";

/** What this process knows beyond the journal, for checkpoints and the final manifest. */
export interface KeyOverlay {
  /** Last status seen by a poll in this run (a journal only records terminal states). */
  live?: "PENDING" | "THROTTLED" | "RUNNING";
  /** Outputs are being downloaded right now. */
  downloading?: boolean;
  /** Why polling left the task in flight in this run (no valid answer for too long). */
  pollProblem?: string;
  /** Why the last download of this run failed: its code (DOWNLOAD_FAILED, OUTPUT_TOO_LARGE) and words. */
  downloadError?: { code: string; message: string };
}

export interface TaskIdentity {
  key: string;
  pair: string;
  params: Record<string, ParamValue>;
  request: RequestBody;
}

export function deriveManifestTask(
  identity: TaskIdentity,
  expectedOutput: string,
  state: KeyState | undefined,
  verified: ReadonlySet<number>,
  overlay: KeyOverlay = {},
  options: { downloads: boolean } = { downloads: true },
): ManifestTask {
  const last = lastAttempt(state);
  const paid = paidAttempts(state);
  const history = paid.filter((a) => a !== last).map(toHistoryEntry);
  const base = {
    key: identity.key,
    pair: identity.pair,
    params: identity.params,
    request: identity.request,
    attempts: paid.length,
    possiblyChargedTwice: isPossiblyChargedTwice(state),
    history,
  };
  if (!last) return { ...base, taskId: null, status: "NOT_SUBMITTED", outputs: [], error: null };
  const current = describeAttempt(last, overlay);
  if (last.terminal?.status !== "SUCCEEDED")
    return { ...base, taskId: last.taskId, status: current.status, outputs: [], error: current.error };

  const count = last.terminal.outputs;
  const outputs: ManifestOutput[] = last.outputs
    .filter((o) => o.index < count && verified.has(o.index))
    .map((o) => ({ file: o.file, bytes: o.bytes, sha256: o.sha256, ...(o.checks && { checks: o.checks }) }));
  const missing = missingOutputs(count, expectedOutput, last.outputs, verified);
  if (missing.length === 0 || !options.downloads)
    return { ...base, taskId: last.taskId, status: "SUCCEEDED", outputs, error: null };
  if (overlay.downloading) return { ...base, taskId: last.taskId, status: "RUNNING", outputs, error: null };
  // Not on disk, not a failure: a rerun renders it again (lost) or downloads it from its task.
  const notOnDisk = (code: string, message: string): ManifestTask => ({
    ...base,
    taskId: last.taskId,
    status: "PENDING",
    outputs,
    error: { code, message, retryable: true },
  });
  if (last.lost !== null) return notOnDisk(OUTPUT_LOST, LOST_AWAITING_RENDER);
  if (overlay.downloadError)
    return {
      ...base,
      taskId: last.taskId,
      status: "FAILED",
      outputs,
      // Retryable: a rerun downloads it from the task (no new render), as FETCH_AGAIN_CODES says.
      error: { ...overlay.downloadError, retryable: true },
    };
  // Not downloaded (yet): interrupted, another shard's task, or a file deleted since.
  return notOnDisk(
    OUTPUT_MISSING,
    "the render succeeded but its output is not on disk; a rerun downloads it (no new render)",
  );
}

/** What the manifest says of a lost render until it is rendered again. */
export const LOST_AWAITING_RENDER =
  "output lost and task expired: the next run renders it again (paid again)";

/** What the manifest says of a lost render once it was rendered again. */
export const RENDERED_AGAIN = "output lost and task expired: rendered again, paid again";

/** What the manifest says of a task the provider stopped knowing, once it was submitted again. */
export const VANISHED = "vanished at the provider: submitted again, paid again";

function toHistoryEntry(attempt: AttemptState): ManifestAttempt {
  if (attempt.lost !== null)
    return {
      attempt: attempt.attempt,
      taskId: attempt.taskId,
      status: "SUCCEEDED",
      error: { code: OUTPUT_LOST, message: RENDERED_AGAIN, retryable: true },
    };
  const { status, error } = describeAttempt(attempt, {});
  if (hasVanished(attempt) && error !== null)
    return {
      attempt: attempt.attempt,
      taskId: attempt.taskId,
      status,
      error: { ...error, message: VANISHED },
    };
  return { attempt: attempt.attempt, taskId: attempt.taskId, status, error };
}

function describeAttempt(
  attempt: AttemptState,
  overlay: KeyOverlay,
): { status: ManifestTaskStatus; error: ManifestError | null } {
  switch (attempt.phase) {
    case "not-created": {
      const nc = attempt.notCreated;
      const error: ManifestError = {
        code: nc?.code ?? "NOT_CREATED",
        message: nc?.message ?? "the service did not create the task",
        retryable: nc?.reason !== "rejected",
      };
      return { status: nc?.reason === "rejected" ? "FAILED" : "NOT_SUBMITTED", error };
    }
    case "intent":
    case "ambiguous":
      if (attempt.refusedCode !== null)
        return {
          status: "FAILED",
          error: { code: attempt.refusedCode, message: attempt.ambiguousMessage ?? "", retryable: false },
        };
      return {
        status: "AMBIGUOUS",
        error: {
          code: "AMBIGUOUS_CREATE",
          message:
            attempt.ambiguousMessage ??
            "the run stopped between sending the create and recording its answer: a task may exist and be paid",
          retryable: true,
        },
      };
    case "created":
      if (attempt.cancelled) return { status: "CANCELLED", error: null };
      if (overlay.pollProblem !== undefined)
        return {
          status: overlay.live ?? "PENDING",
          error: { code: NO_VALID_ANSWER, message: overlay.pollProblem, retryable: true },
        };
      return { status: overlay.live ?? "PENDING", error: null };
    case "terminal":
      return { status: attempt.terminal?.status ?? "PENDING", error: attempt.terminal?.error ?? null };
  }
}

/** The run's records handed to the manifest writer for one write. */
export interface ManifestRecords {
  /** Every record (the final write), or none (a checkpoint: the writer asks `source` for the changed keys'). */
  tasks: ManifestTask[];
  orphans: ManifestTask[];
  /** Where the writer takes the records it serialises, and which keys changed since the last write. */
  source: RecordSource;
  /** The write failed: the keys it took as changed stay changed for the next one. */
  failed(): void;
}

type PlanTask = TaskIdentity & { output: string };

/**
 * The keys whose journal state, overlay or verified outputs changed since the manifest was last
 * written, and the records each write takes. A checkpoint gets lists standing for a source that
 * derives a key's record only when the writer asks (the changed keys', in the normal case), so no
 * record is kept from one checkpoint to the next: kept ones outlive the young generation, and each
 * replaced one would be garbage in old space until a major GC. The final manifest derives every record.
 */
export class ManifestRecordCache {
  private changed = new Set<string>();
  /** The keys the write under way takes as changed (empty between writes). */
  private writing = new Set<string>();
  /** Each plan key's place in the task list it was taken from (a run asks with the same list each time). */
  private planned: { tasks: readonly PlanTask[]; length: number; places: Map<string, number> } | null = null;

  private planPlaces(tasks: readonly PlanTask[]): Map<string, number> {
    if (this.planned?.tasks !== tasks || this.planned.length !== tasks.length)
      this.planned = { tasks, length: tasks.length, places: new Map(tasks.map((task, i) => [task.key, i])) };
    return this.planned.places;
  }

  markChanged(key: string): void {
    this.changed.add(key);
  }

  /** The keys changed since the last write that did not fail, now the write under way's. */
  private take(): ReadonlySet<string> {
    const taken = this.changed;
    this.writing.clear();
    this.changed = this.writing;
    this.writing = taken;
    return taken;
  }

  private failed(taken: ReadonlySet<string>): void {
    if (taken !== this.writing) return;
    for (const key of taken) this.changed.add(key);
    this.writing.clear();
  }

  /** A checkpoint's records: none in the lists; the source derives a key's record when the writer asks. */
  checkpoint(
    planTasks: readonly PlanTask[],
    fold: JournalFold,
    verifiedOf: (key: string) => ReadonlySet<number>,
    overlayOf: (key: string) => KeyOverlay | undefined,
  ): ManifestRecords {
    const places = this.planPlaces(planTasks);
    const orphanKeys: string[] = [];
    for (const key of fold.keys()) if (!places.has(key)) orphanKeys.push(key);
    const changed = this.take();
    const record = (key: string): ManifestTask => {
      const place = places.get(key);
      if (place !== undefined)
        return derivePlanned(planTasks[place] as PlanTask, fold, verifiedOf, overlayOf);
      return deriveOrphan(fold.get(key) as KeyState, verifiedOf, overlayOf);
    };
    return {
      tasks: [],
      orphans: [],
      source: { changed, orphanKeys, record },
      failed: () => this.failed(changed),
    };
  }

  /** Every record derived afresh: the plan's tasks in plan order, and the fold's keys that left the plan (orphans, not downloaded). */
  records(
    planTasks: readonly PlanTask[],
    fold: JournalFold,
    verifiedOf: (key: string) => ReadonlySet<number>,
    overlayOf: (key: string) => KeyOverlay | undefined,
  ): ManifestRecords {
    const places = this.planPlaces(planTasks);
    const tasks = planTasks.map((task) => derivePlanned(task, fold, verifiedOf, overlayOf));
    const orphans: ManifestTask[] = [];
    for (const state of fold.values())
      if (!places.has(state.key)) orphans.push(deriveOrphan(state, verifiedOf, overlayOf));
    const changed = this.take();
    let orphanOf: Map<string, ManifestTask> | null = null;
    // The writer asks for the records of changed keys (the others' bytes are in the last file).
    const record = (key: string): ManifestTask => {
      const place = places.get(key);
      if (place !== undefined) return tasks[place] as ManifestTask;
      orphanOf ??= new Map(orphans.map((orphan) => [orphan.key, orphan]));
      return orphanOf.get(key) as ManifestTask;
    };
    const orphanKeys = orphans.map((orphan) => orphan.key);
    return {
      tasks,
      orphans,
      source: { changed, orphanKeys, record },
      failed: () => this.failed(changed),
    };
  }
}

function derivePlanned(
  task: PlanTask,
  fold: JournalFold,
  verifiedOf: (key: string) => ReadonlySet<number>,
  overlayOf: (key: string) => KeyOverlay | undefined,
): ManifestTask {
  return deriveManifestTask(task, task.output, fold.get(task.key), verifiedOf(task.key), overlayOf(task.key));
}

/** A key no longer in the plan: recorded as the journal knows it, its outputs not downloaded. */
function deriveOrphan(
  state: KeyState,
  verifiedOf: (key: string) => ReadonlySet<number>,
  overlayOf: (key: string) => KeyOverlay | undefined,
): ManifestTask {
  return deriveManifestTask(state, state.output, state, verifiedOf(state.key), overlayOf(state.key), {
    downloads: false,
  });
}
