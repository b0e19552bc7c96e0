// Temporary download files an interrupted run left behind (of keys the job may no longer have) are
// removed by the next run instead of piling up in the output folder.
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createWorkspace, type Workspace } from "../e2e/harness.js";

let ws: Workspace | undefined;
afterEach(async () => {
  await ws?.close();
  ws = undefined;
});

describe("temporary download files", () => {
  it("left by an interrupted run are gone after the next run, which writes only whole outputs", async () => {
    ws = await createWorkspace({ pairs: 1, intensities: [1, 2] });
    const partial = join(ws.outDir, ".actbatch", "partial");
    await mkdir(partial, { recursive: true });
    await writeFile(join(partial, "0123456789abcdef-0.part"), Buffer.alloc(64 * 1024, 1));
    const result = await ws.run();
    expect(result.exitCode).toBe(0);
    expect(await readdir(partial).catch(() => [])).toEqual([]);
    expect(result.manifest.tasks.every((task) => task.outputs.length === 1)).toBe(true);
  });
});
