// The run engine: executes a plan against the API, from the state the journal left.
//
// Per key, decided once at the start (decide.ts): skip, download again, poll, submit, or hold. Then:
//   task slots (at most `concurrency`): intent -> create -> created -> poll -> terminal, resubmitting a
//     retryable failure within the slot; the slot is freed at the terminal state (engine-submit.ts)
//   download slots (fewer): outputs streamed to a temporary file, verified, renamed into place, recorded
//     (engine-downloads.ts)
// Every transition is on disk (journal, fsync'd) before the engine acts on it, so a kill at any moment
// leaves a state the next run resumes from without paying twice. This module is the start sequence
// and the end of a run; what the run knows meanwhile is EngineState.
import { isDiskFull } from "../fs/errno.js";
import type { ManifestTask } from "../manifest/types.js";
import type { TaskPlan } from "../job/types.js";
import { decideStart, type StartAction } from "./decide.js";
import { isInFlight, lastAttempt, type KeyState } from "../journal/fold.js";
import { InFlightCanceller } from "./cancel.js";
import { fetchAgain, queueDownload } from "./engine-downloads.js";
import { EngineState } from "./engine-state.js";
import type { ManifestRecords } from "./manifest-tasks.js";
import { resumeOrphan, resumePoll, submitTask } from "./engine-submit.js";
import type { ExecuteContext, ExecuteOptions, ExecuteResult } from "./engine-contract.js";

export type {
  ExecuteContext,
  ExecuteOptions,
  ExecuteResult,
  SubmitBudget,
  SubmitGate,
} from "./engine-contract.js";

/** How often the live view gets a snapshot of the run. */
const SNAPSHOT_INTERVAL_MS = 500;

const INTERRUPT_MESSAGE = "interrupted: nothing more is submitted; tasks in flight stay resumable";

export async function executePlan(ctx: ExecuteContext, options: ExecuteOptions): Promise<ExecuteResult> {
  const state = new EngineState(ctx, options);
  await state.verifyExistingOutputs();

  const runTasks = ctx.plan.tasks.filter((task) => options.inShard(task.key));
  const actions = new Map<string, StartAction>();
  for (const task of runTasks) {
    const action = decideStart(ctx.fold.get(task.key), task.output, state.verifiedOf(task.key), options);
    actions.set(task.key, action);
    state.track(task, action);
  }
  // Outputs lost from disk are fetched again from their tasks (free) before anything is paid; a task
  // the provider no longer has is rendered again, and goes through the gate like any other create.
  const freshUrls = await fetchAgain(state, runTasks, actions);
  // Preflight and cost gate: only the tasks that will be submitted are probed and priced, so a
  // rerun of a finished job stays offline. A refusal throws before anything is spent.
  if (ctx.beforeSubmit) {
    const gate = await ctx.beforeSubmit(runTasks.filter((task) => actions.get(task.key)?.kind === "submit"));
    state.budget = gate.budget;
    if (gate.concurrency !== undefined) state.slots.limit = gate.concurrency;
  }
  const orphanPolls = [...ctx.fold.values()].filter(
    (key) => !state.planByKey.has(key.key) && isInFlight(lastAttempt(key)),
  );
  emitStart(state, runTasks, actions, orphanPolls);

  const onStop = (): void => state.stopSubmission("interrupt", INTERRUPT_MESSAGE);
  // Cancelling (a second Ctrl-C) implies stopping, even if a caller aborts only the cancel signal.
  for (const signal of [ctx.stopSignal, ctx.cancelSignal]) {
    if (signal.aborted) onStop();
    else signal.addEventListener("abort", onStop, { once: true });
  }
  // A second Ctrl-C cancels the tasks in flight when it comes, wherever the run is: not only if it
  // came before the work ended (the shutdown after the first one is quick, but not instant).
  const canceller = new InFlightCanceller({
    api: ctx.api,
    fold: ctx.fold,
    append: (record) => state.append(record),
    onAppendError: (error) => state.onWorkError(error),
    refOf: (key) => state.refOf(key),
    onCancelled: (key) => state.setPhase(key, "not-submitted"),
    emit: ctx.emit,
  });
  const cancelKeys = new Set([...runTasks.map((t) => t.key), ...orphanPolls.map((s) => s.key)]);
  const cancels: Promise<void>[] = [];
  const onCancel = (): void => void cancels.push(canceller.cancel(cancelKeys));
  if (ctx.cancelSignal.aborted) onCancel();
  else ctx.cancelSignal.addEventListener("abort", onCancel, { once: true });
  const snapshotTimer = state.timers.setInterval(
    () => ctx.emit({ kind: "snapshot", snapshot: state.snapshot() }),
    SNAPSHOT_INTERVAL_MS,
  );

  try {
    await Promise.all(startWork(state, runTasks, actions, orphanPolls, freshUrls));
    await Promise.all(state.downloads);
    // Again once the work has ended: a create answered after the cancel began is in flight too.
    if (ctx.cancelSignal.aborted) await Promise.all([...cancels, canceller.cancel(cancelKeys)]);
  } finally {
    state.timers.clearInterval(snapshotTimer);
    ctx.stopSignal.removeEventListener("abort", onStop);
    ctx.cancelSignal.removeEventListener("abort", onStop);
    await state.checkpoints.close();
    await ctx.journal.settle().catch(() => undefined);
  }

  // The final manifest is derived afresh for every key (the writer copies the bytes of keys unchanged
  // since the last checkpoint from the file it wrote).
  let records = state.manifestTasks();
  await writeFinalManifest(state, records);
  ctx.emit({ kind: "snapshot", snapshot: state.snapshot() });
  ctx.cancelSignal.removeEventListener("abort", onCancel);
  if (cancels.length > 0) {
    // Cancels begun while the manifest was being written (or still under way): record them in it too.
    await Promise.all(cancels);
    await ctx.journal.settle().catch(() => undefined);
    records = state.manifestTasks();
    await writeFinalManifest(state, records);
    ctx.emit({ kind: "snapshot", snapshot: state.snapshot() });
  }
  // A full disk is a stop of the run (said, with its exit code); any other journal failure is an error.
  if (state.journalFailure && !state.journalFailure.diskFull) throw state.journalFailure;
  return resultOf(state, runTasks, actions, records.tasks, records.orphans, canceller.handled);
}

