// A task slot's life: intent -> create -> created -> poll -> terminal, resubmitting a retryable
// failure within the slot while this run's rules allow it; and the resumed polls of tasks an earlier
// run created. What each outcome means is decided in transitions.ts; this module only acts on it.
import { crashPoint } from "../crash-points.js";
import { DUPLICATE_TASK_ID } from "../manifest/codes.js";
import type { TaskPlan } from "../job/types.js";
import { lastAttempt, type KeyState } from "../journal/fold.js";
import type { NotCreatedReason } from "../journal/records.js";
import { nextAttemptNumber, type StartAction } from "./decide.js";
import { queueDownload } from "./engine-downloads.js";
import { afterUnfinishedPoll, pollUntilTerminal } from "./engine-polls.js";
import { parseTime, refOf, type EngineState } from "./engine-state.js";
import type { TerminalTaskState } from "./poller.js";
import {
  moderationStopMessage,
  notCreatedOf,
  resubmitsAmbiguous,
  retriedInRun,
  terminalOutcome,
} from "./transitions.js";

const BUDGET_STOP_MESSAGE =
  "stopped submitting: the budget does not cover the next task (raise it with --max-credits/--max-usd or the job's budget, then rerun)";

/**
 * One task slot: create, poll to a terminal state, and resubmit within the slot while allowed.
 * `release` gives the slot back early (once the task is terminal at the service and is not resubmitted).
 */
export async function submitTask(
  state: EngineState,
  task: TaskPlan,
  release: () => void,
  attemptsSoFar = 0,
): Promise<void> {
  const { ctx, options } = state;
  let attemptsThisRun = attemptsSoFar;
  for (;;) {
    if (state.submissionStopped()) {
      // A resubmission that the stop prevented leaves the task as its last attempt ended.
      state.setPhase(task.key, attemptsThisRun > 0 ? "failed" : "not-submitted");
      return;
    }
    if (state.budget && !state.budget.reserve(task.key)) {
      state.stopSubmission("budget", BUDGET_STOP_MESSAGE);
      state.setPhase(task.key, attemptsThisRun > 0 ? "failed" : "not-submitted");
      return;
    }
    const attempt = nextAttemptNumber(ctx.fold.get(task.key));
    attemptsThisRun++;
    state.setPhase(task.key, "submitting");
    await state.append({
      t: "intent",
      key: task.key,
      attempt,
      pair: task.pair,
      params: task.params,
      request: task.request,
      output: task.output,
    });
    crashPoint("after-intent");
    state.touched.add(task.key);
    // The create is tied to no Ctrl-C: its answer must be recorded. Aborting it on the second one
    // would leave a task that may exist and be paid, with no id to cancel it by; answered, it is
    // cancelled with the others in flight (the sweep after the work ends).
    const outcome = await ctx.api.createTask(task.request);
    switch (outcome.kind) {
      case "created": {
        crashPoint("after-create-response");
        const owner = state.otherOwnerOf(outcome.taskId, task.key);
        if (owner !== undefined) return refuseDuplicateId(state, task, attempt, outcome.taskId, owner);
        await state.append({ t: "created", key: task.key, attempt, taskId: outcome.taskId });
        crashPoint("after-created-record");
        const createdAtMs = ctx.clock();
        state.setPhase(task.key, "pending");
        ctx.emit({ kind: "task-submitted", task: refOf(task), attempt, taskId: outcome.taskId });
        const result = await pollUntilTerminal(state, task.key, outcome.taskId, createdAtMs, false);
        if (result.kind !== "terminal") return afterUnfinishedPoll(state, task.key, outcome.taskId, result);
        state.estimator.record(result.atMs - result.startedAtMs);
        const terminal = { attempt, taskId: outcome.taskId, state: result.state, createdAtMs };
        if (!(await recordTerminal(state, task, terminal, attemptsThisRun, release))) return;
        continue;
      }
      case "rejected":
      case "unavailable":
      case "account-stop": {
        const refused = notCreatedOf(outcome);
        await recordNotCreated(state, task, attempt, refused.reason, refused.code, refused.message);
        state.setPhase(task.key, refused.phase);
        const stop = refused.accountStop;
        if (stop) state.accountStop(stop.reason, stop.status, false, stop.message);
        return;
      }
      case "ambiguous": {
        await state.append({ t: "ambiguous", key: task.key, attempt, message: outcome.message });
        const again = resubmitsAmbiguous(
          options.resubmitAmbiguous,
          attemptsThisRun,
          options.maxAttempts,
          state.submissionStopped(),
        );
        ctx.emit({
          kind: "task-ambiguous",
          task: refOf(task),
          attempt,
          message: outcome.message,
          resubmitting: again,
        });
        if (!again) {
          state.setPhase(task.key, "held");
          return;
        }
        continue;
      }
    }
  }
}

