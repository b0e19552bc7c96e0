// The nightly CI workflow of docs/ci.md, replayed against the simulator with the built CLI: shards
// run in their own folders, each folder travels as an artifact does by default (dot-files and
// dot-folders left out, so no .actbatch/), the artifacts are merged, the merged folder is restored
// as a cache restore does, and the job runs again. Work done must never be paid for twice.
import { cp, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readManifest } from "../../src/manifest/manifest.js";
import { runCli, type CliResult } from "../helpers/cli.js";
import { CANARY_KEY, createWorkspace, SPEED, type Workspace } from "./harness.js";

let ws: Workspace | null = null;
afterEach(async () => {
  await ws?.close();
  ws = null;
});

interface RunCounts {
  exitCode: number;
  requests: { create: number; get: number; download: number };
  counts: { succeeded: number; alreadyDone: number; fetchedAgain: number };
  renderedAgain: { key: string }[];
}

function cli(workspace: Workspace, args: string[]): Promise<CliResult> {
  return runCli(args, {
    cwd: workspace.dir,
    env: {
      COMETAPI_KEY: CANARY_KEY,
      ACTBATCH_BASE_URL: workspace.sim.baseUrl,
      ACTBATCH_TIME_SCALE: String(SPEED),
      ACTBATCH_CRASH_AT: "",
    },
  });
}

/** `actbatch run --out DIR --json`: the run's own account of what it asked the API for. */
async function run(workspace: Workspace, out: string, ...args: string[]): Promise<RunCounts> {
  const result = await cli(workspace, ["run", "job.yaml", "--out", out, "--json", ...args]);
  if (result.code !== 0) throw new Error(`run --out ${out} exited ${result.code}:\n${result.stderr}`);
  return (JSON.parse(result.stdout) as { jobs: RunCounts[] }).jobs[0] as RunCounts;
}

/** What actions/upload-artifact keeps by default: every file except dot-files and dot-folders. */
async function copyAsArtifact(from: string, to: string): Promise<void> {
  await cp(from, to, {
    recursive: true,
    filter: (source) =>
      !source
        .slice(from.length)
        .split(/[\\/]/)
        .some((part) => part.startsWith(".")),
  });
}

async function treeOf(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.map((entry) => entry.replaceAll("\\", "/")).toSorted();
}

