import { describe, expect, it } from "vitest";
import { nextPollDelay, RenderTimeEstimator, type PollSituation } from "../../src/run/poll-policy.js";
import { REAL_TIMING, scaleTiming } from "../../src/run/timing.js";
import { reserveToken } from "../../src/run/token-bucket.js";

const base: PollSituation = {
  now: 0,
  createdAtMs: 0,
  state: null,
  firstProgress: null,
  lastProgress: null,
  expectedRenderMs: 90_000,
};
const delay = (s: Partial<PollSituation>): number => nextPollDelay({ ...base, ...s }, REAL_TIMING);

describe("poll delay policy", () => {
  it("waits long while far from the expected end and polls at the 5 s update cadence near it", () => {
    expect(delay({ now: 0 })).toBe(30_000); // half of 90 s, capped at 30 s
    expect(delay({ now: 50_000, state: "pending" })).toBe(20_000);
    expect(delay({ now: 80_000, state: "running" })).toBe(5_000);
    expect(delay({ now: 89_000, state: "running" })).toBe(5_000);
  });

  it("backs off gently on a task that runs longer than expected", () => {
    expect(delay({ now: 100_000, state: "running" })).toBe(5_000);
    expect(delay({ now: 150_000, state: "running" })).toBe(15_000);
    expect(delay({ now: 1_000_000, state: "running" })).toBe(30_000);
  });

  it("uses the progress rate when the service reports progress", () => {
    // 10% -> 40% in 30 s: 1% per second, 60% left = 60 s to go: wait half of it (capped).
    const running = {
      state: "running" as const,
      firstProgress: { atMs: 10_000, progress: 0.1 },
      lastProgress: { atMs: 40_000, progress: 0.4 },
    };
    expect(delay({ ...running, now: 40_000 })).toBe(30_000);
    // 90% after 30 s more: 10 s to go -> poll at the update cadence.
    expect(delay({ ...running, lastProgress: { atMs: 90_000, progress: 0.9 }, now: 90_000 })).toBe(5_000);
  });

  it("polls soon after task_not_exist and after an error; waits long while throttled", () => {
    expect(delay({ state: "not-visible" })).toBe(2_000);
    expect(delay({ state: "error" })).toBe(5_000);
    expect(delay({ state: "throttled", now: 100_000 })).toBe(30_000);
  });

  it("scales every duration by the time scale", () => {
    const fast = scaleTiming(20);
    expect(
      nextPollDelay({ ...base, now: 80_000 / 20, expectedRenderMs: 90_000 / 20, state: "running" }, fast),
    ).toBe(250);
    expect(fast.getRatePerSecond).toBe(200);
  });

  it("learns a low quantile of render times", () => {
    const estimator = new RenderTimeEstimator(60_000);
    expect(estimator.expectedMs()).toBe(60_000);
    for (const ms of [100_000, 80_000, 120_000, 90_000]) estimator.record(ms);
    expect(estimator.expectedMs()).toBe(90_000);
    expect(estimator.meanMs()).toBe(97_500);
  });

  it("spends far fewer GETs than a fixed 5 s poll over a 90 s render", () => {
    let now = 0;
    let gets = 0;
    let state: PollSituation["state"] = null;
    while (now < 92_000) {
      now += nextPollDelay({ ...base, now, state, expectedRenderMs: 85_000 }, REAL_TIMING);
      gets++;
      state = "running";
    }
    expect(gets).toBeLessThanOrEqual(8);
    expect(now - 92_000).toBeLessThanOrEqual(5_000); // noticed within one update interval
  });
});

describe("shared GET token bucket", () => {
  it("lets a burst through, then spaces reservations at the rate, in order", () => {
    let state = { tokens: 2, atMs: 0 };
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = reserveToken(state, 0, 10, 2);
      state = r.state;
      waits.push(r.waitMs);
    }
    expect(waits.map((w) => Math.round(w))).toEqual([0, 0, 100, 200, 300]);
    // After a quiet second the bucket is full again, but never above its burst.
    const later = reserveToken(state, 10_000, 10, 2);
    expect(later.waitMs).toBe(0);
    expect(later.state.tokens).toBe(1);
  });
});
