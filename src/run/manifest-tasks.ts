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

/**
 * Each key's manifest record as last derived, and the keys whose journal state, overlay or verified
 * outputs changed since: a checkpoint derives only those again (and the manifest writer serialises
 * only the records that are new objects); the final manifest derives every record afresh and keeps
 * the earlier object where it is equal (its bytes are then reused).
 */
export class ManifestRecordCache {
  private readonly kept = new Map<string, ManifestTask>();
  private readonly changed = new Set<string>();
  /** The plan's keys, for the task list they were taken from (a run asks with the same list each time). */
  private planned: { tasks: readonly TaskIdentity[]; length: number; keys: Set<string> } | null = null;

  private plannedKeys(tasks: readonly TaskIdentity[]): Set<string> {
    if (this.planned?.tasks !== tasks || this.planned.length !== tasks.length)
      this.planned = { tasks, length: tasks.length, keys: new Set(tasks.map((task) => task.key)) };
    return this.planned.keys;
  }

  markChanged(key: string): void {
    this.changed.add(key);
  }

  /** The plan's tasks in plan order, and the fold's keys that left the plan (orphans, not downloaded). */
  records(
    planTasks: readonly (TaskIdentity & { output: string })[],
    fold: JournalFold,
    verifiedOf: (key: string) => ReadonlySet<number>,
    overlayOf: (key: string) => KeyOverlay | undefined,
    reuse: boolean,
  ): { tasks: ManifestTask[]; orphans: ManifestTask[] } {
    // Kept unless changed (when reusing); else derived again, and the kept object still if equal.
    const unchanged = (key: string): ManifestTask | undefined => {
      const kept = this.kept.get(key);
      return reuse && kept !== undefined && !this.changed.has(key) ? kept : undefined;
    };
    const keep = (key: string, record: ManifestTask): ManifestTask => {
      const kept = this.kept.get(key);
      if (kept !== undefined && sameJson(kept, record)) return kept;
      this.kept.set(key, record);
      return record;
    };
    const planned = this.plannedKeys(planTasks);
    const tasks = planTasks.map(
      (task) =>
        unchanged(task.key) ??
        keep(
          task.key,
          deriveManifestTask(
            task,
            task.output,
            fold.get(task.key),
            verifiedOf(task.key),
            overlayOf(task.key),
          ),
        ),
    );
    const orphans: ManifestTask[] = [];
    for (const state of fold.values()) {
      if (planned.has(state.key)) continue;
      orphans.push(
        unchanged(state.key) ??
          keep(
            state.key,
            deriveManifestTask(state, state.output, state, verifiedOf(state.key), overlayOf(state.key), {
              downloads: false,
            }),
          ),
      );
    }
    this.changed.clear();
    return { tasks, orphans };
  }
}

/** Deep equality of two JSON-shaped values (the manifest records derived here). */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left);
  if (keys.length !== Object.keys(right).length) return false;
  return keys.every((key) => Object.hasOwn(right, key) && sameJson(left[key], right[key]));
}
