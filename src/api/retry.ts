// The one retry loop every request of the client goes through: an attempt is classified (classify.ts);
// what is retryable is tried again after the server's Retry-After or a full-jitter backoff delay, under
// one retry budget for the whole client, at most `maxAttempts` times. No I/O of its own: the attempt,
// the sleeper and the randomness are handed in, so a test can record every delay as plain numbers.
import { backoffDelay, serverDelay, type BackoffPolicy } from "./backoff.js";
import type { Verdict } from "./classify.js";
import type { RetryBudget } from "./retry-budget.js";

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export interface RetryPolicy {
  /** Attempts per request, the first one included (at least 1). */
  maxAttempts: number;
  /** The full-jitter backoff used when the server said nothing about when to come back. */
  backoff: BackoffPolicy;
  /** A server's Retry-After is honoured up to this long, so that no server can park a run for hours. */
  maxRetryAfterMs: number;
  /**
   * No retry is sent sooner than this after the attempt before it, whatever the server said (a
   * Retry-After of 0 or in the past) or the backoff drew.
   */
  minDelayMs: number;
  /** Shared by every request of the client (and possibly by several clients). */
  budget: RetryBudget;
  sleep: Sleep;
  random: () => number;
  /** Called once per retry actually made (after its delay), for the request counts. */
  onRetry?: () => void;
}

export type RetryVerdict = Extract<Verdict, { kind: "retry" }>;

/** One attempt: the verdict on what came back (with what it read, if anything), or an abort by the caller. */
export type Attempt<R> =
  | { kind: "verdict"; verdict: Verdict; result: R | null }
  /** `sent`: whether the request had been handed whole to the socket when the abort came. */
  | { kind: "aborted"; sent: boolean };

/** How a request ended, after every retry it was allowed. */
export type Settled<R> =
  /** A verdict that is not "retry": the service's word (or an ambiguous create), with its answer. */
  | { kind: "done"; verdict: Exclude<Verdict, RetryVerdict>; result: R | null }
  /** Still retryable, but no retry is left: attempts used up, or the budget spent. `result`: the last answer. */
  | { kind: "gave-up"; last: RetryVerdict; result: R | null; reason: string }
  | { kind: "aborted"; sent: boolean };

/** The delay before retry number `retry` (0 for the first): the server's Retry-After, else the backoff; never below the floor. */
export function retryDelay(policy: RetryPolicy, verdict: RetryVerdict, retry: number): number {
  return verdict.retryAfterMs !== null
    ? serverDelay(verdict.retryAfterMs, policy.maxRetryAfterMs, policy.random, policy.minDelayMs)
    : backoffDelay({ ...policy.backoff, floorMs: policy.minDelayMs }, retry, policy.random);
}

/**
 * Runs `attempt` until it gives a verdict that is not "retry", or no retry is left. An ambiguous create
 * is a verdict of its own ("done"), never retried here: whether to send it again is the engine's call.
 */
export async function retrying<R>(
  policy: RetryPolicy,
  signal: AbortSignal | undefined,
  attempt: () => Promise<Attempt<R>>,
): Promise<Settled<R>> {
  const maxAttempts = Math.max(1, policy.maxAttempts);
  let lastRetryCost: number | null = null;
  for (let made = 1; ; made++) {
    const outcome = await attempt();
    if (outcome.kind === "aborted") return outcome;
    const { verdict, result } = outcome;
    if (verdict.kind !== "retry") {
      // The service answered on purpose: it is healthy enough to refill the budget a little.
      if (verdict.kind !== "ambiguous") policy.budget.recordSuccess(lastRetryCost);
      return { kind: "done", verdict, result };
    }
    if (made >= maxAttempts) {
      return { kind: "gave-up", last: verdict, result, reason: `gave up after ${made} attempts` };
    }
    const cost = policy.budget.acquire(verdict.timeout ? "timeout" : "error");
    if (cost === null) {
      return {
        kind: "gave-up",
        last: verdict,
        result,
        reason: "not retried: the retry budget is spent (too many errors)",
      };
    }
    lastRetryCost = cost;
    try {
      await policy.sleep(retryDelay(policy, verdict, made - 1), signal);
    } catch {
      return { kind: "aborted", sent: false };
    }
    if (signal?.aborted) return { kind: "aborted", sent: false };
    policy.onRetry?.();
  }
}
