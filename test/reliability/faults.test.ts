// API faults, through the real CLI and real sockets:
//   9. a 503 storm: retries stay within the run's retry budget and stop once it is spent, tasks not
//      sent stay pending (NOT_SUBMITTED), a rerun after the service recovers completes them
//   a mix of every fault the simulator knows (429 with and without Retry-After, 5xx, resets, creates
//   that are charged and then lost, truncated downloads, failed renders): rerun until every task is
//   terminal, and nothing is lost, nothing is paid twice without being flagged, every file is whole
//   (5. integrity blocks promotion), every create found its intent on disk (3.)
import { afterEach, describe, expect, it } from "vitest";
import { readManifest } from "../../src/manifest/manifest.js";
import { count, figures, FULL, replayHint, seedFor } from "./harness/mode.js";
import type { ProxyRecord } from "./harness/host-protocol.js";
import { describeOutcome } from "./harness/runner.js";
import { createScenario, type Scenario } from "./harness/workspace.js";
import { formatViolations } from "./invariants.js";

/** The API client's retry budget: 500 tokens, 5 per retry after an error answer (AWS standard mode). */
const RETRY_BUDGET = 500 / 5;

/** POSTs per key, in arrival order; the second and later ones are retries or resubmissions. */
function createsByKey(log: readonly ProxyRecord[]): Map<string, ProxyRecord[]> {
  const byKey = new Map<string, ProxyRecord[]>();
  for (const record of log)
    if (record.kind === "create" && record.key !== null)
      byKey.set(record.key, [...(byKey.get(record.key) ?? []), record]);
  return byKey;
}

