// The run engine: executes a plan against the API, from the state the journal left.
//
// Per key, decided once at the start (decide.ts): skip, download again, poll, submit, or hold. Then:
//   task slots (at most `concurrency`): intent -> create -> created -> poll -> terminal, resubmitting a
//     retryable failure within the slot; the slot is freed at the terminal state
//   download slots (fewer): outputs streamed to a temporary file, verified, renamed into place, recorded
// Every transition is on disk (journal, fsync'd) before the engine acts on it, so a kill at any moment
// leaves a state the next run resumes from without paying twice.
import { realpath } from "node:fs/promises";
import type { AccountStopReason, TaskState } from "../api/types.js";
import { crashPoint } from "../crash-points.js";
import type { ManifestTask } from "../manifest/types.js";
import type { LivePhase, RunSnapshot, StopReason, TaskRef } from "./events.js";
import type { TaskPlan } from "../job/types.js";
import { decideStart, nextAttemptNumber, type StartAction } from "./decide.js";
import { applyRecord, isInFlight, lastAttempt, type KeyState } from "../journal/fold.js";
import type { JournalRecord, NewJournalRecord, NotCreatedReason } from "../journal/records.js";
import { JournalWriteError } from "../journal/writer.js";
import { ManifestRecordCache, type KeyOverlay } from "./manifest-tasks.js";
import { verifySucceededOutputs } from "./output-files.js";
import { RenderTimeEstimator } from "./poll-policy.js";
import {
  accountStopMessage,
  notCreatedOf,
  resubmitsAmbiguous,
  moderationStopMessage,
  retriedInRun,
  terminalOutcome,
} from "./transitions.js";
import { pollTask, type PollResult, type TerminalTaskState } from "./poller.js";
import { fetchOutputUrls, type OutputUrls } from "./fetch-outputs.js";
import { downloadTaskOutputs } from "./task-downloads.js";
import { createDownloadSlots, createTaskSlots, type Limiter, type SlotLimiter } from "./scheduler.js";
import { TokenBucket } from "./token-bucket.js";
import { InFlightCanceller } from "./cancel.js";
import { CheckpointScheduler } from "./checkpoints.js";
import { snapshotOf } from "./snapshot.js";
import { SYSTEM_TIMERS, type RunTimers } from "./timers.js";
import type { ExecuteContext, ExecuteOptions, ExecuteResult, SubmitBudget } from "./engine-contract.js";

export type {
  ExecuteContext,
  ExecuteOptions,
  ExecuteResult,
  SubmitBudget,
  SubmitGate,
} from "./engine-contract.js";

/** How often the live view gets a snapshot of the run. */
const SNAPSHOT_INTERVAL_MS = 500;

/** Per-task accounting of the engine, kept for counts and the manifest overlay. */
interface Tracked {
  task: TaskRef;
  phase: LivePhase;
}

export async function executePlan(ctx: ExecuteContext, options: ExecuteOptions): Promise<ExecuteResult> {
  return new Engine(ctx, options).run();
}

class Engine {
  private readonly planByKey = new Map<string, TaskPlan>();
  private readonly verified = new Map<string, Set<number>>();
  private readonly overlay = new Map<string, KeyOverlay>();
  private readonly tracked = new Map<string, Tracked>();
  private readonly estimator: RenderTimeEstimator;
  private readonly bucket: TokenBucket;
  private readonly slots: SlotLimiter;
  private readonly downloadSlots: Limiter;
  /** Stops polls and downloads: Ctrl-C, a bad key seen by a GET, a journal that cannot be written. */
  private readonly halt = new AbortController();
  private stop: { reason: StopReason; message: string } | null = null;
  private journalFailure: JournalWriteError | null = null;
  private moderationFailures = 0;
  private budget: SubmitBudget | null = null;
  private readonly polled = new Set<string>();
  private readonly touched = new Set<string>();
  private taskGets = 0;
  private finished = 0;
  private readonly downloads: Promise<void>[] = [];
  private readonly startedAt: number;
  private readonly checkpoints: CheckpointScheduler;
  /** Second Ctrl-C: DELETE every task still in flight, recording each cancel the API confirmed. */
  private readonly canceller: InFlightCanceller;
  /**
   * Each key's manifest record as the last checkpoint derived it, and the keys whose journal state,
   * overlay or verified outputs changed since: a checkpoint derives only those again (and the
   * manifest writer serialises only the records that are new objects).
   */
  private readonly manifestRecords = new ManifestRecordCache();
  /** The output folder's real path, looked up once (outputs are checked against it, see prepareOutputFolder). */
  private outputRoot: Promise<string> | null = null;