/** A task of this plan submitted by an earlier run and not finished: poll it (never resubmit it blindly). */
export async function resumePoll(
  state: EngineState,
  task: TaskPlan,
  action: Extract<StartAction, { kind: "poll" }>,
  release: () => void,
): Promise<void> {
  const createdAtMs = parseTime(action.createdAt, state.ctx.clock());
  const result = await pollUntilTerminal(state, task.key, action.taskId, createdAtMs, true);
  if (result.kind !== "terminal") return afterUnfinishedPoll(state, task.key, action.taskId, result);
  const terminal = { attempt: action.attempt, taskId: action.taskId, state: result.state, createdAtMs };
  // A retryable failure of a resumed task is resubmitted like any other; the resumed attempt counts
  // towards this run's attempts, as if the interrupted run had never stopped.
  if (await recordTerminal(state, task, terminal, 1, release)) await submitTask(state, task, release, 1);
}

/** A task no longer in the job file but paid and in flight: polled to a terminal state, not downloaded. */
export async function resumeOrphan(state: EngineState, key: KeyState, release: () => void): Promise<void> {
  const attempt = lastAttempt(key);
  if (!attempt?.taskId) return;
  const createdAtMs = parseTime(attempt.createdAt, state.ctx.clock());
  const result = await pollUntilTerminal(state, key.key, attempt.taskId, createdAtMs, true);
  if (result.kind !== "terminal") return afterUnfinishedPoll(state, key.key, attempt.taskId, result);
  // Terminal at the service: it no longer counts against the account's concurrency.
  release();
  const { status, error, outputs } = terminalOutcome(result.state);
  await state.append({
    t: "terminal",
    key: key.key,
    attempt: attempt.attempt,
    taskId: attempt.taskId,
    status,
    error,
    outputs,
  });
}

interface Terminal {
  attempt: number;
  taskId: string;
  state: TerminalTaskState;
  createdAtMs: number;
}

/**
 * Records a terminal state and applies the run's stop rules; answers whether the task is to be
 * submitted again within this slot. `release` is called once the slot may serve the next task.
 */
async function recordTerminal(
  state: EngineState,
  task: TaskPlan,
  terminal: Terminal,
  attemptsThisRun: number,
  release: () => void,
): Promise<boolean> {
  const { ctx, options } = state;
  const { attempt, taskId } = terminal;
  state.finished++;
  const outcome = terminalOutcome(terminal.state);
  const { status, error } = outcome;
  // Terminal at the service, the task no longer counts against the account: the next create need not
  // wait for this record's fsync (a download still does). A failure keeps its slot until the stop
  // rules below are applied, so that no create slips in past a moderation stop.
  if (status !== "FAILED") release();
  await state.append({
    t: "terminal",
    key: task.key,
    attempt,
    taskId,
    status,
    error,
    outputs: outcome.outputs,
  });
  if (outcome.failure === "moderation") state.moderationFailures++;
  const retrying = retriedInRun(outcome, attemptsThisRun, options.maxAttempts, state.submissionStopped());
  ctx.emit({ kind: "task-finished", task: refOf(task), taskId, attempt, status, error, retrying });
  if (outcome.failure === "moderation" && state.moderationFailures >= options.maxModerationFailures)
    state.stopSubmission(
      "moderation",
      moderationStopMessage(state.moderationFailures, options.maxModerationFailures),
    );
  if (status === "SUCCEEDED" && terminal.state.status === "succeeded") {
    const urls = terminal.state.outputs;
    const indexes = urls.map((_, index) => index);
    const createdAtMs = terminal.createdAtMs;
    queueDownload(state, { task, attempt, taskId, outputCount: outcome.outputs, urls, indexes, createdAtMs });
    return false;
  }
  if (!retrying) state.setPhase(task.key, "failed");
  return retrying;
}

/**
 * A create answered with a task id that is already another key's task: taking it would record the
 * other key's render as this one's. Not taken: the task fails, and the create counts as possibly paid.
 */
async function refuseDuplicateId(
  state: EngineState,
  task: TaskPlan,
  attempt: number,
  taskId: string,
  owner: string,
): Promise<void> {
  const other = state.refOf(owner);
  const message = `the service answered with task id ${taskId}, which is already the task of ${other.pair} [${owner}]: not taken for this task; the create may have been charged`;
  await state.append({ t: "ambiguous", key: task.key, attempt, message, code: DUPLICATE_TASK_ID });
  const error = { code: DUPLICATE_TASK_ID, message, retryable: false };
  state.ctx.emit({
    kind: "task-finished",
    task: refOf(task),
    taskId,
    attempt,
    status: "FAILED",
    error,
    retrying: false,
  });
  state.setPhase(task.key, "failed");
}

/** A create the service provably did not act on: its budget reservation is given back, and it is journalled. */
async function recordNotCreated(
  state: EngineState,
  task: TaskPlan,
  attempt: number,
  reason: NotCreatedReason,
  code: string,
  message: string,
): Promise<void> {
  state.budget?.release(task.key);
  await state.append({ t: "not-created", key: task.key, attempt, reason, code, message });
  state.ctx.emit({ kind: "task-not-created", task: refOf(task), attempt, outcome: reason, message });
}
