// How the runner retries, seen from the server side through the real CLI:
//   10. jitter: 100 creates refused with a 429 at the same moment come back spread over the backoff
//       window (no 100 ms bucket holds more than 20% of them)
//   8.  (end to end) Retry-After is honoured as a minimum in seconds and as an HTTP date, a garbage
//       value falls back to the computed backoff, a huge one is clamped; the daily task limit and an
//       empty credit balance stop all submission at once, with one message
import { afterEach, describe, expect, it } from "vitest";
import { readManifest } from "../../src/manifest/manifest.js";
import type { CannedAnswer, ProxyRecord } from "./harness/host-protocol.js";
import { figures, replayHint, seedFor } from "./harness/mode.js";
import { describeOutcome } from "./harness/runner.js";
import { createScenario, type Scenario } from "./harness/workspace.js";
import { formatViolations } from "./invariants.js";

const SATURATED = JSON.stringify({
  error: { message: "upstream saturated, please retry later", type: "comet_api_error", code: "" },
});

/** The creates of each key in arrival order. */
function postsByKey(log: readonly ProxyRecord[]): Map<string, ProxyRecord[]> {
  const byKey = new Map<string, ProxyRecord[]>();
  for (const record of log)
    if (record.kind === "create" && record.key !== null)
      byKey.set(record.key, [...(byKey.get(record.key) ?? []), record]);
  return byKey;
}