  constructor(
    private readonly ctx: ExecuteContext,
    private readonly options: ExecuteOptions,
  ) {
    for (const task of ctx.plan.tasks) this.planByKey.set(task.key, task);
    this.estimator = new RenderTimeEstimator(ctx.timing.initialRenderEstimateMs);
    this.bucket = new TokenBucket(ctx.timing.getRatePerSecond, ctx.timing.getBurst, ctx.clock, ctx.sleep);
    this.slots = createTaskSlots(options.concurrency);
    this.downloadSlots = createDownloadSlots(options.concurrency);
    this.startedAt = ctx.clock();
    this.checkpoints = new CheckpointScheduler(
      ctx.timing.checkpointIntervalMs,
      () => {
        const { tasks, orphans } = this.manifestTasks(true);
        return ctx.writeManifest(tasks, orphans, false);
      },
      this.timers,
    );
    this.canceller = new InFlightCanceller({
      api: ctx.api,
      fold: ctx.fold,
      append: (record) => this.append(record),
      onAppendError: (error) => this.onWorkError(error),
      refOf: (key) => this.tracked.get(key)?.task ?? this.orphanRef(key),
      onCancelled: (key) => {
        const tracked = this.tracked.get(key);
        if (tracked) tracked.phase = "not-submitted";
      },
      emit: ctx.emit,
    });
  }

  private get timers(): RunTimers {
    return this.ctx.timers ?? SYSTEM_TIMERS;
  }

