// What happens next, as pure functions of what the service answered: the journal record a terminal
// state becomes (for tasks of the plan and orphans alike), whether a failure is tried again, what an
// account stop is called and says, and the exit code of the facts a run ends with. Tested as data.
import type { AccountStopReason, CreateOutcome } from "../api/types.js";
import { ExitCode } from "../errors.js";
import type { NotCreatedReason, TaskError, TerminalStatus } from "../journal/records.js";
import { TOO_MANY_OUTPUTS } from "../manifest/codes.js";
import { attemptsAllowed, classifyFailure, isRetriedByRerun, type FailureClass } from "./failure-codes.js";
import type { TerminalTaskState } from "./poller.js";
import type { StopReason } from "./events.js";

/** What a create's answer leaves when no task id came back: journalled, and what the task is now. */
export interface NotCreated {
  reason: NotCreatedReason;
  code: string;
  message: string;
  /** A refused body is a failure; a create the service could not take now is left to a rerun. */
  phase: "failed" | "not-submitted";
  /** The account stops every further create. */
  accountStop: { reason: AccountStopReason; status: number; message: string } | null;
}

/** A create the service provably did not act on (`created` and `ambiguous` may have a task: not these). */
export function notCreatedOf(
  outcome: Extract<CreateOutcome, { kind: "rejected" | "unavailable" | "account-stop" }>,
): NotCreated {
  switch (outcome.kind) {
    case "rejected":
      return {
        reason: "rejected",
        code: outcome.code ?? `HTTP_${outcome.status}`,
        message: outcome.message,
        phase: "failed",
        accountStop: null,
      };
    case "unavailable":
      return {
        reason: "unavailable",
        code: "UNAVAILABLE",
        message: outcome.message,
        phase: "not-submitted",
        accountStop: null,
      };
    case "account-stop":
      return {
        reason: "account-stop",
        code: ACCOUNT_STOP_CODES[outcome.reason],
        message: outcome.message,
        phase: "not-submitted",
        accountStop: { reason: outcome.reason, status: outcome.status, message: outcome.message },
      };
  }
}

/** Whether a create whose outcome is unknown is sent again within this run (possibly paying twice). */
export function resubmitsAmbiguous(
  resubmitAmbiguous: boolean,
  attemptsThisRun: number,
  maxAttempts: number,
  submissionStopped: boolean,
): boolean {
  return resubmitAmbiguous && attemptsThisRun < maxAttempts && !submissionStopped;
}

/** What the journal records of a task the service says is over. */
export interface TerminalOutcome {
  status: TerminalStatus;
  error: TaskError | null;
  /** Output URLs the service returned (SUCCEEDED only). */
  outputs: number;
  /** How a failure is treated (FAILED only). */
  failure: FailureClass | null;
}

/** Act-Two renders one output per task: an answer with more than this many is not downloaded. */
export const MAX_OUTPUTS_PER_TASK = 4;

export function terminalOutcome(state: TerminalTaskState): TerminalOutcome {
  if (
    state.status === "succeeded" &&
    state.outputs.length > 0 &&
    state.outputs.length <= MAX_OUTPUTS_PER_TASK
  )
    return { status: "SUCCEEDED", error: null, outputs: state.outputs.length, failure: null };
  if (state.status === "cancelled") return { status: "CANCELLED", error: null, outputs: 0, failure: null };
  const { code, message } = failureOf(state);
  const failure = classifyFailure(code);
  return {
    status: "FAILED",
    error: { code, message, retryable: isRetriedByRerun(failure) },
    outputs: 0,
    failure,
  };
}

/** Whether a failed task is submitted again within this run (each attempt is paid). */
export function retriedInRun(
  outcome: TerminalOutcome,
  attemptsThisRun: number,
  maxAttempts: number,
  submissionStopped: boolean,
): boolean {
  return (
    outcome.failure !== null &&
    attemptsThisRun < attemptsAllowed(outcome.failure, maxAttempts) &&
    !submissionStopped
  );
}

