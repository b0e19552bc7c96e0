// What one run of the engine knows and its steps share: each task's live phase and manifest overlay,
// the outputs verified on disk, why submission stopped, the counters of the summary, and the one way
// a record reaches the journal (on disk first, then in memory).
import { realpath } from "node:fs/promises";
import type { AccountStopReason } from "../api/types.js";
import type { TaskPlan } from "../job/types.js";
import { applyRecord, lastAttempt, taskIdOwners } from "../journal/fold.js";
import type { JournalRecord, NewJournalRecord } from "../journal/records.js";
import { JournalWriteError } from "../journal/writer.js";
import { CheckpointScheduler } from "./checkpoints.js";
import type { StartAction } from "./decide.js";
import type { ExecuteContext, ExecuteOptions, SubmitBudget } from "./engine-contract.js";
import type { LivePhase, RunSnapshot, StopReason, TaskRef } from "./events.js";
import { ManifestRecordCache, type KeyOverlay, type ManifestRecords } from "./manifest-tasks.js";
import { verifySucceededOutputs } from "./output-files.js";
import { RenderTimeEstimator } from "./poll-policy.js";
import { createDownloadSlots, createTaskSlots, type Limiter, type SlotLimiter } from "./scheduler.js";
import { snapshotOf } from "./snapshot.js";
import { SYSTEM_TIMERS, type RunTimers } from "./timers.js";
import { TokenBucket } from "./token-bucket.js";
import { accountStopMessage, diskFullMessage } from "./transitions.js";
import { isDiskFull } from "../fs/errno.js";

export class EngineState {
  readonly planByKey = new Map<string, TaskPlan>();
  readonly estimator: RenderTimeEstimator;
  /** One GET token bucket for the whole run: polls and output-URL fetches alike. */
  readonly bucket: TokenBucket;
  readonly slots: SlotLimiter;
  readonly downloadSlots: Limiter;
  /** Stops polls and downloads: Ctrl-C, a bad key seen by a GET, a journal that cannot be written. */
  readonly halt = new AbortController();
  readonly checkpoints: CheckpointScheduler;
  readonly timers: RunTimers;
  readonly startedAt: number;
  stop: { reason: StopReason; message: string } | null = null;
  journalFailure: JournalWriteError | null = null;
  moderationFailures = 0;
  budget: SubmitBudget | null = null;
  readonly polled = new Set<string>();
  readonly touched = new Set<string>();
  taskGets = 0;
  finished = 0;
  readonly downloads: Promise<void>[] = [];
  private readonly phases = new Map<string, { task: TaskRef; phase: LivePhase }>();
  private readonly verified = new Map<string, Set<number>>();
  private readonly overlay = new Map<string, KeyOverlay>();
  /** The keys whose journal state, overlay or verified outputs changed since the manifest was last written. */
  private readonly manifestRecords = new ManifestRecordCache();
  /** Which key each task id of the journal belongs to (one task id is one key's task). */
  private readonly owners: Map<string, string>;
  /** The output folder's real path, looked up once (outputs are checked against it). */
  private outputRoot: Promise<string> | null = null;

  constructor(
    readonly ctx: ExecuteContext,
    readonly options: ExecuteOptions,
  ) {
    for (const task of ctx.plan.tasks) this.planByKey.set(task.key, task);
    this.owners = taskIdOwners(ctx.fold);
    this.timers = ctx.timers ?? SYSTEM_TIMERS;
    this.estimator = new RenderTimeEstimator(ctx.timing.initialRenderEstimateMs);
    this.bucket = new TokenBucket(ctx.timing.getRatePerSecond, ctx.timing.getBurst, ctx.clock, ctx.sleep);
    this.slots = createTaskSlots(options.concurrency);
    this.downloadSlots = createDownloadSlots(options.concurrency);
    this.startedAt = ctx.clock();
    this.checkpoints = new CheckpointScheduler(
      ctx.timing.checkpointIntervalMs,
      async () => {
        const records = this.manifestRecords.checkpoint(
          ctx.plan.tasks,
          ctx.fold,
          (key) => this.verified.get(key) ?? NONE_VERIFIED,
          (key) => this.overlay.get(key),
        );
        try {
          await ctx.writeManifest(records, false);
        } catch (error) {
          records.failed();
          if (isDiskFull(error)) this.diskFull(error);
          throw error;
        }
      },
      this.timers,
    );
  }

  // ---- journal ----------------------------------------------------------------------------------

  /** Appends a record durably, then applies it to the in-memory fold (memory never runs ahead of disk). */
  async append(record: NewJournalRecord): Promise<JournalRecord> {
    let written: JournalRecord;
    try {
      written = await this.ctx.journal.append(record);
    } catch (error) {
      if (error instanceof JournalWriteError) {
        this.journalFailure ??= error;
        if (error.diskFull) this.diskFull(error);
        else this.stopSubmission("journal", error.message);
      }
      throw error;
    }
    applyRecord(this.ctx.fold, written);
    if (written.t === "created") this.owners.set(written.taskId, written.key);
    if (written.t === "intent") this.verified.set(written.key, new Set());
    this.changed(written.key);
    this.checkpoints.request();
    return written;
  }

  /** Runs work in a task slot; a journal failure ends the run after the manifest, anything else is a bug. */
  inSlot(fn: (release: () => void) => Promise<void>): Promise<void> {
    return this.slots(fn).catch((error: unknown) => this.onWorkError(error));
  }

  onWorkError(error: unknown): void {
    if (error instanceof JournalWriteError) return;
    throw error;
  }

  // ---- stops ------------------------------------------------------------------------------------

