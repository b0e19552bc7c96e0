// The retry loop alone, without a socket: scripted attempts, a sleeper that records every delay, a
// fixed clock for HTTP-date Retry-After values and fixed randomness.
import { describe, expect, it } from "vitest";
import { classifyAnswer, classifyNetworkFailure, type Verdict } from "../../src/api/classify.js";
import { retrying, type Attempt, type RetryPolicy } from "../../src/api/retry.js";
import { createRetryBudget, type RetryBudget } from "../../src/api/retry-budget.js";

const NOW = Date.parse("2026-01-05T10:00:00Z");

interface Recorder {
  policy: RetryPolicy;
  sleeps: number[];
  retries: () => number;
}

function recorder(overrides: Partial<RetryPolicy> = {}): Recorder {
  const sleeps: number[] = [];
  let retries = 0;
  const policy: RetryPolicy = {
    maxAttempts: 4,
    backoff: { baseMs: 500, capMs: 20_000 },
    maxRetryAfterMs: 60_000,
    minDelayMs: 250,
    budget: createRetryBudget(),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    onRetry: () => {
      retries++;
    },
    ...overrides,
  };
  return { policy, sleeps, retries: () => retries };
}

/** Attempts that return these verdicts in turn (the last one again when the script runs out). */
function scripted(verdicts: Verdict[]): { attempt: () => Promise<Attempt<number>>; made: () => number } {
  let made = 0;
  return {
    attempt: async () => {
      const verdict = verdicts[Math.min(made, verdicts.length - 1)] as Verdict;
      made++;
      return { kind: "verdict", verdict, result: made };
    },
    made: () => made,
  };
}

const retry = (retryAfterMs: number | null = null, timeout = false): Verdict => ({
  kind: "retry",
  timeout,
  retryAfterMs,
  status: 503,
  message: "HTTP 503",
});
const OK: Verdict = { kind: "ok" };

/** The verdict on a 429 of a GET with these headers, at NOW. */
const answer429 = (headers: Record<string, string>): Verdict =>
  classifyAnswer({ kind: "get", provider: "cometapi", status: 429, headers, body: "", nowMs: NOW });

describe("Retry-After", () => {
  it("is honoured in seconds, in milliseconds and as an HTTP date, plus up to a tenth of jitter", async () => {
    const { policy, sleeps, retries } = recorder({ random: () => 0 });
    const script = scripted([
      answer429({ "retry-after": "3" }),
      answer429({ "retry-after-ms": "1500" }),
      answer429({ "retry-after": new Date(NOW + 7_000).toUTCString() }),
      OK,
    ]);
    expect(await retrying(policy, undefined, script.attempt)).toEqual({
      kind: "done",
      verdict: OK,
      result: 4,
    });
    expect(sleeps).toEqual([3_000, 1_500, 7_000]);
    expect(retries()).toBe(3);

    const jittered = recorder({ random: () => 0.5 });
    await retrying(jittered.policy, undefined, scripted([answer429({ "retry-after": "3" }), OK]).attempt);
    expect(jittered.sleeps).toEqual([3_150]);
  });

  it("beyond the clamp waits the clamp, not hours; an unreadable one falls back to the backoff", async () => {
    const { policy, sleeps } = recorder({ random: () => 0, maxRetryAfterMs: 600 });
    await retrying(
      policy,
      undefined,
      scripted([answer429({ "retry-after": "7200" }), answer429({ "retry-after": "soon" }), OK]).attempt,
    );
    expect(sleeps).toEqual([600, 250]);
  });
});

describe("the floor between retries", () => {
  it("a Retry-After of 0, of 0 ms or in the past waits the floor, not nothing", async () => {
    const forms: Array<Record<string, string>> = [
      { "retry-after": "0" },
      { "retry-after-ms": "0" },
      { "retry-after": new Date(NOW - 60_000).toUTCString() },
    ];
    for (const headers of forms) {
      const { policy, sleeps } = recorder({ random: () => 0 });
      const settled = await retrying(policy, undefined, scripted([answer429(headers)]).attempt);
      expect(settled).toMatchObject({ kind: "gave-up", reason: "gave up after 4 attempts" });
      expect(sleeps).toEqual([250, 250, 250]);
    }
  });

  it("keeps the server's jitter above the floor, and a backoff draw of 0 waits the floor too", async () => {
    const jittered = recorder({ random: () => 0.5 });
    await retrying(jittered.policy, undefined, scripted([answer429({ "retry-after": "0" }), OK]).attempt);
    expect(jittered.sleeps).toEqual([262]);
    const drawn = recorder({ random: () => 0 });
    await retrying(drawn.policy, undefined, scripted([retry(), retry(), retry(), OK]).attempt);
    expect(drawn.sleeps).toEqual([250, 250, 250]);
  });
});

describe("full-jitter backoff", () => {
  it("draws each delay uniformly between the floor and min(cap, base * 2^retry)", async () => {
    for (const draw of [0, 0.25, 0.5, 0.999_999]) {
      const { policy, sleeps } = recorder({
        random: () => draw,
        maxAttempts: 7,
        backoff: { baseMs: 500, capMs: 3_000 },
      });
      const settled = await retrying(policy, undefined, scripted([retry()]).attempt);
      expect(settled).toMatchObject({ kind: "gave-up", reason: "gave up after 7 attempts", result: 7 });
      const ceilings = [500, 1_000, 2_000, 3_000, 3_000, 3_000];
      expect(sleeps).toEqual(ceilings.map((ceiling) => Math.floor(250 + draw * (ceiling - 250))));
      for (const [i, ms] of sleeps.entries()) {
        expect(ms).toBeGreaterThanOrEqual(250);
        expect(ms).toBeLessThan(ceilings[i] as number);
      }
    }
  });

  it("gives up after maxAttempts with the last verdict and answer, and never sleeps after the last", async () => {
    const { policy, sleeps, retries } = recorder({ maxAttempts: 3 });
    const script = scripted([retry()]);
    const settled = await retrying(policy, undefined, script.attempt);
    expect(settled).toEqual({
      kind: "gave-up",
      last: retry(),
      result: 3,
      reason: "gave up after 3 attempts",
    });
    expect(script.made()).toBe(3);
    expect(sleeps).toEqual([375, 625]);
    expect(retries()).toBe(2);
  });
});

