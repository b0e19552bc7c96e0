// Property 4 of the guarantees: final paths never hold partial files. Outputs trickle out of the
// simulator slowly, and the runner is killed (SIGKILL) while downloads are in progress, many times.
// After every kill, every file at a final path must be complete and be what the simulator served for
// it; no final file is ever empty; the next runs clean up or redo what the kill left.
import { rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readManifest } from "../../src/manifest/manifest.js";
import { inspectAfterKill } from "./harness/after-kill.js";
import { count, figures, FULL, prng, replayHint, seedFor, uniform } from "./harness/mode.js";
import { describeOutcome } from "./harness/runner.js";
import { createScenario, listTree, type Scenario } from "./harness/workspace.js";
import { formatViolations } from "./invariants.js";

const SPEED = 50;
/** Real time a slow download takes to trickle out (16 pieces). */
const DOWNLOAD_MS = 700;

describe("downloads: SIGKILL while outputs trickle in", () => {
  const seed = seedFor("downloads");
  const random = prng(seed);
  let scenario: Scenario;

  beforeAll(async () => {
    scenario = await createScenario({
      job: FULL ? { pairs: 2, seeds: 4 } : { pairs: 1, seeds: 2 },
      speed: SPEED,
      concurrency: 10,
      host: {
        sim: {
          seed,
          outputBytes: 256 * 1024,
          concurrency: 10,
          // Renders first, with every download refused: the kills then land on downloads only.
          faults: "download:503=1",
          slowMs: DOWNLOAD_MS * SPEED,
        },
      },
    });
  });
  afterAll(async () => {
    await scenario?.close();
  });

  it(
    "leaves only complete, verified files at final paths, whenever the kill lands",
    async () => {
      const partialDir = join(scenario.outDir, ".actbatch", "partial");
      // Every task is created and rendered; no output could be fetched: the runs below only download.
      const renders = await scenario.run();
      expect(renders.code, `${renders.stderr.slice(-1500)}`).toBe(1);
      const keys = (await readManifest(scenario.outDir)).tasks.length;
      expect((await scenario.sim.stats()).creates).toBe(keys);
      await scenario.sim.setFaults("download:slow=1");

      // A download of this run in progress: a temporary file written since the run started (a
      // leftover of an earlier kill does not count).
      let runStartedAt = 0;
      const downloading = async (): Promise<boolean> => {
        for (const file of await listTree(partialDir)) {
          if (!file.endsWith(".part")) continue;
          const info = await stat(join(partialDir, file)).catch(() => null);
          if (info && info.mtimeMs >= runStartedAt) return true;
        }
        return false;
      };
      const kills = count(6, 50);
      const log: string[] = [];
      const problems: string[] = [];
      let killed = 0;
      let partialsLeft = 0;
      let finalFilesInspected = 0;
      let rounds = 1;
      while (killed < kills) {
        const delayMs = Math.round(uniform(random, 0, DOWNLOAD_MS * 2));
        runStartedAt = Date.now();
        const outcome = await scenario.run({ killWhen: { condition: downloading, delayMs } });
        log.push(
          `run ${scenario.runs.length} (kill ${delayMs} ms into a download): ${describeOutcome(outcome)}`,
        );
        if (outcome.hung) throw new Error(`run hung\n${log.join("\n")}\n${replayHint()}`);
        if (outcome.signal === "SIGKILL") {
          killed++;
          const state = await inspectAfterKill(scenario.outDir, scenario.sim);
          finalFilesInspected += state.finalFiles;
          partialsLeft += state.partialFiles;
          for (const problem of state.problems)
            problems.push(`after run ${scenario.runs.length}: ${problem}`);
          continue;
        }
        expect(outcome.code, `${log.join("\n")}\n${outcome.stderr.slice(-2000)}`).toBe(0);
        // Done before the kills ran out: the user deletes the outputs, and the next run downloads them
        // again from the same tasks (no new render), under fire again.
        rounds++;
        const manifest = await readManifest(scenario.outDir);
        for (const task of manifest.tasks)
          for (const output of task.outputs) await rm(join(scenario.outDir, output.file), { force: true });
      }
      const final = await scenario.run();
      log.push(`final run: ${describeOutcome(final)}`);
      const context = `${log.join("\n")}\nseed ${seed}; ${replayHint("downloads.test.ts")}`;
      expect(final.code, `${context}\n${final.stderr.slice(-2000)}`).toBe(0);
      expect(problems.join("\n"), `${context}`).toBe("");
      expect(formatViolations(await scenario.check()), `${context}`).toBe("");
      const leftovers = (await listTree(partialDir)).filter((file) => file.endsWith(".part"));
      expect(leftovers, `${context}`).toEqual([]);

      const stats = await scenario.sim.stats();
      // Kills during downloads, and outputs deleted between rounds, never cause a new render.
      expect(Math.max(...Object.values(stats.createsByKey)), `${context}`).toBeLessThanOrEqual(1);
      figures(
        "property 4 (final paths never hold partial files)",
        `${killed} kills during slow downloads over ${rounds} download round${rounds === 1 ? "" : "s"}, ${finalFilesInspected} final files inspected after the kills, 0 partial or empty; ${partialsLeft} partial temporary files left by the kills, ${leftovers.length} left after the final run; ${stats.creates} creates for ${Object.keys(stats.createsByKey).length} keys`,
      );
    },
    FULL ? 600_000 : 90_000,
  );
});