/** A FAILED task's code and text; actbatch's own codes where the service gave none. */
function failureOf(state: TerminalTaskState): { code: string; message: string } {
  switch (state.status) {
    case "failed":
      return { code: state.code ?? "NO_FAILURE_CODE", message: state.message };
    case "missing":
      return { code: "TASK_MISSING", message: state.message };
    case "succeeded":
      if (state.outputs.length > MAX_OUTPUTS_PER_TASK)
        return {
          code: TOO_MANY_OUTPUTS,
          message: `the task answered SUCCEEDED with ${state.outputs.length.toLocaleString("en-US")} output URLs (an Act-Two task has 1; more than ${MAX_OUTPUTS_PER_TASK} is refused): nothing was downloaded`,
        };
      return { code: "NO_OUTPUT", message: "the task succeeded without an output URL" };
    case "cancelled":
      return { code: "CANCELLED", message: "the task was cancelled" };
  }
}

/** The code a create refused by an account condition is recorded with. */
export const ACCOUNT_STOP_CODES: Record<AccountStopReason, string> = {
  "bad-key": "UNAUTHORIZED",
  "no-credits": "NO_CREDITS",
  "daily-limit": "DAILY_LIMIT",
  unreachable: "SERVICE_UNREACHABLE",
};

/** `detail`: what the service (or the network) said, already redacted; only an unreachable host needs it. */
export function accountStopMessage(
  reason: AccountStopReason,
  status: number,
  keyVariable: string,
  detail: string,
): string {
  switch (reason) {
    case "bad-key":
      return `stopped: the API refused the key (HTTP ${status}); check ${keyVariable}, then rerun (tasks in flight are kept)`;
    case "no-credits":
      return `stopped submitting: the account has no credits left (HTTP ${status}); add credits, then rerun to submit the rest`;
    case "daily-limit":
      return `stopped submitting: the account's daily task limit is reached (HTTP ${status}); rerun later to submit the rest`;
    case "unreachable":
      return `stopped: ${detail}; nothing more is sent and tasks in flight stay resumable: check the network and the base URL, then rerun`;
  }
}

/** The stop of a run whose output folder ran out of space: where, why, and how much the rest needs. */
export function diskFullMessage(
  outputDir: string,
  error: unknown,
  needed: { count: number; meanBytes: number | null },
): string {
  const code =
    /\b(ENOSPC|EDQUOT)\b/.exec(error instanceof Error ? error.message : String(error))?.[1] ?? "ENOSPC";
  const why = code === "EDQUOT" ? "the disk quota is used up" : "the disk is full";
  const outputs = `${needed.count} output${needed.count === 1 ? "" : "s"}`;
  const space =
    needed.count === 0
      ? "the remaining writes need little space"
      : needed.meanBytes === null
        ? `the remaining ${outputs} need room for their renders (an Act-Two render is tens of MB)`
        : `the remaining ${outputs} need about ${formatMegabytes(needed.count * needed.meanBytes)}`;
  return `stopped: ${why} where the output folder is (${outputDir}, ${code}); nothing more is submitted or downloaded, and the journal and the last manifest are kept. ${space[0]?.toUpperCase()}${space.slice(1)}: free it, then rerun (paid renders are fetched again from their tasks, not paid again)`;
}

function formatMegabytes(bytes: number): string {
  const mb = bytes / (1024 * 1024);
  return mb >= 1024 ? `${(mb / 1024).toFixed(1)} GB` : `${Math.max(1, Math.ceil(mb))} MB`;
}

export function moderationStopMessage(failures: number, limit: number): string {
  return (
    `stopped submitting: ${failures} tasks failed moderation in this run ` +
    `(limit --max-moderation-failures ${limit}); repeated moderation failures ` +
    `are paid and can get an account suspended. Review the inputs, then rerun.`
  );
}

/** The facts a run ends with, and the signal that stopped it if one did. */
export interface EndFacts {
  stop: StopReason | null;
  /** Every task of this run (its shard) SUCCEEDED. */
  allSucceeded: boolean;
  /** No output of this run's tasks failed its checks. */
  allChecked: boolean;
  interrupted: "SIGINT" | "SIGTERM" | null;
}

/** README's exit codes: 143/130 interrupted, 3 stopped by the account, budget or moderation, 1 unfinished, 0 done. */
export function exitCodeOf(facts: EndFacts): ExitCode {
  if (facts.interrupted === "SIGTERM") return ExitCode.terminated;
  if (facts.interrupted === "SIGINT") return ExitCode.interrupted;
  if (facts.stop === "account" || facts.stop === "moderation" || facts.stop === "budget")
    return ExitCode.accountStop;
  if (facts.stop === "disk-full") return ExitCode.diskFull;
  return facts.allSucceeded && facts.allChecked ? ExitCode.ok : ExitCode.taskFailed;
}
