// The engine's reads of a task: polling it to a terminal state (with what each live state changes in
// the run's picture) and reading a succeeded task again for fresh output URLs.
import type { TaskState } from "../api/types.js";
import type { EngineState } from "./engine-state.js";
import { fetchOutputUrls, type OutputUrls } from "./fetch-outputs.js";
import { pollTask, type PollResult } from "./poller.js";

export function pollUntilTerminal(
  state: EngineState,
  key: string,
  taskId: string,
  createdAtMs: number,
  immediate: boolean,
): Promise<PollResult> {
  const { ctx } = state;
  state.polled.add(key);
  state.touched.add(key);
  return pollTask({
    api: ctx.api,
    taskId,
    createdAtMs,
    bucket: state.bucket,
    timing: ctx.timing,
    clock: ctx.clock,
    sleep: ctx.sleep,
    signal: state.halt.signal,
    expectedRenderMs: () => state.estimator.expectedMs(),
    immediate,
    onGet: () => state.taskGets++,
    onState: (live) => onLiveState(state, key, taskId, live),
    onProblem: (message) =>
      state.ctx.emit({
        kind: "task-unanswered",
        task: state.refOf(key),
        taskId,
        message,
        leftInFlight: false,
      }),
  });
}

/** A poll that ended without a terminal state: the task stays in flight (its id is on disk), the next run polls it. */
export function afterUnfinishedPoll(
  state: EngineState,
  key: string,
  taskId: string,
  result: Exclude<PollResult, { kind: "terminal" }>,
): void {
  if (result.kind === "account-stop") state.accountStop(result.reason, result.status, true, result.message);
  if (result.kind === "unreachable") {
    // Kept for the manifest and the summary: the task stays PENDING, and they say why it was left.
    state.overlayOf(key).pollProblem = result.message;
    state.changed(key);
    state.ctx.emit({
      kind: "task-unanswered",
      task: state.refOf(key),
      taskId,
      message: result.message,
      leftInFlight: true,
    });
  }
  if (state.phaseOf(key) === "submitting") state.setPhase(key, "pending");
}

/** GETs a succeeded task for its (fresh, signed) output URLs, or says why there are none. */
export function readOutputUrls(state: EngineState, taskId: string, createdAtMs: number): Promise<OutputUrls> {
  return fetchOutputUrls(taskId, createdAtMs, {
    api: state.ctx.api,
    bucket: state.bucket,
    signal: state.halt.signal,
    sleep: state.ctx.sleep,
    retryDelayMs: state.ctx.timing.pollErrorDelayMs,
    onGet: () => state.taskGets++,
    onAccountStop: (reason, status, message) => state.accountStop(reason, status, true, message),
  });
}

function onLiveState(state: EngineState, key: string, taskId: string, live: TaskState): void {
  const status =
    live.status === "throttled" ? "THROTTLED" : live.status === "running" ? "RUNNING" : "PENDING";
  const overlay = state.overlayOf(key);
  const changed = overlay.live !== status || overlay.pollProblem !== undefined;
  overlay.live = status;
  delete overlay.pollProblem;
  state.setPhase(key, status === "RUNNING" ? "running" : "pending");
  if (!changed) return;
  state.changed(key);
  const progress = live.status === "running" ? live.progress : null;
  state.ctx.emit({ kind: "task-state", task: state.refOf(key), taskId, status, progress });
  state.checkpoints.request();
}
