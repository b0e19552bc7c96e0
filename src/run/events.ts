// What a run reports while it works: a union on `kind`, consumed by the progress view (live on a
// terminal, plain lines in CI) and by tests. Events carry keys, pairs and params, never the API key.
import type { ManifestError } from "../manifest/types.js";
import type { ParamValue } from "../job/types.js";
import type { ApiRequestCounts } from "../api/types.js";

export interface TaskRef {
  key: string;
  pair: string;
  params: Record<string, ParamValue>;
}

/** Where each task of the run is right now (for counts, ETA and the live view). */
export type LivePhase =
  | "queued"
  | "submitting"
  | "pending"
  | "running"
  | "downloading"
  | "succeeded"
  | "failed"
  | "held"
  | "not-submitted";

/** Requests the run made, as the API client counts them. */
export type RequestCounts = ApiRequestCounts;

/** A periodic snapshot of the whole run. */
export interface RunSnapshot {
  job: string;
  elapsedMs: number;
  /** Tasks of this run (this shard) by phase. */
  phases: Record<LivePhase, number>;
  total: number;
  requests: RequestCounts;
  /** Task GETs per task that was polled in this run, null before any. */
  getsPerTask: number | null;
  /** Estimated time to finish, null until a render time is known. */
  etaMs: number | null;
  /** The same counts per pair, pairs in the order their first task comes (the live view's rows). */
  pairs?: PairPhases[];
}

export interface PairPhases {
  pair: string;
  phases: Record<LivePhase, number>;
}

export type StopReason = "account" | "moderation" | "budget" | "interrupt" | "journal" | "disk-full";

export type RunEvent =
  | {
      kind: "run-started";
      job: string;
      outputDir: string;
      total: number;
      inShard: number;
      concurrency: number;
      toSubmit: number;
      toPoll: number;
      toDownload: number;
      skipped: number;
      held: number;
      orphans: number;
      ambiguousResubmits: number;
    }
  | { kind: "task-submitted"; task: TaskRef; attempt: number; taskId: string }
  | {
      kind: "task-not-created";
      task: TaskRef;
      attempt: number;
      outcome: "rejected" | "unavailable" | "account-stop";
      message: string;
    }
  | { kind: "task-ambiguous"; task: TaskRef; attempt: number; message: string; resubmitting: boolean }
  | {
      kind: "task-state";
      task: TaskRef;
      taskId: string;
      status: "PENDING" | "THROTTLED" | "RUNNING";
      progress: number | null;
    }
  | {
      kind: "task-finished";
      task: TaskRef;
      taskId: string;
      attempt: number;
      status: "SUCCEEDED" | "FAILED" | "CANCELLED";
      error: ManifestError | null;
      retrying: boolean;
    }
  /**
   * A GET for the task gave no valid answer (not JSON, an unknown status, a success without a usable
   * URL, no answer at all); `leftInFlight`: polling gave up on it for this run (resumable).
   */
  | { kind: "task-unanswered"; task: TaskRef; taskId: string; message: string; leftInFlight: boolean }
  | { kind: "download-finished"; task: TaskRef; file: string; bytes: number }
  | { kind: "download-failed"; task: TaskRef; file: string; message: string }
  | { kind: "task-cancelled"; task: TaskRef; taskId: string; ok: boolean; message: string | null }
  | { kind: "submission-stopped"; reason: StopReason; message: string }
  | { kind: "interrupted"; signal: "SIGINT" | "SIGTERM"; cancelling: boolean }
  /** Something worth one line that is not about a task (a stale lock taken over, ...). */
  | { kind: "note"; message: string }
  | { kind: "snapshot"; snapshot: RunSnapshot }
  | { kind: "run-finished"; job: string; exitCode: number };

export type RunEventKind = RunEvent["kind"];
export type RunEventOf<K extends RunEventKind> = Extract<RunEvent, { kind: K }>;