  async run(): Promise<ExecuteResult> {
    const { ctx, options } = this;
    await this.verifyExistingOutputs();

    const runTasks = ctx.plan.tasks.filter((task) => options.inShard(task.key));
    const actions = new Map<string, StartAction>();
    for (const task of runTasks) {
      const state = ctx.fold.get(task.key);
      const action = decideStart(state, task.output, this.verifiedOf(task.key), options);
      actions.set(task.key, action);
      this.tracked.set(task.key, { task: refOf(task), phase: initialPhase(action, state) });
    }
    // Outputs lost from disk are fetched again from their tasks (free) before anything is paid; a task
    // the provider no longer has is rendered again, and goes through the gate like any other create.
    const freshUrls = await this.fetchAgain(runTasks, actions);
    // Preflight and cost gate: only the tasks that will be submitted are probed and priced, so a
    // rerun of a finished job stays offline. A refusal throws before anything is spent.
    if (ctx.beforeSubmit) {
      const gate = await ctx.beforeSubmit(
        runTasks.filter((task) => actions.get(task.key)?.kind === "submit"),
      );
      this.budget = gate.budget;
      if (gate.concurrency !== undefined) this.slots.limit = gate.concurrency;
    }
    const orphanPolls = [...ctx.fold.values()].filter(
      (state) => !this.planByKey.has(state.key) && isInFlight(lastAttempt(state)),
    );
    const count = (kind: StartAction["kind"]): number =>
      [...actions.values()].filter((a) => a.kind === kind).length;
    ctx.emit({
      kind: "run-started",
      job: ctx.plan.job,
      outputDir: ctx.outputDir,
      total: ctx.plan.tasks.length,
      inShard: runTasks.length,
      concurrency: this.slots.limit,
      toSubmit: count("submit"),
      toPoll: count("poll") + orphanPolls.length,
      toDownload: count("download"),
      skipped: count("skip"),
      held: count("hold"),
      orphans: [...ctx.fold.keys()].filter((key) => !this.planByKey.has(key)).length,
      ambiguousResubmits: [...actions.values()].filter((a) => a.kind === "submit" && a.reason === "ambiguous")
        .length,
    });

    const onStop = (): void =>
      this.stopSubmission(
        "interrupt",
        "interrupted: nothing more is submitted; tasks in flight stay resumable",
      );
    // Cancelling (a second Ctrl-C) implies stopping, even if a caller aborts only the cancel signal.
    for (const signal of [ctx.stopSignal, ctx.cancelSignal]) {
      if (signal.aborted) onStop();
      else signal.addEventListener("abort", onStop, { once: true });
    }
    // A second Ctrl-C cancels the tasks in flight when it comes, wherever the run is: not only if it
    // came before the work ended (the shutdown after the first one is quick, but not instant).
    const cancelKeys = new Set([...runTasks.map((t) => t.key), ...orphanPolls.map((s) => s.key)]);
    const cancels: Promise<void>[] = [];
    const onCancel = (): void => void cancels.push(this.canceller.cancel(cancelKeys));
    if (ctx.cancelSignal.aborted) onCancel();
    else ctx.cancelSignal.addEventListener("abort", onCancel, { once: true });
    const snapshotTimer = this.timers.setInterval(
      () => ctx.emit({ kind: "snapshot", snapshot: this.snapshot() }),
      SNAPSHOT_INTERVAL_MS,
    );

    try {
      const work: Promise<void>[] = [];
      // Tasks already paid for and in flight come first: they hold account capacity already.
      for (const state of orphanPolls) work.push(this.inSlot((release) => this.resumeOrphan(state, release)));
      for (const task of runTasks) {
        const action = actions.get(task.key);
        if (action?.kind === "poll")
          work.push(this.inSlot((release) => this.resumePoll(task, action, release)));
      }
      for (const task of runTasks) {
        const action = actions.get(task.key);
        if (action?.kind === "download")
          this.queueDownload(
            task,
            action.attempt,
            action.taskId,
            action.outputs,
            freshUrls.get(task.key) ?? null,
            action.missing,
            this.createdAtOf(task.key),
          );
      }
      for (const task of runTasks) {
        const action = actions.get(task.key);
        if (action?.kind === "submit") work.push(this.inSlot((release) => this.submit(task, release)));
      }
      await Promise.all(work);
      await Promise.all(this.downloads);
      // Again once the work has ended: a create answered after the cancel began is in flight too.
      if (ctx.cancelSignal.aborted) await Promise.all([...cancels, this.canceller.cancel(cancelKeys)]);
    } finally {
      this.timers.clearInterval(snapshotTimer);
      ctx.stopSignal.removeEventListener("abort", onStop);
      ctx.cancelSignal.removeEventListener("abort", onStop);
      await this.checkpoints.close();
      await ctx.journal.settle().catch(() => undefined);
    }

    // The final manifest is derived afresh for every key, whatever the checkpoints kept (a record equal
    // to the one kept is the kept object, so its bytes are not serialised again).
    let { tasks, orphans } = this.manifestTasks(false);
    await ctx.writeManifest(tasks, orphans, true);
    ctx.emit({ kind: "snapshot", snapshot: this.snapshot() });
    ctx.cancelSignal.removeEventListener("abort", onCancel);
    if (cancels.length > 0) {
      // Cancels begun while the manifest was being written (or still under way): record them in it too.
      await Promise.all(cancels);
      await ctx.journal.settle().catch(() => undefined);
      ({ tasks, orphans } = this.manifestTasks(false));
      await ctx.writeManifest(tasks, orphans, true);
      ctx.emit({ kind: "snapshot", snapshot: this.snapshot() });
    }
    if (this.journalFailure) throw this.journalFailure;

    const runKeys = runTasks.map((task) => task.key);
    const byKey = new Map(tasks.map((task) => [task.key, task]));
    const allSucceeded = runKeys.every((key) => byKey.get(key)?.status === "SUCCEEDED");
    // A render whose file failed a check stays SUCCEEDED (it exists and was paid) but is not a pass.
    const allChecked = runKeys.every((key) => !hasFailedCheck(byKey.get(key)));
    return {
      tasks,
      orphans,
      stop: this.stop,
      allSucceeded,
      allChecked,
      runKeys,
      alreadyDone: [...actions.values()].filter((a) => a.kind === "skip").length,
      fetchedAgain: [...actions.values()].filter((a) => a.kind === "download").length,
      renderedAgain: [...actions]
        .filter(([, a]) => a.kind === "submit" && a.reason === "output-lost")
        .map(([key]) => key),
      touchedTasks: this.touched.size,
      polledTasks: this.polled.size,
      taskGets: this.taskGets,
      finishedTasks: this.finished,
      meanRenderMs: this.estimator.meanMs(),
      appended: ctx.journal.count,
      cancelHandled: this.canceller.handled,
    };
  }

