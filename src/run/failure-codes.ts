// What a FAILED task's failure code means for resubmission (DESIGN.md section 1). Every attempt is
// paid, so anything not known to be transient is treated as final.

export type FailureClass =
  /** Moderation (SAFETY.*, INPUT_PREPROCESSING.SAFETY.*): final, and counts towards the run's moderation stop. */
  | "moderation"
  /** Fix the input (ASSET.*), or a code we do not know: final. */
  | "final"
  /** INTERNAL.BAD_OUTPUT.*: "may retry, not likely to succeed": one retry within a run, final for reruns. */
  | "bad-output"
  /** INTERNAL, THIRD_PARTY.UNAVAILABLE, INPUT_PREPROCESSING.INTERNAL, no code at all (gateway timeouts), or a task that vanished. */
  | "retryable";

// NO_FAILURE_CODE, TASK_MISSING and NO_OUTPUT are actbatch's own: FAILED without a code, a task that vanished, a
// SUCCEEDED task without an output URL.
const RETRYABLE_CODES = new Set([
  "INTERNAL",
  "THIRD_PARTY.UNAVAILABLE",
  "INPUT_PREPROCESSING.INTERNAL",
  "NO_FAILURE_CODE",
  "TASK_MISSING",
  "NO_OUTPUT",
]);

export function classifyFailure(code: string | null): FailureClass {
  if (code === null || code === "") return "retryable";
  if (code.startsWith("SAFETY.") || code.startsWith("INPUT_PREPROCESSING.SAFETY")) return "moderation";
  if (code.startsWith("INTERNAL.BAD_OUTPUT")) return "bad-output";
  if (RETRYABLE_CODES.has(code)) return "retryable";
  return "final";
}

/** Create attempts allowed within one run for a failure of this class (the first attempt included). */
export function attemptsAllowed(failure: FailureClass, maxAttempts: number): number {
  switch (failure) {
    case "retryable":
      return maxAttempts;
    case "bad-output":
      return Math.min(maxAttempts, 2);
    case "moderation":
    case "final":
      return 1;
  }
}

/** Whether a rerun resubmits a task that ended with this failure (without --retry-failed). */
export function isRetriedByRerun(failure: FailureClass): boolean {
  return failure === "retryable";
}