  submissionStopped(): boolean {
    return this.stop !== null || this.ctx.stopSignal.aborted;
  }

  stopSubmission(reason: StopReason, message: string): void {
    if (reason === "interrupt" || reason === "journal") this.halt.abort();
    if (this.stop) return;
    this.stop = { reason, message };
    this.ctx.emit({ kind: "submission-stopped", reason, message });
  }

  /**
   * The output folder's disk is full (a download, the journal, the manifest): nothing more is sent or
   * written; what is recorded stays readable, and a rerun with space fetches paid outputs from their tasks.
   */
  diskFull(error: unknown): void {
    this.halt.abort();
    this.stopSubmission("disk-full", diskFullMessage(this.ctx.outputDir, error, this.outputsStillNeeded()));
  }

  /** Outputs this run's tasks still need on disk, and their likely size from the outputs already kept. */
  private outputsStillNeeded(): { count: number; meanBytes: number | null } {
    let count = 0;
    for (const tracked of this.phases.values())
      if (tracked.phase !== "succeeded" && tracked.phase !== "failed") count++;
    let bytes = 0;
    let kept = 0;
    for (const state of this.ctx.fold.values())
      for (const output of lastAttempt(state)?.outputs ?? []) {
        bytes += output.bytes;
        kept++;
      }
    return { count, meanBytes: kept > 0 ? bytes / kept : null };
  }

  accountStop(reason: AccountStopReason, status: number, fromPoll: boolean, detail: string): void {
    // A bad key or an unreachable host fails every GET too: polling is pointless, the tasks in flight stay resumable.
    if (fromPoll || reason === "bad-key" || reason === "unreachable") this.halt.abort();
    this.stopSubmission("account", accountStopMessage(reason, status, this.options.keyVariable, detail));
  }

  /** The key whose task this id already is, when it is another key than `key`. */
  otherOwnerOf(taskId: string, key: string): string | undefined {
    const owner = this.owners.get(taskId);
    return owner === key ? undefined : owner;
  }

  // ---- per-task state ---------------------------------------------------------------------------

  track(task: TaskPlan, action: StartAction): void {
    this.phases.set(task.key, {
      task: refOf(task),
      phase: initialPhase(action),
    });
  }

  setPhase(key: string, phase: LivePhase): void {
    const tracked = this.phases.get(key);
    if (tracked) tracked.phase = phase;
  }

  phaseOf(key: string): LivePhase | undefined {
    return this.phases.get(key)?.phase;
  }

  /** The task as events name it: from the plan, or from the journal for an orphan. */
  refOf(key: string): TaskRef {
    const tracked = this.phases.get(key);
    if (tracked) return tracked.task;
    const state = this.ctx.fold.get(key);
    return { key, pair: state?.pair ?? "?", params: state?.params ?? {} };
  }

  overlayOf(key: string): KeyOverlay {
    let overlay = this.overlay.get(key);
    if (!overlay) {
      overlay = {};
      this.overlay.set(key, overlay);
    }
    return overlay;
  }

  verifiedOf(key: string): Set<number> {
    let set = this.verified.get(key);
    if (!set) {
      set = new Set();
      this.verified.set(key, set);
    }
    return set;
  }

  /** The key's manifest record is to be derived again at the next checkpoint. */
  changed(key: string): void {
    this.manifestRecords.markChanged(key);
  }

  createdAtOf(key: string): number {
    return parseTime(lastAttempt(this.ctx.fold.get(key))?.createdAt ?? null, this.ctx.clock());
  }

  outputRootPath(): Promise<string> {
    this.outputRoot ??= realpath(this.ctx.outputDir).catch((error: unknown) => {
      this.outputRoot = null;
      throw error;
    });
    return this.outputRoot;
  }

  /** Which recorded outputs of succeeded keys are intact on disk (see verifySucceededOutputs). */
  async verifyExistingOutputs(): Promise<void> {
    for (const [key, verified] of await verifySucceededOutputs(this.ctx.outputDir, this.ctx.fold)) {
      this.verified.set(key, verified);
      this.changed(key);
    }
  }

  // ---- what the run shows -----------------------------------------------------------------------

  /** Every key's manifest record, derived afresh (the writer reuses the bytes of unchanged keys'). */
  manifestTasks(): ManifestRecords {
    return this.manifestRecords.records(
      this.ctx.plan.tasks,
      this.ctx.fold,
      (key) => this.verified.get(key) ?? NONE_VERIFIED,
      (key) => this.overlay.get(key),
    );
  }

  snapshot(): RunSnapshot {
    return snapshotOf({
      job: this.ctx.plan.job,
      elapsedMs: this.ctx.clock() - this.startedAt,
      phases: this.phases.values(),
      requests: this.ctx.api.counts(),
      polledTasks: this.polled.size,
      taskGets: this.taskGets,
      meanRenderMs: this.estimator.meanMs(),
      slots: this.slots.limit,
      stopped: this.stop !== null,
    });
  }
}

/** The verified outputs of a key with none (not kept per key: a manifest derives every key's record). */
const NONE_VERIFIED: ReadonlySet<number> = new Set();

export function refOf(task: TaskPlan): TaskRef {
  return { key: task.key, pair: task.pair, params: task.params };
}

export function parseTime(iso: string | null, fallback: number): number {
  if (!iso) return fallback;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : fallback;
}

function initialPhase(action: StartAction): LivePhase {
  switch (action.kind) {
    case "skip":
      return "succeeded";
    case "download":
      return "downloading";
    case "poll":
      return "pending";
    case "submit":
      return "queued";
    case "hold":
      return action.reason === "ambiguous" ? "held" : "failed";
  }
}