  // ---- submission -------------------------------------------------------------------------------

  /** One task slot: create, poll to a terminal state, and resubmit within the slot while allowed. */
  /** `release` gives the task slot back early (once the task is terminal at the service and is not resubmitted). */
  private async submit(task: TaskPlan, release: () => void, attemptsSoFar = 0): Promise<void> {
    const { ctx, options } = this;
    const ref = refOf(task);
    let attemptsThisRun = attemptsSoFar;
    for (;;) {
      if (this.submissionStopped()) {
        // A resubmission that the stop prevented leaves the task as its last attempt ended.
        this.setPhase(task.key, attemptsThisRun > 0 ? "failed" : "not-submitted");
        return;
      }
      if (this.budget && !this.budget.reserve(task.key)) {
        this.stopSubmission(
          "budget",
          "stopped submitting: the budget does not cover the next task (raise it with --max-credits/--max-usd or the job's budget, then rerun)",
        );
        this.setPhase(task.key, attemptsThisRun > 0 ? "failed" : "not-submitted");
        return;
      }
      const attempt = nextAttemptNumber(ctx.fold.get(task.key));
      attemptsThisRun++;
      this.setPhase(task.key, "submitting");
      await this.append({
        t: "intent",
        key: task.key,
        attempt,
        pair: task.pair,
        params: task.params,
        request: task.request,
        output: task.output,
      });
      crashPoint("after-intent");
      this.touched.add(task.key);
      // The create is tied to no Ctrl-C: its answer must be recorded. Aborting it on the second one
      // would leave a task that may exist and be paid, with no id to cancel it by; answered, it is
      // cancelled with the others in flight (the sweep after the work ends).
      const outcome = await ctx.api.createTask(task.request);
      switch (outcome.kind) {
        case "created": {
          crashPoint("after-create-response");
          await this.append({ t: "created", key: task.key, attempt, taskId: outcome.taskId });
          crashPoint("after-created-record");
          const createdAtMs = ctx.clock();
          this.setPhase(task.key, "pending");
          ctx.emit({ kind: "task-submitted", task: ref, attempt, taskId: outcome.taskId });
          const result = await this.poll(task.key, outcome.taskId, createdAtMs, false);
          if (result.kind !== "terminal") return this.afterUnfinishedPoll(task.key, result);
          this.estimator.record(result.atMs - result.startedAtMs);
          const again = await this.recordTerminal(
            task,
            attempt,
            outcome.taskId,
            result.state,
            createdAtMs,
            attemptsThisRun,
            release,
          );
          if (!again) return;
          continue;
        }
        case "rejected":
        case "unavailable":
        case "account-stop": {
          const refused = notCreatedOf(outcome);
          await this.recordNotCreated(task, attempt, refused.reason, refused.code, refused.message);
          this.setPhase(task.key, refused.phase);
          if (refused.accountStop)
            this.accountStop(refused.accountStop.reason, refused.accountStop.status, false);
          return;
        }
        case "ambiguous": {
          await this.append({ t: "ambiguous", key: task.key, attempt, message: outcome.message });
          const again = resubmitsAmbiguous(
            options.resubmitAmbiguous,
            attemptsThisRun,
            options.maxAttempts,
            this.submissionStopped(),
          );
          ctx.emit({
            kind: "task-ambiguous",
            task: ref,
            attempt,
            message: outcome.message,
            resubmitting: again,
          });
          if (!again) {
            this.setPhase(task.key, "held");
            return;
          }
          continue;
        }
      }
    }
  }

