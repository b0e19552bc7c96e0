// What the engine (execute.ts) takes and gives: its options, the context of effects it is handed
// (API, downloads, journal, clocks, signals, the manifest writer) and the facts it returns.
import type { FileHandle } from "node:fs/promises";
import type { ApiClient } from "../api/types.js";
import type { Plan, TaskPlan } from "../job/types.js";
import type { JournalFold } from "../journal/fold.js";
import type { JournalWriter } from "../journal/writer.js";
import type { ManifestOutputCheck, ManifestTask } from "../manifest/types.js";
import type { DecideOptions } from "./decide.js";
import type { DownloadOptions, DownloadResult } from "./downloader.js";
import type { ManifestRecords } from "./manifest-tasks.js";
import type { RunEvent, StopReason } from "./events.js";
import type { RunTimers } from "./timers.js";
import type { RunTiming } from "./timing.js";

export interface ExecuteOptions extends DecideOptions {
  concurrency: number;
  /** Create attempts per key within this run, the first included (retryable failures, ambiguous creates). */
  maxAttempts: number;
  /** Moderation failures in this run after which submission stops. */
  maxModerationFailures: number;
  /** Keys this run acts on (a shard); the manifest still lists every task of the plan. */
  inShard: (key: string) => boolean;
  /** Names the environment variable of the key in the bad-key message (never the key). */
  keyVariable: string;
}

/** What the gate before the first create decided. */
export interface SubmitGate {
  budget: SubmitBudget | null;
  /** Tasks in flight at once from now on, when the account sizes it (Runway's tier). */
  concurrency?: number;
}

/** Spending control of a run: a create is sent only if the budget still covers it. */
export interface SubmitBudget {
  /** Reserves the task's estimated cost; false when the budget cannot cover it (do not submit). */
  reserve(key: string): boolean;
  /** Gives a reservation back: only for a create the service provably did not act on. */
  release(key: string): void;
}

export interface ExecuteContext {
  plan: Plan;
  /**
   * Called once, after the start decisions and before the first create, with the tasks this run
   * will submit: asset preflight and the cost gate. It throws (a UserError) to refuse the run before
   * anything is spent, and may return a budget that every create must reserve from and a concurrency.
   */
  beforeSubmit?: (tasks: TaskPlan[]) => Promise<SubmitGate>;
  /**
   * Checks a downloaded, hash-verified output file against its task's request (MP4 header, ratio,
   * duration); the result is journalled with the output. Never throws for a bad file: it says so.
   */
  checkOutput?: (task: TaskPlan, file: FileHandle, size: number) => Promise<ManifestOutputCheck[]>;
  /** Absolute. */
  outputDir: string;
  api: ApiClient;
  download: (options: DownloadOptions) => Promise<DownloadResult>;
  journal: JournalWriter;
  /** The fold of the journal as read at the start; kept current by the engine. */
  fold: JournalFold;
  timing: RunTiming;
  timeScale: number;
  clock: () => number;
  /** The timers of checkpoints and snapshots. @defaultValue the process's own */
  timers?: RunTimers;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  emit: (event: RunEvent) => void;
  /** First Ctrl-C: stop submitting, stop polling, keep every record. */
  stopSignal: AbortSignal;
  /** Second Ctrl-C: also cancel (DELETE) the tasks in flight. */
  cancelSignal: AbortSignal;
  /**
   * Writes manifest.json (at checkpoints and at the end). `final` marks the last write of the run,
   * whose records are the run's result (a checkpoint's lists are empty: see ManifestRecords).
   */
  writeManifest: (records: ManifestRecords, final: boolean) => Promise<void>;
}

export interface ExecuteResult {
  tasks: ManifestTask[];
  orphans: ManifestTask[];
  /** Why submission stopped early, if it did. */
  stop: { reason: StopReason; message: string } | null;
  /** Every task of this run (its shard) SUCCEEDED. */
  allSucceeded: boolean;
  /** No output of this run's tasks failed its checks (a render that did stays SUCCEEDED: it was paid). */
  allChecked: boolean;
  /** Keys of this run (its shard). */
  runKeys: string[];
  /** Succeeded before this run, verified on disk: no API call. */
  alreadyDone: number;
  /** Succeeded before this run, files missing or altered: fetched again from their tasks. */
  fetchedAgain: number;
  /** Keys rendered again: their output was lost and their task gone at the provider. */
  renderedAgain: string[];
  /** Tasks that made at least one API call in this run. */
  touchedTasks: number;
  /** Tasks that were polled in this run, and the GETs they took. */
  polledTasks: number;
  taskGets: number;
  /** Tasks that reached a terminal state in this run, and their mean creation-to-terminal time. */
  finishedTasks: number;
  meanRenderMs: number | null;
  /** Records appended to the journal by this run. */
  appended: number;
  /** A cancel (second Ctrl-C) was acted on: the tasks in flight were asked to cancel. */
  cancelHandled: boolean;
}