describe("the retry budget", () => {
  it("once spent, stops retrying, for this request and the next ones", async () => {
    const budget = createRetryBudget({ capacity: 10 }); // two retries after errors
    const { policy, sleeps } = recorder({ budget, maxAttempts: 10 });
    const first = scripted([retry()]);
    expect(await retrying(policy, undefined, first.attempt)).toMatchObject({
      kind: "gave-up",
      reason: "not retried: the retry budget is spent (too many errors)",
    });
    expect(first.made()).toBe(3);
    const second = scripted([retry()]);
    expect(await retrying(policy, undefined, second.attempt)).toMatchObject({ kind: "gave-up" });
    expect(second.made()).toBe(1);
    expect(sleeps).toHaveLength(2);
    expect(budget.available()).toBe(0);
  });

  it("charges a retry after a timeout more, and refunds the last retry of a request that then succeeds", async () => {
    const budget = createRetryBudget({ capacity: 100 });
    const { policy } = recorder({ budget });
    await retrying(policy, undefined, scripted([retry(null, true), retry(), OK]).attempt);
    // 10 for the timeout, 5 for the error, then the last retry's 5 back.
    expect(budget.available()).toBe(90);
    await retrying(policy, undefined, scripted([OK]).attempt);
    expect(budget.available()).toBe(91);
  });

  it("that cannot pay stops the retry at once, whatever the Retry-After", async () => {
    const calls: string[] = [];
    const budget: RetryBudget = {
      acquire(kind) {
        calls.push(`acquire ${kind}`);
        return null;
      },
      recordSuccess(cost) {
        calls.push(`success ${cost}`);
      },
      available: () => 0,
    };
    const { policy, sleeps } = recorder({ budget });
    const script = scripted([retry(5_000)]);
    expect(await retrying(policy, undefined, script.attempt)).toMatchObject({ kind: "gave-up" });
    expect(script.made()).toBe(1);
    expect(sleeps).toEqual([]);
    expect(calls).toEqual(["acquire error"]);
  });
});

const reset = (kind: "create" | "get", sent: boolean): Verdict =>
  classifyNetworkFailure({ kind, code: "ECONNRESET", message: "socket hang up", sent });

describe("a create sent ambiguously", () => {
  it("is never retried once the request had left: one attempt, no sleep, no budget refill", async () => {
    const budget = createRetryBudget({ capacity: 100 });
    budget.acquire("error");
    const { policy, sleeps, retries } = recorder({ budget });
    const script = scripted([reset("create", true), OK]);
    const settled = await retrying(policy, undefined, script.attempt);
    expect(settled).toMatchObject({ kind: "done", verdict: { kind: "ambiguous" }, result: 1 });
    expect(script.made()).toBe(1);
    expect(sleeps).toEqual([]);
    expect(retries()).toBe(0);
    expect(budget.available()).toBe(95);
  });

  it.each([
    ["a create that never left", reset("create", false)],
    ["a GET that had left (idempotent)", reset("get", true)],
    [
      "a create refused before sending (ECONNREFUSED)",
      classifyNetworkFailure({ kind: "create", code: "ECONNREFUSED", message: "refused", sent: true }),
    ],
  ])("is retried when it is %s", async (_label, verdict) => {
    const { policy, sleeps } = recorder();
    const script = scripted([verdict, OK]);
    expect(await retrying(policy, undefined, script.attempt)).toMatchObject({ kind: "done", verdict: OK });
    expect(script.made()).toBe(2);
    expect(sleeps).toEqual([375]);
  });

  it.each([500, 502, 504, 524])("an HTTP %i answer to a create is ambiguous, not retried", async (status) => {
    const verdict = classifyAnswer({
      kind: "create",
      provider: "cometapi",
      status,
      headers: {},
      body: "",
      nowMs: NOW,
    });
    const { policy, sleeps } = recorder();
    const script = scripted([verdict, OK]);
    expect(await retrying(policy, undefined, script.attempt)).toMatchObject({
      verdict: { kind: "ambiguous" },
    });
    expect(script.made()).toBe(1);
    expect(sleeps).toEqual([]);
  });
});

describe("aborts", () => {
  it("an abort during the wait ends the request as not sent, with no retry counted", async () => {
    const controller = new AbortController();
    const { policy, retries } = recorder({
      sleep: async (_ms, signal) => {
        controller.abort();
        if (signal?.aborted) throw new Error("aborted");
      },
    });
    const script = scripted([retry(), OK]);
    expect(await retrying(policy, controller.signal, script.attempt)).toEqual({
      kind: "aborted",
      sent: false,
    });
    expect(script.made()).toBe(1);
    expect(retries()).toBe(0);
  });

  it("an attempt's own abort is passed on as it is", async () => {
    const { policy } = recorder();
    const settled = await retrying<number>(policy, undefined, async () => ({ kind: "aborted", sent: true }));
    expect(settled).toEqual({ kind: "aborted", sent: true });
  });
});