  /** Records a terminal state; answers whether the task is to be submitted again within this slot. */
  private async recordTerminal(
    task: TaskPlan,
    attempt: number,
    taskId: string,
    state: TerminalTaskState,
    createdAtMs: number,
    attemptsThisRun: number,
    /** Called once the slot may serve the next task; a failure keeps it until its stop rules are applied. */
    release: () => void,
  ): Promise<boolean> {
    const { ctx, options } = this;
    const ref = refOf(task);
    this.finished++;
    const outcome = terminalOutcome(state);
    const { status, error } = outcome;
    // Terminal at the service, the task no longer counts against the account: the next create need not
    // wait for this record's fsync (a download still does). A failure keeps its slot until the stop
    // rules below are applied, so that no create slips in past a moderation stop.
    if (status !== "FAILED") release();
    await this.append({
      t: "terminal",
      key: task.key,
      attempt,
      taskId,
      status,
      error,
      outputs: outcome.outputs,
    });
    if (outcome.failure === "moderation") this.moderationFailures++;
    const retrying = retriedInRun(outcome, attemptsThisRun, options.maxAttempts, this.submissionStopped());
    ctx.emit({ kind: "task-finished", task: ref, taskId, attempt, status, error, retrying });
    if (outcome.failure === "moderation" && this.moderationFailures >= options.maxModerationFailures)
      this.stopSubmission(
        "moderation",
        moderationStopMessage(this.moderationFailures, options.maxModerationFailures),
      );
    if (status === "SUCCEEDED" && state.status === "succeeded") {
      const all = state.outputs.map((_, index) => index);
      this.queueDownload(task, attempt, taskId, outcome.outputs, state.outputs, all, createdAtMs);
      return false;
    }
    if (!retrying) this.setPhase(task.key, "failed");
    return retrying;
  }

  // ---- polling ----------------------------------------------------------------------------------

  private poll(key: string, taskId: string, createdAtMs: number, immediate: boolean): Promise<PollResult> {
    const { ctx } = this;
    this.polled.add(key);
    this.touched.add(key);
    return pollTask({
      api: ctx.api,
      taskId,
      createdAtMs,
      bucket: this.bucket,
      timing: ctx.timing,
      clock: ctx.clock,
      sleep: ctx.sleep,
      signal: this.halt.signal,
      expectedRenderMs: () => this.estimator.expectedMs(),
      immediate,
      onGet: () => this.taskGets++,
      onState: (state) => this.onLiveState(key, taskId, state),
    });
  }

  private onLiveState(key: string, taskId: string, state: TaskState): void {
    const live =
      state.status === "throttled" ? "THROTTLED" : state.status === "running" ? "RUNNING" : "PENDING";
    const overlay = this.overlayOf(key);
    const changed = overlay.live !== live;
    overlay.live = live;
    if (changed) this.manifestRecords.markChanged(key);
    const tracked = this.tracked.get(key);
    if (tracked) tracked.phase = live === "RUNNING" ? "running" : "pending";
    if (changed) {
      const task = tracked?.task ?? this.orphanRef(key);
      const progress = state.status === "running" ? state.progress : null;
      this.ctx.emit({ kind: "task-state", task, taskId, status: live, progress });
      this.checkpoints.request();
    }
  }

