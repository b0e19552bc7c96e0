// A manifest write killed at any moment leaves the previous manifest or the new one, never a torn
// file: proved with the named crash point half-way through the write, and with kills at random times.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  assembleManifest,
  readManifest,
  serializeManifest,
  writeManifest,
} from "../../src/manifest/manifest.js";
import { startNode, runNode } from "../helpers/node-child.js";
import { planOf, succeededTask, withTempDir } from "../helpers/manifest-fixtures.js";

const plan = planOf(40);
const older = assembleManifest({ plan, tasks: [] });
const newer = assembleManifest({ plan, tasks: plan.tasks.map((task) => succeededTask(task)) });

/** Child code that writes `manifests` (JSON) to `dir` in a loop, or once. */
function writerSource(dir: string, manifests: unknown[], loop: boolean): string {
  return `
    const { writeManifest } = await import(dist + "manifest/manifest.js");
    const manifests = ${JSON.stringify(manifests)};
    console.log("ready");
    let round = 0;
    do {
      await writeManifest(${JSON.stringify(dir)}, manifests[round % manifests.length]);
      round += 1;
    } while (${loop});
    console.log("finished");`;
}

describe("manifest writes under kill -9", () => {
  it("a kill half-way through the write (ACTBATCH_CRASH_AT=mid-manifest) leaves the old manifest intact", async () => {
    await withTempDir(async (dir) => {
      await writeManifest(dir, older);
      const before = await readFile(join(dir, "manifest.json"));
      const result = await runNode(writerSource(dir, [newer], false), { ACTBATCH_CRASH_AT: "mid-manifest" });
      expect(result.signal).toBe("SIGKILL");
      expect(result.stdout).not.toContain("finished");
      expect((await readFile(join(dir, "manifest.json"))).equals(before)).toBe(true);
      expect(await readManifest(dir)).toEqual(older);
      // The half-written new manifest sits in a hidden temporary file only.
      const others = (await readdir(dir)).filter((name) => name !== "manifest.json");
      expect(others).toHaveLength(1);
      expect(others[0]).toMatch(/^\.manifest\.json\..+\.tmp$/);
      // The next write replaces the manifest and removes the leftover.
      await writeManifest(dir, newer);
      expect(await readdir(dir)).toEqual(["manifest.json"]);
      expect(await readFile(join(dir, "manifest.json"), "utf8")).toBe(serializeManifest(newer));
    });
  });

  it("a kill at the n-th write (ACTBATCH_CRASH_AT=mid-manifest@3) leaves the second write's manifest", async () => {
    await withTempDir(async (dir) => {
      const third = assembleManifest({
        plan,
        tasks: plan.tasks.slice(0, 10).map((task) => succeededTask(task)),
      });
      const result = await runNode(writerSource(dir, [older, newer, third], true), {
        ACTBATCH_CRASH_AT: "mid-manifest@3",
      });
      expect(result.signal).toBe("SIGKILL");
      expect(await readManifest(dir)).toEqual(newer);
    });
  });

  it("kills at random moments of repeated writes always leave a whole, valid manifest", async () => {
    const seed = Number(process.env.ACTBATCH_SEED ?? Date.now() % 100_000);
    let state = seed;
    const random = () => (state = (state * 48271) % 2147483647) / 2147483647;
    await withTempDir(async (dir) => {
      await writeManifest(dir, older);
      const valid = new Set([serializeManifest(older), serializeManifest(newer)]);
      for (let kill = 0; kill < 5; kill += 1) {
        const child = startNode(writerSource(dir, [older, newer], true));
        await child.waitFor("ready");
        await new Promise((resolve) => setTimeout(resolve, 5 + random() * 60));
        child.kill("SIGKILL");
        await child.done;
        const text = await readFile(join(dir, "manifest.json"), "utf8");
        expect(valid.has(text), `seed ${seed}, kill ${kill}: manifest.json is not a whole manifest`).toBe(
          true,
        );
        await expect(readManifest(dir)).resolves.toBeDefined();
      }
    });
  });
});
