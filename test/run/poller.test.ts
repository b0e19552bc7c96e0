// The poll loop driven by a scripted API port and a virtual clock (the HTTP side is covered against
// the simulator in run-job.test.ts): what it does with each kind of answer, and how many GETs it spends.
import { describe, expect, it } from "vitest";
import type { ApiClient, GetOutcome, TaskState } from "../../src/api/types.js";
import { pollTask, type PollTaskInput } from "../../src/run/poller.js";
import { REAL_TIMING } from "../../src/run/timing.js";
import { TokenBucket } from "../../src/run/token-bucket.js";

/** `getMs`: how long each GET takes on the clock (a server that answers late, or never). */
function scripted(answers: ((now: number) => GetOutcome)[], getMs = 0) {
  let now = 0;
  const gets: number[] = [];
  const api = {
    getTask: async () => {
      gets.push(now);
      now += getMs;
      const next = answers[Math.min(gets.length - 1, answers.length - 1)];
      return next!(now);
    },
  } as unknown as ApiClient;
  const clock = (): number => now;
  const sleep = async (ms: number): Promise<void> => {
    now += ms;
  };
  const input = (overrides: Partial<PollTaskInput> = {}): PollTaskInput => ({
    api,
    taskId: "t1",
    createdAtMs: 0,
    bucket: new TokenBucket(1_000, 1_000, clock, sleep),
    timing: REAL_TIMING,
    clock,
    sleep,
    signal: new AbortController().signal,
    expectedRenderMs: () => 90_000,
    immediate: false,
    ...overrides,
  });
  return { input, gets, clock };
}

const state = (s: TaskState) => (): GetOutcome => ({ kind: "state", state: s });
const runningUntil =
  (doneAt: number) =>
  (now: number): GetOutcome =>
    now >= doneAt
      ? { kind: "state", state: { status: "succeeded", outputs: ["https://x/y.mp4"] } }
      : { kind: "state", state: { status: "running", progress: now / doneAt } };