  /** A task of this plan submitted by an earlier run and not finished: poll it (never resubmit). */
  private async resumePoll(
    task: TaskPlan,
    action: Extract<StartAction, { kind: "poll" }>,
    release: () => void,
  ): Promise<void> {
    const createdAtMs = parseTime(action.createdAt, this.ctx.clock());
    const result = await this.poll(task.key, action.taskId, createdAtMs, true);
    if (result.kind !== "terminal") return this.afterUnfinishedPoll(task.key, result);
    const again = await this.recordTerminal(
      task,
      action.attempt,
      action.taskId,
      result.state,
      createdAtMs,
      1,
      release,
    );
    // A retryable failure of a resumed task is resubmitted like any other; the resumed attempt counts
    // towards this run's attempts, as if the interrupted run had never stopped.
    if (again) await this.submit(task, release, 1);
  }

  /** A task no longer in the job file but paid and in flight: polled to a terminal state, not downloaded. */
  private async resumeOrphan(state: KeyState, release: () => void): Promise<void> {
    const attempt = lastAttempt(state);
    if (!attempt?.taskId) return;
    const createdAtMs = parseTime(attempt.createdAt, this.ctx.clock());
    const result = await this.poll(state.key, attempt.taskId, createdAtMs, true);
    if (result.kind !== "terminal") return this.afterUnfinishedPoll(state.key, result);
    // Terminal at the service: it no longer counts against the account's concurrency.
    release();
    const { status, error, outputs } = terminalOutcome(result.state);
    await this.append({
      t: "terminal",
      key: state.key,
      attempt: attempt.attempt,
      taskId: attempt.taskId,
      status,
      error,
      outputs,
    });
  }

  private afterUnfinishedPoll(key: string, result: Exclude<PollResult, { kind: "terminal" }>): void {
    if (result.kind === "account-stop") this.accountStop(result.reason, result.status, true);
    // The task stays in flight (its id is on disk): the next run polls it.
    const tracked = this.tracked.get(key);
    if (tracked?.phase === "submitting") tracked.phase = "pending";
  }

  // ---- downloads --------------------------------------------------------------------------------

  private queueDownload(
    task: TaskPlan,
    attempt: number,
    taskId: string,
    outputCount: number,
    urls: readonly string[] | null,
    indexes: readonly number[],
    createdAtMs: number,
  ): void {
    this.setPhase(task.key, "downloading");
    this.overlayOf(task.key).downloading = true;
    this.manifestRecords.markChanged(task.key);
    const job = this.downloadSlots(() =>
      this.downloadOutputs(task, attempt, taskId, outputCount, urls, indexes, createdAtMs),
    )
      .catch((error: unknown) => this.onWorkError(error))
      .finally(() => {
        this.overlayOf(task.key).downloading = false;
        this.manifestRecords.markChanged(task.key);
        this.checkpoints.request();
      });
    this.downloads.push(job);
  }

  private async downloadOutputs(
    task: TaskPlan,
    attempt: number,
    taskId: string,
    outputCount: number,
    urls: readonly string[] | null,
    indexes: readonly number[],
    createdAtMs: number,
  ): Promise<void> {
    const { ctx } = this;
    const overlay = this.overlayOf(task.key);
    const outcome = await downloadTaskOutputs(
      { task, ref: refOf(task), attempt, taskId, urls, indexes, createdAtMs },
      {
        outputDir: ctx.outputDir,
        outputRoot: () => this.outputRootPath(),
        api: ctx.api,
        download: ctx.download,
        ...(ctx.checkOutput && { checkOutput: ctx.checkOutput }),
        fetchOutputUrls: (id, at) => this.fetchOutputUrls(id, at),
        append: (record) => this.append(record),
        emit: ctx.emit,
        signal: this.halt.signal,
        timeScale: ctx.timeScale,
      },
      {
        saved: (index) => {
          this.verifiedOf(task.key).add(index);
          this.manifestRecords.markChanged(task.key);
        },
        failed: (message) => {
          overlay.downloadError = message;
          this.manifestRecords.markChanged(task.key);
        },
      },
    );
    if (outcome.kind === "stopped") return;
    const failed = outcome.failures.length > 0;
    if (!failed) delete overlay.downloadError;
    this.manifestRecords.markChanged(task.key);
    const verified = this.verifiedOf(task.key);
    const complete = Array.from({ length: outputCount }, (_, i) => i).every((i) => verified.has(i));
    this.setPhase(task.key, complete && !failed ? "succeeded" : "failed");
  }

