// A full disk is a clear stop, not a bug report: with the output folder on a tiny tmpfs, the run stops
// at the first ENOSPC (no write retried), says where and how much the rest needs, exits 4 with the
// journal and the last manifest readable; with space freed, a rerun fetches the paid renders from
// their tasks without paying again. Needs a tmpfs mount (root, as CI runs): skipped where there is none.
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readJournal } from "../../src/journal/writer.js";
import { readManifest } from "../../src/manifest/manifest.js";
import { formatRunSummary } from "../../src/report/run-summary-text.js";
import { createWorkspace, jobYaml, type Workspace } from "../e2e/harness.js";

/** A fresh tmpfs of `size` at a new folder, or null where this machine cannot mount one. */
async function mountTmpfs(size: string): Promise<string | null> {
  const dir = await mkdtemp(join(tmpdir(), "actbatch-tmpfs-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir], { stdio: "ignore" });
    return dir;
  } catch {
    await rm(dir, { recursive: true, force: true });
    return null;
  }
}

const probe = await mountTmpfs("64k");
if (probe) {
  execFileSync("umount", [probe]);
  await rm(probe, { recursive: true, force: true });
}

let ws: Workspace | undefined;
let mounted: string | null = null;
afterEach(async () => {
  await ws?.close();
  if (mounted) {
    execFileSync("umount", [mounted]);
    await rm(mounted, { recursive: true, force: true });
  }
  ws = undefined;
  mounted = null;
});

describe.skipIf(probe === null)("a full disk (tmpfs)", () => {
  it("stops once with exit 4, keeps the journal and the manifest readable, and a rerun with space pays nothing again", async () => {
    mounted = await mountTmpfs("160k");
    if (!mounted) throw new Error("tmpfs mount failed");
    const outDir = join(mounted, "out");
    ws = await createWorkspace(jobYaml({ pairs: 3, intensities: [1, 2], concurrency: 2 }), {
      outputBytes: 48 * 1024,
    });
    const full = await ws.run({ outDir, preflight: false, outputChecks: false });

    expect(full.exitCode).toBe(4);
    const stops = ws.events.filter((event) => event.kind === "submission-stopped");
    expect(stops).toHaveLength(1);
    const message = stops[0]?.kind === "submission-stopped" ? stops[0].message : "";
    expect(message).toContain(`the disk is full where the output folder is (${outDir}, ENOSPC)`);
    expect(message).toMatch(/The remaining \d+ outputs? need about \d+ MB: free it, then rerun/);
    // Not retried: no output file fails twice.
    const failedFiles = ws.events.flatMap((event) => (event.kind === "download-failed" ? [event.file] : []));
    expect(new Set(failedFiles).size).toBe(failedFiles.length);
    // What is on disk is readable: the journal, and a manifest (the last one that fitted).
    await expect(readJournal(outDir)).resolves.toHaveProperty("records");
    await expect(readManifest(outDir)).resolves.toMatchObject({ job: "e2e" });
    expect(full.summary.stop?.reason).toBe("disk-full");

    execFileSync("mount", ["-o", "remount,size=8m", mounted]);
    // Every render known to be paid (its task id on disk) is fetched from its task, never created again.
    const paidKeys = full.manifest.tasks.filter((task) => task.taskId !== null).map((task) => task.key);
    expect(paidKeys.length).toBeGreaterThan(0);
    const before = ws.sim.stats().createsByKey;
    const rerun = await ws.run({ outDir, preflight: false, outputChecks: false });
    expect({ exitCode: rerun.exitCode, summary: formatRunSummary(rerun.summary) }).toMatchObject({
      exitCode: 0,
    });
    const after = ws.sim.stats().createsByKey;
    expect(paidKeys.map((key) => after[key])).toEqual(paidKeys.map((key) => before[key]));
    expect(rerun.manifest.tasks.every((task) => task.status === "SUCCEEDED")).toBe(true);
  });
});