/** The final manifest; on a full disk the last one written stays (atomic writes) and the run says so. */
async function writeFinalManifest(state: EngineState, records: ManifestRecords): Promise<void> {
  try {
    await state.ctx.writeManifest(records, true);
  } catch (error) {
    records.failed();
    if (!isDiskFull(error)) throw error;
    state.diskFull(error);
  }
}

/** Fills the slots: tasks already paid for and in flight first (they hold account capacity), then downloads, then creates. */
function startWork(
  state: EngineState,
  runTasks: readonly TaskPlan[],
  actions: ReadonlyMap<string, StartAction>,
  orphanPolls: readonly KeyState[],
  freshUrls: ReadonlyMap<string, readonly string[]>,
): Promise<void>[] {
  const work: Promise<void>[] = [];
  for (const orphan of orphanPolls)
    work.push(state.inSlot((release) => resumeOrphan(state, orphan, release)));
  for (const task of runTasks) {
    const action = actions.get(task.key);
    if (action?.kind === "poll")
      work.push(state.inSlot((release) => resumePoll(state, task, action, release)));
  }
  for (const task of runTasks) {
    const action = actions.get(task.key);
    if (action?.kind !== "download") continue;
    queueDownload(state, {
      task,
      attempt: action.attempt,
      taskId: action.taskId,
      outputCount: action.outputs,
      urls: freshUrls.get(task.key) ?? null,
      indexes: action.missing,
      createdAtMs: state.createdAtOf(task.key),
    });
  }
  for (const task of runTasks) {
    if (actions.get(task.key)?.kind === "submit")
      work.push(state.inSlot((release) => submitTask(state, task, release)));
  }
  return work;
}

function emitStart(
  state: EngineState,
  runTasks: readonly TaskPlan[],
  actions: ReadonlyMap<string, StartAction>,
  orphanPolls: readonly KeyState[],
): void {
  const { ctx } = state;
  const count = (kind: StartAction["kind"]): number =>
    [...actions.values()].filter((a) => a.kind === kind).length;
  ctx.emit({
    kind: "run-started",
    job: ctx.plan.job,
    outputDir: ctx.outputDir,
    total: ctx.plan.tasks.length,
    inShard: runTasks.length,
    concurrency: state.slots.limit,
    toSubmit: count("submit"),
    toPoll: count("poll") + orphanPolls.length,
    toDownload: count("download"),
    skipped: count("skip"),
    held: count("hold"),
    orphans: [...ctx.fold.keys()].filter((key) => !state.planByKey.has(key)).length,
    ambiguousResubmits: [...actions.values()].filter((a) => a.kind === "submit" && a.reason === "ambiguous")
      .length,
  });
}

function resultOf(
  state: EngineState,
  runTasks: readonly TaskPlan[],
  actions: ReadonlyMap<string, StartAction>,
  tasks: ManifestTask[],
  orphans: ManifestTask[],
  cancelHandled: boolean,
): ExecuteResult {
  const runKeys = runTasks.map((task) => task.key);
  const byKey = new Map(tasks.map((task) => [task.key, task]));
  const started = [...actions.values()];
  return {
    tasks,
    orphans,
    stop: state.stop,
    allSucceeded: runKeys.every((key) => byKey.get(key)?.status === "SUCCEEDED"),
    // A render whose file failed a check stays SUCCEEDED (it exists and was paid) but is not a pass.
    allChecked: runKeys.every((key) => !hasFailedCheck(byKey.get(key))),
    runKeys,
    alreadyDone: started.filter((a) => a.kind === "skip").length,
    fetchedAgain: started.filter((a) => a.kind === "download").length,
    renderedAgain: [...actions]
      .filter(([, a]) => a.kind === "submit" && a.reason === "output-lost")
      .map(([key]) => key),
    touchedTasks: state.touched.size,
    polledTasks: state.polled.size,
    taskGets: state.taskGets,
    finishedTasks: state.finished,
    meanRenderMs: state.estimator.meanMs(),
    appended: state.ctx.journal.count,
    cancelHandled,
  };
}

function hasFailedCheck(task: ManifestTask | undefined): boolean {
  return task?.outputs.some((output) => output.checks?.some((check) => !check.ok)) ?? false;
}