  /**
   * Start decisions to fetch outputs again: each task is read once for fresh URLs (kept for its
   * download). A task the provider no longer has becomes a new render: recorded as lost, then submitted.
   */
  private async fetchAgain(
    runTasks: readonly TaskPlan[],
    actions: Map<string, StartAction>,
  ): Promise<Map<string, readonly string[]>> {
    const fresh = new Map<string, readonly string[]>();
    await Promise.all(
      runTasks.map(async (task) => {
        const action = actions.get(task.key);
        if (action?.kind !== "download" || this.halt.signal.aborted) return;
        this.touched.add(task.key);
        const found = await this.fetchOutputUrls(action.taskId, this.createdAtOf(task.key));
        if (found.kind === "urls") fresh.set(task.key, found.urls);
        if (found.kind !== "gone" || this.submissionStopped()) return;
        await this.append({
          t: "lost",
          key: task.key,
          attempt: action.attempt,
          taskId: action.taskId,
          message: found.message,
        });
        actions.set(task.key, {
          kind: "submit",
          attempt: nextAttemptNumber(this.ctx.fold.get(task.key)),
          reason: "output-lost",
        });
        this.setPhase(task.key, "queued");
      }),
    );
    return fresh;
  }

  /** GETs a succeeded task for its (fresh, signed) output URLs, or says why there are none. */
  private fetchOutputUrls(taskId: string, createdAtMs: number): Promise<OutputUrls> {
    return fetchOutputUrls(taskId, createdAtMs, {
      api: this.ctx.api,
      bucket: this.bucket,
      signal: this.halt.signal,
      sleep: this.ctx.sleep,
      retryDelayMs: this.ctx.timing.pollErrorDelayMs,
      onGet: () => this.taskGets++,
      onAccountStop: (reason, status) => this.accountStop(reason, status, true),
    });
  }

  /** A create the service provably did not act on: its budget reservation is given back, and it is journalled. */
  private async recordNotCreated(
    task: TaskPlan,
    attempt: number,
    reason: NotCreatedReason,
    code: string,
    message: string,
  ): Promise<void> {
    this.budget?.release(task.key);
    await this.append({ t: "not-created", key: task.key, attempt, reason, code, message });
    this.ctx.emit({ kind: "task-not-created", task: refOf(task), attempt, outcome: reason, message });
  }

  // ---- stops ------------------------------------------------------------------------------------

  private submissionStopped(): boolean {
    return this.stop !== null || this.ctx.stopSignal.aborted;
  }

  private stopSubmission(reason: StopReason, message: string): void {
    if (reason === "interrupt" || reason === "journal") this.halt.abort();
    if (this.stop) return;
    this.stop = { reason, message };
    this.ctx.emit({ kind: "submission-stopped", reason, message });
  }

  private accountStop(reason: AccountStopReason, status: number, fromPoll: boolean): void {
    // A bad key fails every GET too: polling is pointless, the tasks in flight stay resumable.
    if (fromPoll || reason === "bad-key") this.halt.abort();
    this.stopSubmission("account", accountStopMessage(reason, status, this.options.keyVariable));
  }

  // ---- journal and manifest ---------------------------------------------------------------------

