// How long a run can stay silent about a task whose GETs never get an answer (a server that accepts
// the connection and never sends headers): measured in two steps, without waiting in real time. The
// client's worst case for one such GET (its attempts, against a real socket with a short headers
// timeout, and its waits, recorded), then the poller on a manual clock where every GET takes that long:
// when it first says why, and when it leaves the task in flight.
import { afterEach, describe, expect, it } from "vitest";
import { CLIENT_DEFAULTS, createApiClient } from "../../src/api/client.js";
import type { ApiClient } from "../../src/api/types.js";
import { pollTask } from "../../src/run/poller.js";
import { REAL_TIMING } from "../../src/run/timing.js";
import { TokenBucket } from "../../src/run/token-bucket.js";
import { startScriptedServer, type ScriptedServer } from "../helpers/scripted-server.js";

let server: ScriptedServer | null = null;
let client: ApiClient | null = null;
afterEach(async () => {
  await client?.close();
  await server?.close();
  client = server = null;
});

/** The client's longest time on one GET that never gets headers, at real speed, and its message. */
async function worstSilentGet(): Promise<{ ms: number; attempts: number; message: string }> {
  server = await startScriptedServer(() => {});
  const sleeps: number[] = [];
  client = createApiClient({
    provider: "cometapi",
    baseUrl: server.origin,
    apiKey: "sk-silence-0123456789abcdef",
    concurrency: 1,
    // The real headers timeout is 60 s: the attempts are counted with a short one and timed with the real one.
    timeouts: { headersMs: 50 },
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    // The longest backoff draws.
    random: () => 0.999_999,
  });
  const outcome = await client.getTask("t1", 0);
  expect(outcome.kind).toBe("error");
  const attempts = server.requests.length;
  const waited = sleeps.reduce((sum, ms) => sum + ms, 0);
  return {
    ms: attempts * CLIENT_DEFAULTS.headersMs + waited,
    attempts,
    message: outcome.kind === "error" ? outcome.message : "",
  };
}

describe("a hostile service: the longest silence", () => {
  it("a task whose GETs never get headers is named after its first GET (about 4 min) and left in flight after 12 min, not hours", async () => {
    const get = await worstSilentGet();
    expect(get.attempts).toBe(CLIENT_DEFAULTS.maxAttempts);
    // 4 attempts of 60 s, and waits of at most 0.5, 1 and 2 s between them.
    expect(get.ms).toBe(4 * 60_000 + 499 + 999 + 1_999);

    let now = 0;
    const said: Array<{ atMs: number; message: string }> = [];
    const api = {
      getTask: async () => {
        now += get.ms;
        return { kind: "error", message: get.message, status: null };
      },
    } as unknown as ApiClient;
    const clock = (): number => now;
    const sleep = async (ms: number): Promise<void> => {
      now += ms;
    };
    const result = await pollTask({
      api,
      taskId: "t1",
      createdAtMs: 0,
      bucket: new TokenBucket(1_000, 1_000, clock, sleep),
      timing: REAL_TIMING,
      clock,
      sleep,
      signal: new AbortController().signal,
      expectedRenderMs: () => 60_000,
      immediate: true,
      onProblem: (message) => said.push({ atMs: now, message }),
    });
    // The reason is said when the first GET gives up, and once only while it stays the same.
    expect(said).toEqual([{ atMs: get.ms, message: get.message }]);
    expect(get.message).toMatch(/Headers Timeout|headers timeout/i);
    // Left after the GET that passes the 10-minute limit: 3 GETs and 2 waits of 5 s between them.
    expect(result).toEqual({
      kind: "unreachable",
      message: `no valid answer in 3 GETs over 12 min; the last: ${get.message}`,
    });
    expect(now).toBe(3 * get.ms + 2 * REAL_TIMING.pollErrorDelayMs);
  });
});
