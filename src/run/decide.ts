// What a run does with each key, decided once at the start from the journal fold (pure: tested as data).
import { classifyFailure, isRetriedByRerun } from "./failure-codes.js";
import { lastAttempt, type KeyState } from "../journal/fold.js";
import { outputFileName } from "./output-files.js";

export interface DecideOptions {
  /** Re-render every key (a task still in flight is polled instead: that render is already new and paid). */
  force: boolean;
  /** Resubmit tasks that ended with a final failure (moderation, invalid asset, unknown code, bad output) or were cancelled. */
  retryFailed: boolean;
  /** Resubmit keys whose last create had an unknown outcome (default); false holds them. */
  resubmitAmbiguous: boolean;
}

export type SubmitReason =
  | "new"
  | "not-created"
  | "ambiguous"
  | "retryable-failure"
  | "retry-failed"
  | "cancelled"
  | "force"
  /** Succeeded once, but its output is lost and the provider no longer has the task: paid again. */
  | "output-lost";

export type StartAction =
  /** Succeeded, every output on disk and matching its recorded size and sha256: zero API calls. */
  | { kind: "skip" }
  /** Succeeded, but outputs are missing or damaged: GET the task for fresh URLs and download (no new create). */
  | { kind: "download"; attempt: number; taskId: string; outputs: number; missing: number[] }
  /** Submitted and not finished: poll it, never resubmit. */
  | { kind: "poll"; attempt: number; taskId: string; createdAt: string }
  | { kind: "submit"; attempt: number; reason: SubmitReason }
  /** Left as it is: an ambiguous create under --no-resubmit-ambiguous, or a final failure or a cancel without --retry-failed. */
  | { kind: "hold"; reason: "ambiguous" | "failed" | "cancelled" };

/**
 * The attempt number of the next create for a key. An attempt the service provably refused is
 * reused, so that attempt numbers count only creates that may have been paid.
 */
export function nextAttemptNumber(state: KeyState | undefined): number {
  const last = lastAttempt(state);
  if (!last) return 1;
  return last.phase === "not-created" ? last.attempt : last.attempt + 1;
}

/**
 * @param verified indexes of the last attempt's outputs found on disk under the expected name with the
 *   recorded size and sha256 (see verifyRecordedOutputs)
 */
export function decideStart(
  state: KeyState | undefined,
  expectedOutput: string,
  verified: ReadonlySet<number>,
  options: DecideOptions,
): StartAction {
  const last = lastAttempt(state);
  const submit = (reason: SubmitReason): StartAction => ({
    kind: "submit",
    attempt: nextAttemptNumber(state),
    reason,
  });
  // Someone cancelled it (a second Ctrl-C, `actbatch cancel`, the provider's dashboard): a decision, kept.
  const resubmitCancelled = (): StartAction =>
    options.retryFailed || options.force ? submit("cancelled") : { kind: "hold", reason: "cancelled" };
  if (!last) return submit("new");
  switch (last.phase) {
    case "not-created":
      return submit("not-created");
    case "intent":
    case "ambiguous":
      // An answer that was refused is a failure like a FAILED task: submitted again only when asked.
      if (last.refusedCode !== null)
        return options.retryFailed || options.force
          ? submit("retry-failed")
          : { kind: "hold", reason: "failed" };
      return options.resubmitAmbiguous ? submit("ambiguous") : { kind: "hold", reason: "ambiguous" };
    case "created":
      if (last.cancelled) return resubmitCancelled();
      return {
        kind: "poll",
        attempt: last.attempt,
        taskId: last.taskId ?? "",
        createdAt: last.createdAt ?? "",
      };
    case "terminal": {
      const terminal = last.terminal;
      if (options.force) return submit("force");
      if (!terminal || terminal.status === "CANCELLED") return resubmitCancelled();
      if (terminal.status === "FAILED") {
        if (isRetriedByRerun(classifyFailure(terminal.error?.code ?? null)))
          return submit("retryable-failure");
        return options.retryFailed ? submit("retry-failed") : { kind: "hold", reason: "failed" };
      }
      const missing = missingOutputs(terminal.outputs, expectedOutput, last.outputs, verified);
      if (missing.length === 0) return { kind: "skip" };
      if (last.lost !== null) return submit("output-lost");
      return {
        kind: "download",
        attempt: last.attempt,
        taskId: last.taskId ?? "",
        outputs: terminal.outputs,
        missing,
      };
    }
  }
}

/** Output indexes not present and verified under the name the plan now expects. */
export function missingOutputs(
  count: number,
  expectedOutput: string,
  recorded: readonly { index: number; file: string }[],
  verified: ReadonlySet<number>,
): number[] {
  const missing: number[] = [];
  for (let index = 0; index < count; index++) {
    const record = recorded.find((o) => o.index === index);
    if (!record || record.file !== outputFileName(expectedOutput, index) || !verified.has(index))
      missing.push(index);
  }
  return missing;
}