  /** Appends a record durably, then applies it to the in-memory fold (memory never runs ahead of disk). */
  private async append(record: NewJournalRecord): Promise<JournalRecord> {
    let written: JournalRecord;
    try {
      written = await this.ctx.journal.append(record);
    } catch (error) {
      if (error instanceof JournalWriteError) {
        this.journalFailure ??= error;
        this.stopSubmission("journal", error.message);
      }
      throw error;
    }
    applyRecord(this.ctx.fold, written);
    if (written.t === "intent") this.verified.set(written.key, new Set());
    this.manifestRecords.markChanged(written.key);
    this.checkpoints.request();
    return written;
  }

  private inSlot(fn: (release: () => void) => Promise<void>): Promise<void> {
    return this.slots(fn).catch((error: unknown) => this.onWorkError(error));
  }

  /** A journal failure ends the run (after the manifest); anything else is a bug and is rethrown at the end. */
  private onWorkError(error: unknown): void {
    if (error instanceof JournalWriteError) return;
    throw error;
  }

  /** Every key's manifest record (see ManifestRecordCache). */
  private manifestTasks(reuse: boolean): { tasks: ManifestTask[]; orphans: ManifestTask[] } {
    return this.manifestRecords.records(
      this.ctx.plan.tasks,
      this.ctx.fold,
      (key) => this.verifiedOf(key),
      (key) => this.overlay.get(key),
      reuse,
    );
  }

  /** Which recorded outputs of succeeded keys are intact on disk (see verifySucceededOutputs). */
  private async verifyExistingOutputs(): Promise<void> {
    for (const [key, verified] of await verifySucceededOutputs(this.ctx.outputDir, this.ctx.fold)) {
      this.verified.set(key, verified);
      this.manifestRecords.markChanged(key);
    }
  }

  // ---- small helpers ----------------------------------------------------------------------------

  private verifiedOf(key: string): Set<number> {
    let set = this.verified.get(key);
    if (!set) {
      set = new Set();
      this.verified.set(key, set);
    }
    return set;
  }

  private outputRootPath(): Promise<string> {
    this.outputRoot ??= realpath(this.ctx.outputDir).catch((error: unknown) => {
      this.outputRoot = null;
      throw error;
    });
    return this.outputRoot;
  }

  private overlayOf(key: string): KeyOverlay {
    let overlay = this.overlay.get(key);
    if (!overlay) {
      overlay = {};
      this.overlay.set(key, overlay);
    }
    return overlay;
  }

  private setPhase(key: string, phase: LivePhase): void {
    const tracked = this.tracked.get(key);
    if (tracked) tracked.phase = phase;
  }

  private orphanRef(key: string): TaskRef {
    const state = this.ctx.fold.get(key);
    return { key, pair: state?.pair ?? "?", params: state?.params ?? {} };
  }

  private createdAtOf(key: string): number {
    return parseTime(lastAttempt(this.ctx.fold.get(key))?.createdAt ?? null, this.ctx.clock());
  }

  private snapshot(): RunSnapshot {
    return snapshotOf({
      job: this.ctx.plan.job,
      elapsedMs: this.ctx.clock() - this.startedAt,
      phases: [...this.tracked.values()].map((tracked) => tracked.phase),
      requests: this.ctx.api.counts(),
      polledTasks: this.polled.size,
      taskGets: this.taskGets,
      meanRenderMs: this.estimator.meanMs(),
      slots: this.slots.limit,
      stopped: this.stop !== null,
    });
  }
}

function refOf(task: TaskPlan): TaskRef {
  return { key: task.key, pair: task.pair, params: task.params };
}

function initialPhase(action: StartAction, state: KeyState | undefined): LivePhase {
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
      return lastAttempt(state)?.phase === "terminal" ? "failed" : "held";
  }
}

function parseTime(iso: string | null, fallback: number): number {
  if (!iso) return fallback;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : fallback;
}

function hasFailedCheck(task: ManifestTask | undefined): boolean {
  return task?.outputs.some((output) => output.checks?.some((check) => !check.ok)) ?? false;
}
