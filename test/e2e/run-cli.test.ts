// `actbatch run` through the built CLI binary, in its own process, against the simulator on loopback.
import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CRASH_POINTS, type CrashPoint } from "../../src/crash-points.js";
import { readManifest } from "../../src/manifest/manifest.js";
import type { Manifest } from "../../src/manifest/types.js";
import { binPath, runCli, type CliResult } from "../helpers/cli.js";
import {
  CANARY_KEY,
  createWorkspace,
  expectOutputsMatchSimulator,
  jobYaml,
  keyForms,
  readTree,
  SPEED,
  totalRequests,
  type Workspace,
} from "./harness.js";

let ws: Workspace | null = null;
afterEach(async () => {
  await ws?.close();
  ws = null;
});

function cliEnv(workspace: Workspace, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    COMETAPI_KEY: CANARY_KEY,
    ACTBATCH_BASE_URL: workspace.sim.baseUrl,
    ACTBATCH_TIME_SCALE: String(SPEED),
    ACTBATCH_CRASH_AT: "",
    ...extra,
  };
}

function run(workspace: Workspace, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return runCli(["run", "job.yaml", ...args], { cwd: workspace.dir, env: cliEnv(workspace, env) });
}

/**
 * Nothing paid is lost: every task the simulator created for a key is accounted for by that key's
 * attempts (by its task id, or as an ambiguous attempt), and a key created twice is flagged.
 */
function expectEveryCreateAccountedFor(workspace: Workspace, manifest: Manifest): void {
  const stats = workspace.sim.stats();
  const problems: string[] = [];
  for (const task of [...manifest.tasks, ...manifest.orphans]) {
    const created = stats.tasks.filter((t) => t.key === task.key);
    const known = new Set([task.taskId, ...task.history.map((a) => a.taskId)]);
    const unknown = created.filter((t) => !known.has(t.id)).length;
    const ambiguous = task.history.filter((a) => a.status === "AMBIGUOUS").length;
    if (created.length > task.attempts)
      problems.push(`${task.key}: ${created.length} creates, ${task.attempts} attempts`);
    if (unknown > ambiguous) problems.push(`${task.key}: ${unknown} created tasks not in the manifest`);
    if (created.length > 1 && !task.possiblyChargedTwice)
      problems.push(`${task.key}: created twice, not flagged`);
  }
  expect(problems).toEqual([]);
}

/** What a kill at each point must lead to (other slots may be mid-create at the moment of the kill). */
const AFTER_CRASH: Record<CrashPoint, { duplicated?: boolean; flagged?: boolean }> = {
  // The POST never left: no duplicate, but the rerun cannot know that and flags the resubmission.
  "after-intent": { duplicated: false, flagged: true },
  // The service created a task whose id never reached the disk: resubmitted, and reported.
  "after-create-response": { duplicated: true, flagged: true },
  "after-created-record": {},
  "mid-download": {},
  "before-rename": {},
  "mid-manifest": {},
};