describe("retries", () => {
  let scenario: Scenario | undefined;
  afterEach(async () => {
    await scenario?.close();
    scenario = undefined;
  });

  it("100 creates refused by one 429 wave come back spread out: no 100 ms bucket holds more than 20%", async () => {
    const seed = seedFor("jitter");
    scenario = await createScenario({
      job: { pairs: 2, seeds: 10 },
      speed: 50,
      concurrency: 100,
      host: {
        sim: { seed, outputBytes: 1024, concurrency: 100 },
        firstCreate: { status: 429, body: SATURATED },
      },
    });
    const sim = scenario.sim;
    const retried = async (): Promise<boolean> =>
      [...postsByKey(await sim.proxyLog()).values()].filter((posts) => posts.length >= 2).length >= 100;
    // The engine's clock at an eighth of real speed: the first retry's backoff window is [2 s, 4 s) (above
    // the 250 ms floor, scaled), wide enough to see its shape in 100 ms buckets. The run is stopped once
    // every task has retried.
    const outcome = await scenario.run({ timeScale: 0.125, killWhen: { condition: retried, delayMs: 0 } });
    const context = `run: ${describeOutcome(outcome)}\nseed ${seed}; ${replayHint("retries.test.ts")}`;
    const byKey = postsByKey(await sim.proxyLog());
    expect(byKey.size, `${context}`).toBe(100);
    const first = [...byKey.values()].map((posts) => posts[0]?.at ?? 0);
    const retries = [...byKey.values()].map((posts) => posts[1]?.at ?? 0);
    expect(retries.filter((at) => at === 0).length, `${context}`).toBe(0);
    const waveStart = Math.min(...first);
    const waveSpread = Math.max(...first) - waveStart;
    const buckets = new Map<number, number>();
    for (const at of retries) {
      const bucket = Math.floor((at - waveStart) / 100);
      buckets.set(bucket, (buckets.get(bucket) ?? 0) + 1);
    }
    const fullest = Math.max(...buckets.values());
    const span = Math.max(...retries) - Math.min(...retries);
    figures(
      "property 10 (jitter)",
      `100 creates got a 429 within ${waveSpread} ms; their retries arrived over ${span} ms in ${buckets.size} buckets of 100 ms, the fullest holding ${fullest}% (limit 20%)`,
    );
    expect(
      fullest,
      `${context}\nbuckets ${JSON.stringify([...buckets].toSorted(([a], [b]) => a - b))}`,
    ).toBeLessThanOrEqual(20);
  }, 60_000);

  it("honours Retry-After in seconds and as a date, falls back to backoff on garbage, clamps a huge one", async () => {
    // At a time scale of 20 the engine's longest Retry-After wait is 60 s / 20 = 3 s, and its first
    // backoff window 500 ms / 20 = 25 ms. The upper bounds leave room for a busy machine: they only
    // have to tell "honoured" from "ignored" and "clamped" from "slept for a day".
    const timeScale = 20;
    const answers: (CannedAnswer & { label: string; min: number; max: number })[] = [
      { label: "Retry-After: 1", headers: { "retry-after": "1" }, min: 1000, max: 2500 },
      {
        label: "Retry-After: <date 2 s ahead>",
        headers: { "retry-after": "{now+2000}" },
        min: 1000,
        max: 3500,
      },
      { label: "Retry-After: soon", headers: { "retry-after": "soon" }, min: 0, max: 1500 },
      { label: "Retry-After: 86400", headers: { "retry-after": "86400" }, min: 3000, max: 6000 },
    ].map((answer) => ({ ...answer, status: 429, body: SATURATED }));
    scenario = await createScenario({
      job: { pairs: 1, seeds: 4, intensities: 1 },
      speed: 50,
      concurrency: 4,
      host: { sim: { outputBytes: 1024, concurrency: 4 }, firstCreate: answers },
    });
    const sim = scenario.sim;
    const allRetried = async (): Promise<boolean> =>
      [...postsByKey(await sim.proxyLog()).values()].filter((posts) => posts.length >= 2).length >= 4;
    const outcome = await scenario.run({ timeScale, killWhen: { condition: allRetried, delayMs: 0 } });
    const context = `run: ${describeOutcome(outcome)}\n${outcome.stderr.slice(-1500)}`;
    // The n-th body to arrive got the n-th answer.
    const byKey = [...postsByKey(await sim.proxyLog()).values()];
    expect(byKey.length, `${context}`).toBe(4);
    const rows = answers.map((answer, index) => {
      const posts = byKey[index] ?? [];
      return { ...answer, wait: (posts[1]?.at ?? Number.NaN) - (posts[0]?.at ?? Number.NaN) };
    });
    figures(
      "property 8 (Retry-After, end to end)",
      rows.map((row) => `${row.label} -> retried after ${row.wait} ms`).join(", "),
    );
    for (const row of rows) {
      expect(row.wait, `${row.label}\n${context}`).toBeGreaterThanOrEqual(row.min - 5);
      expect(row.wait, `${row.label}\n${context}`).toBeLessThanOrEqual(row.max);
    }
  }, 60_000);

  it.each([
    { label: "the daily task limit (429)", account: { dailyLimit: 5 }, text: /daily task limit/i },
    { label: "no credits (400)", account: { credits: 5 * 50 }, text: /credits/i },
  ])(
    "$label stops all submission at once, with one stop message, and a rerun resumes",
    async ({ account, text }) => {
      scenario = await createScenario({
        job: { pairs: 1, seeds: 4, intensities: 3 },
        speed: 100,
        concurrency: 4,
        host: { sim: { outputBytes: 1024, concurrency: 4, ...account } },
      });
      const stopped = await scenario.run();
      const context = `run: ${describeOutcome(stopped)}\n${stopped.stderr.slice(-2000)}`;
      expect(stopped.code, `${context}`).toBe(3);
      // One stop line in the progress log (the summary repeats it once at the end), not one per task.
      const stops = stopped.stderr.split("\n").filter((line) => /^\d\d:\d\d:\d\d stopped/.test(line));
      expect(stops.length, `${context}`).toBe(1);
      expect(stops[0], `${context}`).toMatch(text);
      const posts = (await scenario.sim.proxyLog()).filter((record) => record.kind === "create");
      const refusedAt = posts.findIndex((record) => record.status !== "200");
      // Once the first refusal is answered, only creates already sent may follow (at most concurrency - 1).
      expect(posts.length - refusedAt - 1, `${context}`).toBeLessThanOrEqual(3);
      const stats = await scenario.sim.stats();
      expect(stats.creates).toBe(5);
      const manifest = await readManifest(scenario.outDir);
      expect(manifest.tasks.filter((task) => task.status === "NOT_SUBMITTED").length).toBe(12 - 5);

      // Tomorrow (or after a top-up), the same command picks up where it stopped.
      await scenario.sim.setAccount({ dailyLimit: null, credits: null });
      const resumed = await scenario.run();
      expect(resumed.code, `${resumed.stderr.slice(-2000)}`).toBe(0);
      expect((await scenario.sim.stats()).creates).toBe(12);
      expect(formatViolations(await scenario.check())).toBe("");
    },
    60_000,
  );
});
