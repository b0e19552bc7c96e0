// A rerun trusts an output unchanged since it was last hashed (size, mtime, ctime, inode), and still
// finds one whose bytes changed, even with its size and modification time put back.
import { readFile, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createWorkspace, sha256, type Workspace } from "../e2e/harness.js";

let ws: Workspace | undefined;
afterEach(async () => {
  await ws?.close();
  ws = undefined;
});

describe("the hash cache of a rerun", () => {
  it("records each verified output's hash and stamp, and a same-size edit with its mtime put back is still caught", async () => {
    ws = await createWorkspace({ pairs: 1, intensities: [1, 2, 3] });
    const first = await ws.run();
    expect(first.exitCode).toBe(0);
    // The first rerun hashes every output once and remembers it.
    expect((await ws.run()).exitCode).toBe(0);
    const cache = JSON.parse(await readFile(join(ws.outDir, ".actbatch", "hashes.json"), "utf8")) as {
      files: Record<string, { sha256: string; size: number }>;
    };
    const outputs = first.manifest.tasks.flatMap((task) => task.outputs);
    expect(Object.keys(cache.files).toSorted()).toEqual(outputs.map((output) => output.file).toSorted());
    for (const output of outputs)
      expect(cache.files[output.file]).toMatchObject({ sha256: output.sha256, size: output.bytes });

    // Flip one byte, keep the size, put the modification time back: only the change time tells.
    const victim = outputs[0];
    if (!victim) throw new Error("no output");
    const path = join(ws.outDir, victim.file);
    const before = await stat(path);
    const bytes = await readFile(path);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff;
    await writeFile(path, bytes);
    await utimes(path, before.atime, before.mtime);
    const creates = ws.sim.stats().creates;
    const repaired = await ws.run();
    expect(repaired.exitCode).toBe(0);
    // Downloaded again from the task (no new render), and whole.
    expect(ws.sim.stats().creates).toBe(creates);
    expect(sha256(await readFile(path))).toBe(victim.sha256);
  });
});