describe("actbatch run (CLI)", () => {
  it("runs a job end to end: exit 0, plain progress on stderr, the --json summary on stdout", async () => {
    ws = await createWorkspace({ pairs: 2, intensities: [1, 2] });
    const result = await run(ws, ["--json", "--concurrency", "2"]);
    expect(result.stderr).toMatch(/^\d\d:\d\d:\d\d started: 4 tasks/m);
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as {
      exitCode: number;
      jobs: { counts: { succeeded: number } }[];
    };
    expect(summary.exitCode).toBe(0);
    expect(summary.jobs[0]?.counts.succeeded).toBe(4);
    expect(result.stderr).toContain("4 succeeded");
    expect(ws.sim.stats().peakActive).toBe(2);
    await expectOutputsMatchSimulator(ws);
    const before = totalRequests(ws.sim);
    const manifest = await readFile(join(ws.outDir, "manifest.json"));
    const again = await run(ws);
    expect(again.code).toBe(0);
    expect(totalRequests(ws.sim)).toBe(before);
    expect(await readFile(join(ws.outDir, "manifest.json"))).toEqual(manifest);
  });

  it("checks every job file before submitting anything (exit 2)", async () => {
    ws = await createWorkspace({ pairs: 1, intensities: [1] });
    await writeFile(
      join(ws.dir, "bad.yaml"),
      jobYaml().replace("expressionIntensity:", "expresionIntensity:"),
    );
    const result = await runCli(["run", "job.yaml", "bad.yaml"], { cwd: ws.dir, env: cliEnv(ws) });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("bad.yaml");
    expect(ws.sim.stats().creates).toBe(0);
  });

  it("rejects bad flags with usage (exit 2)", async () => {
    ws = await createWorkspace({ pairs: 1, intensities: [1] });
    for (const args of [
      ["--shard", "3/2"],
      ["--concurrency", "0"],
      ["--provider", "openai"],
      ["--max-output-mb", "0"],
      ["--max-output-mb", "abc"],
    ]) {
      const result = await run(ws, args);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('Run "actbatch run --help"');
    }
    expect(totalRequests(ws.sim)).toBe(0);
    const help = await runCli(["run", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("ACTBATCH_TIME_SCALE");
  });

  it("runs several job files one after another; the exit code is the worst of them", async () => {
    ws = await createWorkspace({ pairs: 1, intensities: [1] }, { failureCodes: ["ASSET.INVALID"] });
    const second = jobYaml({ name: "second", pairs: 1, intensities: [2] }).replace(
      'dir: "out"',
      'dir: "out2"',
    );
    await writeFile(join(ws.dir, "second.yaml"), second);
    ws.sim.setFaults("fail=1");
    const first = await runCli(["run", "second.yaml"], { cwd: ws.dir, env: cliEnv(ws) });
    expect(first.code).toBe(1);
    ws.sim.setFaults(undefined);
    const both = await runCli(["run", "job.yaml", "second.yaml", "--json"], { cwd: ws.dir, env: cliEnv(ws) });
    const summary = JSON.parse(both.stdout) as {
      exitCode: number;
      jobs: { job: string; exitCode: number }[];
    };
    expect(summary.jobs.map((j) => [j.job, j.exitCode])).toEqual([
      ["e2e", 0],
      ["second", 1],
    ]);
    expect(summary.exitCode).toBe(1);
    expect(both.code).toBe(1);
  });

  it("exits 1 naming each failed task with its pair, params and error", async () => {
    ws = await createWorkspace(
      { pairs: 1, intensities: [1, 2] },
      { faults: "fail=1", failureCodes: ["ASSET.INVALID"] },
    );
    const result = await run(ws);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /failed \(2\):\n {2}pair0 expressionIntensity=1 \[[0-9a-f]{16}\]: ASSET\.INVALID: /,
    );
  });

  it("exits 3 with one clear message when the account runs out of credits", async () => {
    ws = await createWorkspace(
      { pairs: 2, intensities: [1, 2, 3], concurrency: 2 },
      { credits: 10, taskCost: 5 },
    );
    const result = await run(ws);
    expect(result.code).toBe(3);
    expect(result.stderr.match(/no credits left/g)).toHaveLength(2); // the event line, and the summary
    expect(result.stderr).toContain("4 tasks were not submitted");
  });

  it.each([
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const)(
    "on %s stops submitting, keeps every task id and exits %i; the rerun creates nothing twice",
    async (signal, code) => {
      ws = await createWorkspace({ pairs: 2, intensities: [1, 2, 3], concurrency: 2 });
      const child = spawn(process.execPath, [binPath, "run", "job.yaml"], {
        cwd: ws.dir,
        env: { ...process.env, CI: "true", ...cliEnv(ws) },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      const exited = new Promise<number | null>((resolve) =>
        child.on("close", (exitCode) => resolve(exitCode)),
      );
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
        stderr += chunk;
        if ((stderr.match(/ submitted /g) ?? []).length === 2 && !child.killed) child.kill(signal);
      });
      expect(await exited).toBe(code);
      expect(stderr).toContain(`${signal}: stopping`);
      const manifest = await readManifest(ws.outDir);
      expect(manifest.tasks.some((t) => t.status === "NOT_SUBMITTED")).toBe(true);
      const result = await run(ws);
      expect(result.code).toBe(0);
      expect(Object.values(ws.sim.stats().createsByKey).every((n) => n === 1)).toBe(true);
      await expectOutputsMatchSimulator(ws);
    },
  );

  describe("kill -9 at every crash point, then rerun", () => {
    it.each(CRASH_POINTS.map((point) => [point]))(
      "%s: nothing paid is lost, files are correct",
      async (point: CrashPoint) => {
        ws = await createWorkspace({ pairs: 1, intensities: [1, 2, 3], concurrency: 2 });
        const crashed = await run(ws, [], { ACTBATCH_CRASH_AT: point });
        expect(crashed.signal).toBe("SIGKILL");
        const result = await run(ws);
        expect({ code: result.code, stderr: result.stderr }).toMatchObject({ code: 0 });
        const manifest = await expectOutputsMatchSimulator(ws);
        expectEveryCreateAccountedFor(ws, manifest);
        const duplicates = Object.values(ws.sim.stats().createsByKey).filter((n) => n > 1).length;
        const flagged = manifest.summary.possiblyChargedTwice;
        expect({ duplicated: duplicates > 0, flagged: flagged > 0 }).toMatchObject(AFTER_CRASH[point]);
        expect(result.stderr.includes("possibly charged twice")).toBe(flagged > 0);
        // A third run is a no-op.
        const before = totalRequests(ws.sim);
        expect((await run(ws)).code).toBe(0);
        expect(totalRequests(ws.sim)).toBe(before);
      },
    );
  });

  it("never shows the key on stdout or stderr, nor writes it to any file", async () => {
    ws = await createWorkspace(
      { pairs: 1, intensities: [1, 2] },
      { faults: "get:5xx=0.3,create:lost=0.3,download:truncate=0.3" },
    );
    const result = await run(ws, ["--json"]);
    for (const form of keyForms(CANARY_KEY)) {
      expect(result.stdout).not.toContain(form);
      expect(result.stderr).not.toContain(form);
    }
    for (const file of await readTree(ws.dir))
      for (const form of keyForms(CANARY_KEY)) expect(file.bytes.includes(form)).toBe(false);
  });
});

describe("actbatch run --simulate", () => {
  it("renders a job against the in-process simulator with real files, no key needed", async () => {
    ws = await createWorkspace({ pairs: 1, intensities: [1, 2] });
    const result = await runCli(["run", "job.yaml", "--simulate", "--json"], {
      cwd: ws.dir,
      env: { COMETAPI_KEY: "", ACTBATCH_BASE_URL: "", ACTBATCH_TIME_SCALE: "200" },
    });
    expect({ code: result.code, stderr: result.stderr }).toMatchObject({ code: 0 });
    const manifest = await readManifest(ws.outDir);
    expect(manifest.summary.succeeded).toBe(2);
    for (const task of manifest.tasks) {
      const bytes = await readFile(join(ws.outDir, task.outputs[0]!.file));
      expect(bytes.subarray(4, 8).toString("latin1")).toBe("ftyp"); // a real MP4
    }
  });
});