describe("pollTask", () => {
  it("notices a 95 s render within one update interval, in a handful of GETs", async () => {
    const { input, gets, clock } = scripted([runningUntil(95_000)]);
    const result = await pollTask(input());
    expect(result).toMatchObject({ kind: "terminal", state: { status: "succeeded" } });
    expect(clock() - 95_000).toBeLessThanOrEqual(5_000);
    expect(gets.length).toBeLessThanOrEqual(8);
  });

  it("polls a resumed task at once", async () => {
    const { input, gets } = scripted([state({ status: "succeeded", outputs: ["u"] })]);
    await pollTask(input({ immediate: true }));
    expect(gets).toEqual([0]);
  });

  it("keeps polling through not-visible answers and errors", async () => {
    const { input, gets } = scripted([
      state({ status: "not-visible" }),
      () => ({ kind: "error", message: "503", status: 503 }),
      state({ status: "pending" }),
      state({ status: "failed", code: "INTERNAL", message: "boom" }),
    ]);
    const result = await pollTask(input());
    expect(result).toMatchObject({ kind: "terminal", state: { status: "failed", code: "INTERNAL" } });
    // not-visible -> 2 s, error -> 5 s.
    expect(gets[1]! - gets[0]!).toBe(2_000);
    expect(gets[2]! - gets[1]!).toBe(5_000);
  });

  it("times a throttled task's render from when it stopped waiting, not from its creation", async () => {
    // THROTTLED until 200 s (the account was full), then a 92 s render without progress figures.
    const { input, clock } = scripted([
      (now) =>
        now < 200_000
          ? { kind: "state", state: { status: "throttled" } }
          : now < 292_000
            ? { kind: "state", state: { status: "running", progress: null } }
            : { kind: "state", state: { status: "succeeded", outputs: ["u"] } },
    ]);
    const result = await pollTask(input());
    expect(result).toMatchObject({ kind: "terminal", state: { status: "succeeded" } });
    // Timed from its creation, the task would look long overdue and be polled ever more sparsely.
    expect(clock() - 292_000).toBeLessThanOrEqual(5_000);
  });

  it("asks three times before taking a vanished task as gone", async () => {
    const { input, gets } = scripted([
      state({ status: "missing", message: "Could not find Task" }),
      state({ status: "missing", message: "Could not find Task" }),
      state({ status: "running", progress: 0.5 }),
      state({ status: "missing", message: "Could not find Task" }),
      state({ status: "missing", message: "Could not find Task" }),
      state({ status: "missing", message: "Could not find Task" }),
    ]);
    const result = await pollTask(input());
    expect(result).toMatchObject({ kind: "terminal", state: { status: "missing" } });
    expect(gets).toHaveLength(6);
  });

  it("leaves the task in flight after too many failed GETs, and on a stop", async () => {
    const failing = scripted([() => ({ kind: "error", message: "reset", status: null })]);
    expect(await pollTask(failing.input({ maxConsecutiveErrors: 4 }))).toEqual({
      kind: "unreachable",
      message: "no valid answer in 4 GETs over 15 s; the last: reset",
    });
    expect(failing.gets).toHaveLength(4);

    const stop = new AbortController();
    const stopped = scripted([
      () => {
        stop.abort();
        return { kind: "state", state: { status: "succeeded", outputs: ["u"] } };
      },
    ]);
    // An answer that arrives after the stop proves nothing: the task stays in flight.
    expect(await pollTask(stopped.input({ signal: stop.signal }))).toEqual({ kind: "stopped" });
  });

  it("reports an account stop from a GET (a revoked key)", async () => {
    const { input } = scripted([
      () => ({ kind: "account-stop", reason: "bad-key", status: 401, message: "invalid key" }),
    ]);
    expect(await pollTask(input())).toMatchObject({ kind: "account-stop", reason: "bad-key" });
  });

  it("takes a token from the shared bucket for every GET", async () => {
    class CountingBucket extends TokenBucket {
      taken = 0;
      override take(signal?: AbortSignal): Promise<void> {
        this.taken++;
        return super.take(signal);
      }
    }
    const { input, gets, clock } = scripted([state({ status: "pending" })]);
    const bucket = new CountingBucket(1, 1, clock, async () => undefined);
    const stop = new AbortController();
    await pollTask(input({ bucket, signal: stop.signal, onGet: () => gets.length === 3 && stop.abort() }));
    expect(gets).toHaveLength(4);
    expect(bucket.taken).toBe(4);
  });

  it("says each new reason for a bad answer at once, not only when it gives up", async () => {
    const problems: string[] = [];
    const { input } = scripted([
      () => ({ kind: "error", message: 'unrecognised task status "EXPLODED"', status: 200 }),
      () => ({ kind: "error", message: 'unrecognised task status "EXPLODED"', status: 200 }),
      () => ({ kind: "error", message: "the task answer is not JSON", status: 200 }),
      state({ status: "running", progress: 0.5 }),
      () => ({ kind: "error", message: "the task answer is not JSON", status: 200 }),
      state({ status: "succeeded", outputs: ["u"] }),
    ]);
    const result = await pollTask(input({ onProblem: (message) => problems.push(message) }));
    expect(result).toMatchObject({ kind: "terminal" });
    // Once per reason in a row; a valid answer in between makes the same reason news again.
    expect(problems).toEqual([
      'unrecognised task status "EXPLODED"',
      "the task answer is not JSON",
      "the task answer is not JSON",
    ]);
  });

  it("bounds the time without a valid answer: GETs that each take minutes give up after the silence limit", async () => {
    // A server that accepts the connection and never answers: each GET ends by the client's timeouts.
    const { input, gets } = scripted(
      [() => ({ kind: "error", message: "no answer: headers timeout", status: null })],
      4 * 60_000,
    );
    const result = await pollTask(input({ immediate: true }));
    expect(result).toEqual({
      kind: "unreachable",
      message: "no valid answer in 3 GETs over 12 min; the last: no answer: headers timeout",
    });
    // Not 30 GETs (two hours): the limit is REAL_TIMING.maxSilenceMs, 10 minutes.
    expect(gets).toHaveLength(3);
  });
});
