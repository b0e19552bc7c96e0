// Outputs are written inside the output folder only: a symlinked sub-folder that leads out of it
// fails that task's download instead of writing through the link.
import { mkdir, readdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readManifest } from "../../src/manifest/manifest.js";
import { createWorkspace, type Workspace } from "../e2e/harness.js";

let ws: Workspace | null = null;
afterEach(async () => {
  await ws?.close();
  ws = null;
});

describe("output folder confinement", () => {
  it("a sub-folder symlinked out of the output folder is not written through: the task fails with OUTPUT_PATH_ESCAPES", async () => {
    ws = await createWorkspace({ pairs: 2, intensities: [1, 2] });
    const victim = join(ws.dir, "victim");
    await mkdir(victim);
    await writeFile(join(victim, "keep.txt"), "do not touch");
    await mkdir(ws.outDir);
    await symlink(victim, join(ws.outDir, "pair0"));
    const result = await ws.run();
    expect(result.exitCode).toBe(1);
    expect(await readdir(victim)).toEqual(["keep.txt"]);
    expect(await readFile(join(victim, "keep.txt"), "utf8")).toBe("do not touch");
    const manifest = await readManifest(ws.outDir);
    const byPair = (pair: string) => manifest.tasks.filter((task) => task.pair === pair);
    expect(byPair("pair0").map((task) => [task.status, task.outputs.length])).toEqual([
      ["FAILED", 0],
      ["FAILED", 0],
    ]);
    for (const task of byPair("pair0"))
      expect(task.error?.message).toMatch(
        /^OUTPUT_PATH_ESCAPES: pair0\/ei\d-s\d+\.mp4 would be written outside the output folder: pair0 leads to .*victim through a symbolic link/,
      );
    // The other pair is not held back.
    expect(byPair("pair1").map((task) => task.status)).toEqual(["SUCCEEDED", "SUCCEEDED"]);
    const failures = ws.events.filter((event) => event.kind === "download-failed");
    expect(failures).toHaveLength(2);
  });

  it("a symlinked sub-folder that stays inside the output folder is fine", async () => {
    ws = await createWorkspace({ pairs: 1, intensities: [1, 2] });
    await mkdir(join(ws.outDir, "elsewhere"), { recursive: true });
    await symlink(join(ws.outDir, "elsewhere"), join(ws.outDir, "pair0"));
    const result = await ws.run();
    expect(result.exitCode).toBe(0);
    expect((await readdir(join(ws.outDir, "elsewhere"))).toSorted()).toEqual([
      "ei1-s100.mp4",
      "ei2-s100.mp4",
    ]);
  });
});