describe("faults", () => {
  let scenario: Scenario | undefined;
  afterEach(async () => {
    await scenario?.close();
    scenario = undefined;
  });

  it(
    "a 503 storm spends at most the retry budget, leaves unsent tasks pending, and a rerun completes them",
    async () => {
      const seed = seedFor("storm");
      // 200 tasks in full mode, 100 in quick mode, at concurrency 20: enough to run the budget dry.
      const keys = FULL ? 200 : 100;
      scenario = await createScenario({
        job: { pairs: keys / 50, seeds: 10 },
        speed: 100,
        concurrency: 20,
        // The account allows 100 at once: the recovery run may go faster than the storm run's 20.
        host: { sim: { seed, outputBytes: 4096, concurrency: 100, faults: "api:503=1" } },
      });
      const storm = await scenario.run();
      const context = `storm run: ${describeOutcome(storm)}\nseed ${seed}; ${replayHint("faults.test.ts")}`;
      expect(storm.code, `${context}\n${storm.stderr.slice(-2000)}`).toBe(1);
      const stormManifest = await readManifest(scenario.outDir);
      expect(
        stormManifest.tasks.map((task) => task.status).filter((status) => status !== "NOT_SUBMITTED"),
      ).toEqual([]);
      expect((await scenario.sim.stats()).creates).toBe(0);

      const stormLog = await scenario.sim.proxyLog();
      const posts = stormLog.filter((record) => record.kind === "create");
      const retries = [...createsByKey(stormLog).values()].reduce((sum, list) => sum + list.length - 1, 0);
      expect(posts.length - retries).toBe(keys);
      expect(retries).toBeLessThanOrEqual(RETRY_BUDGET);
      expect(stormLog.length).toBeLessThanOrEqual(keys + RETRY_BUDGET);
      // Retries thin out: the tasks started last (the last fifth, by their first request) got none. A
      // task starts only when one of 20 slots frees, so by then at least 60 tasks ended, which 4
      // attempts each would take past the budget's 100 retries: it ran dry before they began, however
      // a retry's backoff (or Retry-After) places it in time.
      const seen = new Set<string>();
      const isRetry = stormLog.map((record) => {
        const again = record.key !== null && seen.has(record.key);
        if (record.key !== null) seen.add(record.key);
        return again;
      });
      const byKey = createsByKey(stormLog);
      const lastStarted = [...byKey.keys()].slice(Math.floor(byKey.size * 0.8));
      const tail = lastStarted.filter((key) => (byKey.get(key)?.length ?? 0) > 1);
      expect(tail, `${context}`).toEqual([]);
      const firstRetry = stormLog.find((_, index) => isRetry[index]);
      const lastRetry = stormLog.findLast((_, index) => isRetry[index]);
      const start = stormLog[0]?.at ?? 0;
      const end = stormLog.at(-1)?.at ?? 0;

      await scenario.sim.setFaults(null);
      const rerun = await scenario.run({ concurrency: 100 });
      expect(rerun.code, `${context}\nrerun: ${describeOutcome(rerun)}\n${rerun.stderr.slice(-2000)}`).toBe(
        0,
      );
      const stats = await scenario.sim.stats();
      const rerunContext = `${context}\nrerun: ${describeOutcome(rerun)}\n${rerun.stderr.slice(-3000)}`;
      expect(stats.creates, `${rerunContext}`).toBe(keys);
      expect(Math.max(...Object.values(stats.createsByKey)), `${rerunContext}`).toBe(1);
      expect(formatViolations(await scenario.check()), `${context}`).toBe("");
      figures(
        "property 9 (no retry storm)",
        `${keys} tasks at concurrency 20 against 503 on every request: ${stormLog.length} requests in ${end - start} ms (${keys} first attempts + ${retries} retries; budget ${RETRY_BUDGET} retries = 500 tokens / 5), retries only between +${(firstRetry?.at ?? start) - start} and +${(lastRetry?.at ?? start) - start} ms, none for the ${lastStarted.length} tasks started last; ${keys}/${keys} tasks left NOT_SUBMITTED, 0 created; after recovery the rerun (at concurrency 100) completed ${keys}/${keys} with ${stats.creates} creates`,
      );
    },
    FULL ? 300_000 : 90_000,
  );

  it(
    "a mix of every fault: reruns end with every task terminal, nothing lost, no unflagged double payment, every file whole",
    async () => {
      const seed = seedFor("fault-mix");
      const keys = FULL ? 200 : 40;
      const faults = [
        "api:429=0.04",
        "api:429ra=0.04",
        "api:5xx=0.08",
        "api:reset=0.04",
        "create:lost=0.1",
        "create:lost5xx=0.05",
        "download:5xx=0.05",
        "download:reset=0.05",
        "download:truncate=0.3",
        "fail=0.1",
      ].join(",");
      scenario = await createScenario({
        job: FULL ? { pairs: 4, seeds: 10 } : { pairs: 1, seeds: 8 },
        speed: 100,
        concurrency: 20,
        host: {
          sim: {
            seed,
            outputBytes: 96 * 1024,
            concurrency: 20,
            faults,
            retryAfterMs: 1000,
            failureCodes: ["INTERNAL", "THIRD_PARTY.UNAVAILABLE", null, "ASSET.INVALID"],
          },
        },
      });
      const log: string[] = [];
      let settled = false;
      for (let run = 0; run < count(8, 10) && !settled; run++) {
        const outcome = await scenario.run();
        log.push(`run ${run + 1}: ${describeOutcome(outcome)}`);
        const manifest = await readManifest(scenario.outDir);
        // Settled: nothing left that a rerun would submit again (a retryable failure would be).
        settled =
          outcome.code === 0 ||
          (outcome.code === 1 &&
            manifest.summary.pending === 0 &&
            manifest.tasks.every((task) => task.status !== "FAILED" || task.error?.retryable === false));
      }
      const context = `${log.join("\n")}\nfaults ${faults}\nseed ${seed}; ${replayHint("faults.test.ts")}`;
      expect(settled, `${context}\n${scenario.runs.at(-1)?.stderr.slice(-3000)}`).toBe(true);
      expect(formatViolations(await scenario.check()), `${context}`).toBe("");
      const checks = await scenario.sim.intentChecks();
      const missing = checks.filter((check) => !check.found);
      expect(missing.map((check) => `${check.key}: ${check.detail}`).join("\n"), `${context}`).toBe("");

      const manifest = await readManifest(scenario.outDir);
      const stats = await scenario.sim.stats();
      const failedFinal = manifest.tasks.filter((task) => task.status === "FAILED");
      // Only the final failure code may leave a task FAILED; everything else was retried to success.
      expect(failedFinal.map((task) => task.error?.code).filter((code) => code !== "ASSET.INVALID")).toEqual(
        [],
      );
      const injected = Object.entries(stats.faults)
        .toSorted(([a], [b]) => a.localeCompare(b))
        .map(([name, n]) => `${name} ${n}`)
        .join(", ");
      const truncated = stats.faults["download:truncate"] ?? 0;
      figures(
        "faults (every fault the simulator knows, rerun until settled)",
        `${keys} tasks, ${scenario.runs.length} runs, faults injected: ${injected}; ${stats.creates} creates, ${manifest.summary.possiblyChargedTwice} keys flagged possibly charged twice, 0 unflagged; ${manifest.summary.succeeded} SUCCEEDED, ${failedFinal.length} FAILED with the final code ASSET.INVALID, 0 lost; ${checks.length} creates found their intent on disk`,
      );
      figures(
        "property 5 (integrity blocks promotion)",
        `${truncated} truncated download bodies (plus ${
          (stats.faults["download:reset"] ?? 0) +
          Object.entries(stats.faults)
            .filter(([name]) => name.startsWith("download:5"))
            .reduce((sum, [, n]) => sum + n, 0)
        } download resets and 5xx), ${manifest.summary.succeeded} final files, every one the exact bytes served (size and sha256), 0 partial files promoted`,
      );
    },
    FULL ? 600_000 : 120_000,
  );
});
