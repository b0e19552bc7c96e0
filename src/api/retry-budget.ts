// One retry budget for the whole client (the AWS SDK's "standard" retry quota). Every retry costs
// tokens; a request that succeeds gives a little back. When failures are widespread the bucket runs
// dry and requests stop retrying: each returns its error at once, so an outage slows the run down
// instead of multiplying the requests sent to a service that is already struggling.

export interface RetryBudgetOptions {
  /** Tokens in a full bucket (AWS: 500). */
  capacity?: number;
  /** Cost of retrying after an error answer or a refused connection (AWS: 5). */
  retryCost?: number;
  /** Cost of retrying after a timeout, which held a connection for long (AWS: 10). */
  timeoutRetryCost?: number;
  /** Refill for a request that succeeded at its first attempt (AWS: 1). */
  successIncrement?: number;
}

export type RetryKind = "error" | "timeout";

export interface RetryBudget {
  /** Takes the cost of one retry; returns the tokens taken, or null when the bucket cannot pay (do not retry). */
  acquire(kind: RetryKind): number | null;
  /**
   * A request ended with an answer the service gave on purpose (success, or a definite refusal).
   * `lastRetryCost` is what its last retry cost (refunded), or null when it needed no retry.
   */
  recordSuccess(lastRetryCost: number | null): void;
  available(): number;
}

export function createRetryBudget(options: RetryBudgetOptions = {}): RetryBudget {
  const capacity = options.capacity ?? 500;
  const retryCost = options.retryCost ?? 5;
  const timeoutRetryCost = options.timeoutRetryCost ?? 10;
  const successIncrement = options.successIncrement ?? 1;
  let tokens = capacity;
  return {
    acquire(kind) {
      const cost = kind === "timeout" ? timeoutRetryCost : retryCost;
      if (tokens < cost) return null;
      tokens -= cost;
      return cost;
    },
    recordSuccess(lastRetryCost) {
      tokens = Math.min(capacity, tokens + (lastRetryCost ?? successIncrement));
    },
    available() {
      return tokens;
    },
  };
}
