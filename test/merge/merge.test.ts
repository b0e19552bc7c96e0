import { cp, mkdtemp, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { readManifest } from "../../src/manifest/manifest.js";
import { verifyOutputs } from "../../src/manifest/verify.js";
import { captureIo } from "../helpers/capture-io.js";
import { renderDemo } from "../helpers/demo-output.js";

let root: string;
let shard1: string;
let shard2: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "actbatch-merge-"));
  [shard1, shard2] = await Promise.all([
    renderDemo(["--shard", "1/2"], join(root, "shard-1")),
    renderDemo(["--shard", "2/2"], join(root, "shard-2")),
  ]);
}, 60_000);

async function merge(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const captured = captureIo(root);
  const code = await main(["merge", ...args], captured.io);
  return { code, stdout: captured.stdout(), stderr: captured.stderr() };
}

describe("actbatch merge", () => {
  it("merges the shards of the demo into one folder whose manifest and files check out", async () => {
    const [a, b] = [await readManifest(shard1), await readManifest(shard2)];
    // Each shard rendered part of the job and recorded the rest as not submitted.
    expect(a.summary.succeeded).toBeGreaterThan(0);
    expect(b.summary.succeeded).toBeGreaterThan(0);
    expect(a.summary.succeeded + b.summary.succeeded).toBe(12);

    const result = await merge(["shard-1", "shard-2", "--out", "merged"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("merged 2 folders: 12 tasks (12 succeeded, 0 failed, 0 pending)");
    const merged = await readManifest(join(root, "merged"));
    expect(merged.tasks.map((task) => task.key)).toEqual(a.tasks.map((task) => task.key));
    expect(merged.summary).toMatchObject({ total: 12, succeeded: 12, pending: 0 });
    expect(await verifyOutputs(join(root, "merged"), merged)).toEqual({ checked: 12, problems: [] });

    // Merging again, the merged folder among the inputs, changes nothing.
    const before = await readFile(join(root, "merged", "manifest.json"), "utf8");
    const again = await merge(["merged", "shard-2", "--out", "merged", "--json"]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ files: { linked: 0, copied: 0, present: 12 } });
    expect(await readFile(join(root, "merged", "manifest.json"), "utf8")).toBe(before);
  });

  it("merges shards that each started from the same restored cache (the nightly CI case)", async () => {
    expect((await merge(["shard-1", "shard-2", "--out", "cached"])).code).toBe(0);
    for (const shard of ["1", "2"])
      await cp(join(root, "cached"), join(root, `cached-${shard}`), { recursive: true });
    const [a, b] = await Promise.all([
      renderDemo(["--shard", "1/2"], join(root, "cached-1")),
      renderDemo(["--shard", "2/2"], join(root, "cached-2")),
    ]);
    const result = await merge([a, b, "--out", "cached-merged", "--json"]);
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.stdout)).toMatchObject({ summary: { total: 12, succeeded: 12 } });
  });

  it("refuses a task two folders each ran, naming both records", async () => {
    // A full run of the job also ran every task of shard 1, under other task ids.
    await renderDemo([], join(root, "full"));
    const result = await merge(["shard-1", "full", "--out", "conflict"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /refusing to merge: \d+ tasks? (is|are) recorded differently by two folders/,
    );
    expect(result.stderr).toMatch(/shard-1: SUCCEEDED, task id [0-9a-f-]+.*full: SUCCEEDED, task id /);
    await expect(stat(join(root, "conflict", "manifest.json"))).rejects.toThrow(/ENOENT/);
  });

  it("refuses a file whose content no longer matches its manifest", async () => {
    const a = await readManifest(shard1);
    const file = a.tasks.find((task) => task.status === "SUCCEEDED")!.outputs[0]!.file;
    const copy = join(root, "tampered");
    expect((await merge(["shard-1", "--out", "tampered", "--copy"])).code).toBe(0);
    await writeFile(join(copy, file), "not a video");
    const result = await merge(["shard-2", "--out", "other"]);
    expect(result.code).toBe(0);
    const tampered = await merge(["tampered", "shard-2", "--out", "from-tampered"]);
    expect(tampered.code).toBe(2);
    expect(tampered.stderr).toContain(`no folder holds its file intact`);
    expect(tampered.stderr).toContain(`${file} has 11 bytes`);
  });

  it("refuses folders of different job files, and a target that holds another manifest", async () => {
    const manifestPath = join(root, "shard-2", "manifest.json");
    const edited = join(root, "edited");
    const text = (await readFile(manifestPath, "utf8")).replace(
      /"sha256": "[0-9a-f]{64}"/,
      `"sha256": "${"c".repeat(64)}"`,
    );
    expect((await merge(["shard-2", "--out", "edited"])).code).toBe(0);
    await writeFile(join(edited, "manifest.json"), text);
    const result = await merge(["shard-1", "edited", "--out", "mixed"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("refusing to merge runs of different job files");

    const occupied = await merge(["shard-1", "--out", "edited"]);
    expect(occupied.code).toBe(2);
    expect(occupied.stderr).toContain("already holds a manifest");
  });

  it("asks for --out", async () => {
    const result = await merge(["shard-1"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--out DIR is required");
  });
});
