import { describe, expect, it } from "vitest";
import { backoffDelay, backoffDelays, serverDelay } from "../../src/api/backoff.js";
import { parseRetryAfter } from "../../src/api/retry-after.js";
import { createRetryBudget } from "../../src/api/retry-budget.js";

const policy = { baseMs: 500, capMs: 20_000 };

describe("backoff delays (full jitter)", () => {
  it("doubles the ceiling each retry until the cap", () => {
    const delays = backoffDelays(policy, () => 0.999999);
    const first = Array.from({ length: 8 }, () => delays.next().value);
    expect(first).toEqual([499, 999, 1999, 3999, 7999, 15999, 19999, 19999]);
  });

  it("draws uniformly below the ceiling: random 0 gives 0, 0.5 gives half", () => {
    expect(backoffDelay(policy, 3, () => 0)).toBe(0);
    expect(backoffDelay(policy, 0, () => 0.5)).toBe(250);
    expect(backoffDelay(policy, 3, () => 0.5)).toBe(2000);
    expect(backoffDelay(policy, 30, () => 0.5)).toBe(10_000);
  });

  it("never exceeds the cap, whatever the retry number", () => {
    for (let retry = 0; retry < 100; retry++) {
      expect(backoffDelay(policy, retry, () => 0.9999)).toBeLessThan(20_000);
    }
  });

  it("scales with the policy (time-scaled runs)", () => {
    expect(backoffDelay({ baseMs: 5, capMs: 200 }, 2, () => 0.5)).toBe(10);
  });

  it("with a floor, draws uniformly between the floor and the ceiling, and never below the floor", () => {
    const floored = { ...policy, floorMs: 250 };
    expect(backoffDelay(floored, 0, () => 0)).toBe(250);
    expect(backoffDelay(floored, 0, () => 0.5)).toBe(375);
    expect(backoffDelay(floored, 0, () => 0.999_999)).toBe(499);
    expect(backoffDelay(floored, 30, () => 0.5)).toBe(10_125);
    // A ceiling at or below the floor (a tiny base) waits the floor.
    expect(backoffDelay({ baseMs: 100, capMs: 20_000, floorMs: 250 }, 0, () => 0.9)).toBe(250);
  });

  it("raises a server delay to the floor (a Retry-After of 0 or in the past), jitter on top", () => {
    expect(serverDelay(0, 60_000, () => 0, 250)).toBe(250);
    expect(serverDelay(-5, 60_000, () => 0.5, 250)).toBe(262);
    expect(serverDelay(2_000, 60_000, () => 0, 250)).toBe(2_000);
  });

  it("honours a server delay as a minimum, clamped, with at most 10% jitter on top", () => {
    expect(serverDelay(2_000, 60_000, () => 0)).toBe(2_000);
    expect(serverDelay(2_000, 60_000, () => 0.99)).toBe(2_198);
    expect(serverDelay(3_600_000, 60_000, () => 0)).toBe(60_000);
    expect(serverDelay(-5, 60_000, () => 0.5)).toBe(0);
  });
});

describe("Retry-After parsing", () => {
  const now = Date.parse("2026-11-26T12:00:00Z");
  it("reads seconds, fractional seconds, and retry-after-ms (preferred)", () => {
    expect(parseRetryAfter({ "retry-after": "3" }, now)).toBe(3_000);
    expect(parseRetryAfter({ "retry-after": "0.25" }, now)).toBe(250);
    expect(parseRetryAfter({ "retry-after-ms": "120.5", "retry-after": "9" }, now)).toBe(120.5);
  });

  it("reads an HTTP date, relative to now, and a date in the past as 0", () => {
    expect(parseRetryAfter({ "retry-after": "Thu, 26 Nov 2026 12:00:30 GMT" }, now)).toBe(30_000);
    expect(parseRetryAfter({ "retry-after": "Thu, 26 Nov 2026 11:00:00 GMT" }, now)).toBe(0);
  });

  it("ignores missing and garbage values", () => {
    expect(parseRetryAfter({}, now)).toBeNull();
    expect(parseRetryAfter({ "retry-after": "" }, now)).toBeNull();
    expect(parseRetryAfter({ "retry-after": "soon" }, now)).toBeNull();
    expect(parseRetryAfter({ "retry-after": "-3" }, now)).toBeNull();
    expect(parseRetryAfter({ "retry-after": "12abc" }, now)).toBeNull();
    expect(parseRetryAfter({ "retry-after-ms": "x", "retry-after": "2" }, now)).toBe(2_000);
  });

  it("takes the first of repeated headers", () => {
    expect(parseRetryAfter({ "retry-after": ["4", "8"] }, now)).toBe(4_000);
  });
});

describe("retry budget (AWS standard mode arithmetic)", () => {
  it("charges 5 per retry and 10 per timeout retry, from 500", () => {
    const budget = createRetryBudget();
    expect(budget.acquire("error")).toBe(5);
    expect(budget.acquire("timeout")).toBe(10);
    expect(budget.available()).toBe(485);
  });

  it("runs dry: 100 error retries empty a full bucket, the 101st is refused", () => {
    const budget = createRetryBudget();
    for (let i = 0; i < 100; i++) expect(budget.acquire("error")).toBe(5);
    expect(budget.acquire("error")).toBeNull();
    expect(budget.acquire("timeout")).toBeNull();
    expect(budget.available()).toBe(0);
  });

  it("refunds the last retry's cost on success after retries, and 1 on a first-try success", () => {
    const budget = createRetryBudget({ capacity: 20 });
    budget.acquire("timeout");
    budget.acquire("error");
    expect(budget.available()).toBe(5);
    budget.recordSuccess(5);
    expect(budget.available()).toBe(10);
    budget.recordSuccess(null);
    expect(budget.available()).toBe(11);
  });

  it("never fills above capacity", () => {
    const budget = createRetryBudget({ capacity: 10 });
    for (let i = 0; i < 50; i++) budget.recordSuccess(null);
    budget.recordSuccess(10);
    expect(budget.available()).toBe(10);
  });
});
