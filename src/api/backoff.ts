// How long to wait before each retry. Pure: the randomness is injected, so tests check plain numbers.
// Full jitter (a uniform draw between 0 and the exponential ceiling) spreads a crowd of clients that
// failed together, so they do not come back in lockstep (Brooker, "Exponential Backoff and Jitter").

export interface BackoffPolicy {
  /** Ceiling of the first delay. */
  baseMs: number;
  /** No delay is ever longer than this. */
  capMs: number;
  /**
   * No delay is ever shorter than this (default 0): a draw near 0 would send the retry at once, which
   * hammers a failing server as fast as it can answer.
   */
  floorMs?: number;
}

/**
 * The delay before retry number `retry` (0 for the first retry): uniform in [floor, ceiling), where the
 * ceiling is min(cap, base * 2^retry). The draw spans the whole range above the floor rather than
 * being raised to it, so that a crowd of clients stays spread out.
 */
export function backoffDelay(policy: BackoffPolicy, retry: number, random: () => number): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, retry));
  const floor = Math.max(0, policy.floorMs ?? 0);
  if (ceiling <= floor) return Math.floor(floor);
  return Math.floor(floor + random() * (ceiling - floor));
}

/** The delays before the first, second, ... retry, for as long as the caller keeps asking. */
export function* backoffDelays(policy: BackoffPolicy, random: () => number): Generator<number, never> {
  for (let retry = 0; ; retry++) yield backoffDelay(policy, retry, random);
}

/**
 * The wait when the server said how long to wait: its value, clamped to `maxMs` so that no server can
 * park a CI job for hours and raised to `floorMs` so that a Retry-After of 0 or in the past does not
 * make the retries a tight loop, plus a little jitter (up to a tenth of the wait) so that every request
 * the same answer released does not come back at the same instant.
 */
export function serverDelay(retryAfterMs: number, maxMs: number, random: () => number, floorMs = 0): number {
  const wait = Math.max(floorMs, Math.min(Math.max(0, retryAfterMs), maxMs));
  return Math.floor(wait + random() * wait * 0.1);
}
