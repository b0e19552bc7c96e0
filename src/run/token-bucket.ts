// A token bucket shared by every poll of a run: however many tasks are in flight, task GETs never
// exceed `ratePerSecond` (after an initial burst). Callers reserve a token and sleep until it is due,
// so waiting callers are served in the order they asked.

export interface BucketState {
  /** May go negative: tokens already promised to callers that are still waiting. */
  tokens: number;
  atMs: number;
}

/** Pure: reserves one token at `now`; returns the new state and how long the caller must wait. */
export function reserveToken(
  state: BucketState,
  now: number,
  ratePerSecond: number,
  burst: number,
): { state: BucketState; waitMs: number } {
  const elapsed = Math.max(0, now - state.atMs);
  const tokens = Math.min(burst, state.tokens + (elapsed * ratePerSecond) / 1000);
  const waitMs = tokens >= 1 ? 0 : ((1 - tokens) * 1000) / ratePerSecond;
  return { state: { tokens: tokens - 1, atMs: now }, waitMs };
}

export class TokenBucket {
  private state: BucketState;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly clock: () => number,
    private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>,
  ) {
    this.state = { tokens: burst, atMs: clock() };
  }

  async take(signal?: AbortSignal): Promise<void> {
    const { state, waitMs } = reserveToken(this.state, this.clock(), this.ratePerSecond, this.burst);
    this.state = state;
    if (waitMs > 0) await this.sleep(waitMs, signal);
  }
}