describe("the nightly CI round trip", () => {
  it("shards, artifacts without .actbatch/, merge, cache restore, rerun: nothing is paid twice", async () => {
    ws = await createWorkspace({ pairs: 3, intensities: [1, 2, 3, 4], concurrency: 4 });
    const { dir, sim } = ws;
    const at = (name: string): string => join(dir, name);

    const shard1 = await run(ws, "shard1", "--shard", "1/2");
    const shard2 = await run(ws, "shard2", "--shard", "2/2");
    expect(shard1.requests.create + shard2.requests.create).toBe(12);
    expect(sim.stats().creates).toBe(12);

    await copyAsArtifact(at("shard1"), at("artifact1"));
    await copyAsArtifact(at("shard2"), at("artifact2"));
    expect((await treeOf(at("artifact1"))).some((path) => path.includes(".actbatch"))).toBe(false);
    const merged = await cli(ws, ["merge", "artifact1", "artifact2", "--out", "merged"]);
    expect(merged.code).toBe(0);
    const mergedManifest = await readFile(join(at("merged"), "manifest.json"));

    // The cache restore: the merged folder, as saved, in a fresh checkout.
    await cp(at("merged"), at("restored"), { recursive: true });
    expect(await cli(ws, ["status", "restored", "--job", "job.yaml"])).toMatchObject({ code: 0 });
    expect(await cli(ws, ["plan", "job.yaml", "--against", "restored", "--exit-code"])).toMatchObject({
      code: 0,
    });
    const rerun = await run(ws, "restored");
    expect(rerun.requests).toMatchObject({ create: 0, get: 0, download: 0 });
    expect(rerun.counts).toMatchObject({ succeeded: 12, alreadyDone: 12 });
    expect(await readFile(join(at("restored"), "manifest.json"))).toEqual(mergedManifest);
    expect(sim.stats().creates).toBe(12);

    // A lost file is fetched again from the task that rendered it: no new render, the same bytes.
    const manifest = await readManifest(at("restored"));
    const first = manifest.tasks[0];
    const file = first?.outputs[0]?.file as string;
    const original = await readFile(join(at("restored"), file));
    await rm(join(at("restored"), file));
    const plan = await cli(ws, ["plan", "job.yaml", "--against", "restored", "--exit-code"]);
    expect(plan.code).toBe(1);
    expect(plan.stdout).toMatch(/fetch again +1 /);
    expect(plan.stdout).toContain("cost of this change: US$0.00");
    expect((await cli(ws, ["status", "restored"])).code).toBe(1);
    const fetched = await run(ws, "restored");
    expect(fetched.requests).toMatchObject({ create: 0, download: 1 });
    expect(fetched.counts).toMatchObject({ alreadyDone: 11, fetchedAgain: 1 });
    expect(await readFile(join(at("restored"), file))).toEqual(original);
    expect(await readFile(join(at("restored"), "manifest.json"))).toEqual(mergedManifest);
    expect(sim.stats().creates).toBe(12);

    // The job file grows: the status gate names the task the folder does not hold yet.
    await ws.writeJob({ pairs: 3, intensities: [1, 2, 3, 4, 5], concurrency: 4 });
    const gate = await cli(ws, ["status", "restored", "--job", "job.yaml"]);
    expect(gate.code).toBe(1);
    expect(gate.stdout).toContain("3 of 15 tasks not in this folder (3 new, 0 changed since)");
  });

  it("renders a lost output again, and says so, only once the provider no longer has its task", async () => {
    ws = await createWorkspace({ pairs: 1, intensities: [1, 3] });
    const { dir, sim } = ws;
    await run(ws, "out");
    await rm(join(dir, "out", ".actbatch"), { recursive: true });
    const before = await readManifest(join(dir, "out"));
    const lost = before.tasks[1];
    if (!lost?.taskId) throw new Error("the task has no id");
    await rm(join(dir, "out", lost.outputs[0]?.file as string));
    // The provider forgets the task (a DELETE: GET answers 404 from then on).
    const deleted = await fetch(`${sim.baseUrl}/v1/tasks/${lost.taskId}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${CANARY_KEY}`, "x-runway-version": "2024-11-06" },
    });
    expect(deleted.status).toBe(204);

    const again = await run(ws, "out");
    expect(again.requests.create).toBe(1);
    expect(again.renderedAgain.map((task) => task.key)).toEqual([lost.key]);
    const after = await readManifest(join(dir, "out"));
    const record = after.tasks.find((task) => task.key === lost.key);
    expect(record).toMatchObject({ status: "SUCCEEDED", attempts: 2, possiblyChargedTwice: false });
    expect(record?.history).toEqual([
      {
        attempt: 1,
        taskId: lost.taskId,
        status: "SUCCEEDED",
        error: {
          code: "OUTPUT_LOST",
          message: "output lost and task expired: rendered again, paid again",
          retryable: true,
        },
      },
    ]);
    expect(sim.stats().creates).toBe(3);
  });

  it("polls the tasks in flight that an interrupted shard recorded, never submitting them again", async () => {
    ws = await createWorkspace({ pairs: 2, intensities: [1, 3], concurrency: 4 });
    const { dir, sim } = ws;
    const stop = new AbortController();
    // The in-process run is stopped once every slot has a task in flight (an awaited event, no timer).
    let submitted = 0;
    const interrupted = await ws.run({
      outDir: "out",
      signal: stop.signal,
      onEvent: (event) => {
        if (event.kind === "task-submitted" && ++submitted === 4) stop.abort("SIGINT");
      },
    });
    expect(interrupted.exitCode).toBe(130);
    const inFlight = interrupted.manifest.tasks.filter(
      (task) => task.taskId !== null && task.status !== "SUCCEEDED",
    );
    expect(inFlight.length).toBeGreaterThan(0);
    await rm(join(dir, "out", ".actbatch"), { recursive: true });
    await copyAsArtifact(join(dir, "out"), join(dir, "artifact"));

    const resumed = await run(ws, "artifact");
    expect(resumed.requests.create).toBe(0);
    expect(resumed.counts.succeeded).toBe(4);
    expect(sim.stats().creates).toBe(4);
    const manifest = await readManifest(join(dir, "artifact"));
    for (const task of inFlight)
      expect(manifest.tasks.find((t) => t.key === task.key)).toMatchObject({
        taskId: task.taskId,
        status: "SUCCEEDED",
        attempts: 1,
      });
  });
});
