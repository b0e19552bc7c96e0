import { hostname } from "node:os";
import { mkdir, utimes, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { assembleManifest, writeManifest } from "../../src/manifest/manifest.js";
import type { StatusReport } from "../../src/manifest/status-report.js";
import type { ManifestTask } from "../../src/manifest/types.js";
import type { TaskPlan } from "../../src/job/types.js";
import { runCli } from "../helpers/cli.js";
import {
  failedTask,
  pendingTask,
  planOf,
  succeededTask,
  taskPlanFor,
  withTempDir,
} from "../helpers/manifest-fixtures.js";
import {
  ambiguous,
  created,
  intent,
  journalText,
  output,
  succeeded,
  writeJournal,
} from "../helpers/journal-fixtures.js";

const plan = planOf(8);
const task = (index: number) => plan.tasks[index] as TaskPlan;

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

async function status(args: string[]): Promise<Outcome> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
  stderr.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
  const code = await main(["status", ...args], { stdout, stderr, env: {}, cwd: process.cwd() });
  return { code, stdout: out, stderr: err };
}

/** A finished run: 3 succeeded (one after a possible double charge), 1 final failure, 1 retryable failure, rest not finished. */
function finishedRecords(): ManifestTask[] {
  return [
    succeededTask(task(0)),
    succeededTask(task(1)),
    {
      ...succeededTask(task(2)),
      attempts: 2,
      possiblyChargedTwice: true,
      history: [{ attempt: 1, taskId: null, status: "AMBIGUOUS", error: null }],
    },
    failedTask(task(3)),
    failedTask(task(4), "INTERNAL", true),
    pendingTask(task(5), "RUNNING"),
  ];
}

async function writeOutputs(dir: string, tasks: TaskPlan[]): Promise<void> {
  for (const planned of tasks) {
    await mkdir(dirname(join(dir, planned.output)), { recursive: true });
    await writeFile(join(dir, planned.output), `video of ${planned.key}`);
  }
}

async function setMtime(path: string, when: Date): Promise<void> {
  await utimes(path, when, when);
}

describe("actbatch status on a finished run", () => {
  it("prints totals, per-status counts, failures with pair, params and error, double charges and how to resume", async () => {
    await withTempDir(async (dir) => {
      const orphan = { ...succeededTask(taskPlanFor(50, "old-pair", 500)), possiblyChargedTwice: false };
      await writeManifest(dir, assembleManifest({ plan, tasks: finishedRecords(), orphans: [orphan] }));
      await writeOutputs(dir, [task(0), task(1), task(2)]);
      const { code, stdout, stderr } = await status([dir]);
      expect(stderr).toBe("");
      // A CI gate: failed and unfinished tasks make it exit 1.
      expect(code).toBe(1);
      expect(stdout).toContain(`Job hero-closeups (jobs/hero.yaml, sha256 `);
      expect(stdout).toContain(`Output folder: ${dir}`);
      expect(stdout).toContain("8 tasks: 3 succeeded, 2 failed, 3 not finished");
      expect(stdout).toMatch(/ {2}SUCCEEDED +3\n {2}FAILED +2\n {2}RUNNING +1\n {2}NOT_SUBMITTED +2\n/);
      expect(stdout).toContain(
        `Failed (2):\n  hero-take2 expressionIntensity=3 seed=4 [${task(3).key}]: SAFETY.INPUT.IMAGE: The character image was flagged by moderation.\n`,
      );
      expect(stdout).toContain(
        `[${task(4).key}]: INTERNAL: The character image was flagged by moderation. (retryable)`,
      );
      expect(stdout).toContain(`Possibly charged twice (1)`);
      expect(stdout).toContain(
        `hero-take1 expressionIntensity=3 seed=3 [${task(2).key}]: 2 creates, task ids task-${task(2).key}; 1 with no task id (the service may have created it)`,
      );
      expect(stdout).toContain("1 paid task no longer in the job file is kept in the manifest as orphans.");
      expect(stdout).toContain(`To resume: actbatch run jobs/hero.yaml --out ${dir}`);
      expect(stdout).toContain(
        "1 final failure (moderation, invalid asset…) is only resubmitted with --retry-failed",
      );
      expect(stdout).not.toContain("journal");
    });
  });

  it("says so when every task succeeded", async () => {
    await withTempDir(async (dir) => {
      const small = planOf(2);
      const manifestPath = await writeManifest(
        dir,
        assembleManifest({ plan: small, tasks: small.tasks.map((planned) => succeededTask(planned)) }),
      );
      await writeOutputs(dir, small.tasks);
      const { code, stdout } = await status([manifestPath]);
      expect(code).toBe(0);
      expect(stdout).toContain("2 tasks: 2 succeeded, 0 failed, 0 not finished");
      expect(stdout).toContain("All tasks succeeded.");
      expect(stdout).not.toContain("To resume");
    });
  });

  it("prints one JSON object with --json", async () => {
    await withTempDir(async (dir) => {
      await writeManifest(dir, assembleManifest({ plan, tasks: finishedRecords() }));
      const { code, stdout } = await status([dir, "--json"]);
      expect(code).toBe(1);
      const report = JSON.parse(stdout) as StatusReport;
      expect(report.exitCode).toBe(1);
      expect(report.outputDir).toBe(dir);
      expect(report.manifest?.summary).toEqual({
        total: 8,
        succeeded: 3,
        failed: 2,
        pending: 3,
        possiblyChargedTwice: 1,
      });
      expect(report.manifest?.statuses).toMatchObject({
        SUCCEEDED: 3,
        FAILED: 2,
        RUNNING: 1,
        NOT_SUBMITTED: 2,
        AMBIGUOUS: 0,
      });
      expect(report.manifest?.failed.map((line) => [line.pair, line.params, line.error?.code])).toEqual([
        ["hero-take2", { expressionIntensity: 3, seed: 4 }, "SAFETY.INPUT.IMAGE"],
        ["hero-take1", { expressionIntensity: 3, seed: 5 }, "INTERNAL"],
      ]);
      expect(report.journal).toBeNull();
      expect(report.resumable).toBe(3);
    });
  });

  it("with --verify, passes matching files and exits 1 naming a file edited after the run", async () => {
    await withTempDir(async (dir) => {
      const small = planOf(3);
      await writeManifest(
        dir,
        assembleManifest({ plan: small, tasks: small.tasks.map((planned) => succeededTask(planned)) }),
      );
      await writeOutputs(dir, small.tasks);
      const clean = await status([dir, "--verify"]);
      expect(clean.code).toBe(0);
      expect(clean.stdout).toContain("Verified 3 output files (all hashed): all match the manifest.");
      await writeFile(join(dir, task(1).output), `video of ${task(1).key}, edited`);
      const edited = await status([dir, "--verify"]);
      expect(edited.code).toBe(1);
      expect(edited.stdout).toContain(
        `Verified 3 output files (all hashed): 1 does not match the manifest:\n  ${task(1).output} [${task(1).key}]: has`,
      );
      expect(edited.stdout).toContain(
        `Files that do not match are downloaded again from their tasks (no new render) by: actbatch run`,
      );
      expect(edited.stdout).not.toContain(`--force`);
    });
  });

  it("does not report a journal that is older than the manifest", async () => {
    await withTempDir(async (dir) => {
      const manifestPath = await writeManifest(dir, assembleManifest({ plan, tasks: finishedRecords() }));
      const journal = await writeJournal(dir, journalText([intent(task(6)), created(task(6))]));
      await setMtime(journal, new Date("2026-01-01T00:00:00Z"));
      await setMtime(manifestPath, new Date("2026-01-01T00:01:00Z"));
      const { stdout } = await status([dir]);
      expect(stdout).not.toContain("journal");
    });
  });
});

describe("actbatch status as a CI gate", () => {
  const small = planOf(3);
  const done = (): ManifestTask[] => small.tasks.map((planned) => succeededTask(planned));

  it("exits 0 only while every task succeeded with its file intact and its checks passed", async () => {
    await withTempDir(async (dir) => {
      await writeManifest(dir, assembleManifest({ plan: small, tasks: done() }));
      await writeOutputs(dir, small.tasks);
      expect((await status([dir])).code).toBe(0);

      const planned = small.tasks[1] as TaskPlan;
      await writeFile(join(dir, planned.output), "x");
      const damaged = await status([dir]);
      expect(damaged.code).toBe(1);
      expect(damaged.stdout).toContain(`${planned.output} [${planned.key}]: has 1 bytes`);
    });
  });

  it("exits 1 when an output failed its MP4 checks, naming the file", async () => {
    await withTempDir(async (dir) => {
      const tasks = done();
      const first = tasks[0] as ManifestTask;
      tasks[0] = {
        ...first,
        outputs: first.outputs.map((o) => ({
          ...o,
          checks: [{ name: "ratio", ok: false, expected: "16:9", actual: "1:1" }],
        })),
      };
      await writeManifest(dir, assembleManifest({ plan: small, tasks }));
      await writeOutputs(dir, small.tasks);
      const { code, stdout } = await status([dir]);
      expect(code).toBe(1);
      expect(stdout).toContain(`Output checks failed (1): the render does not match its request:`);
      expect(stdout).toContain(`${first.outputs[0]?.file} [${first.key}]: ratio`);
    });
  });

  it("does not fail on an orphan's missing file: only the job's tasks decide", async () => {
    await withTempDir(async (dir) => {
      const orphan = succeededTask(taskPlanFor(50, "old-pair", 500));
      await writeManifest(dir, assembleManifest({ plan: small, tasks: done(), orphans: [orphan] }));
      await writeOutputs(dir, small.tasks);
      const { code, stdout } = await status([dir]);
      expect(stdout).toContain(`${orphan.outputs[0]?.file} [${orphan.key}]: missing`);
      expect(code).toBe(0);
    });
  });
});

describe("actbatch status on an interrupted run", () => {
  it("reports what the journal shows when the run was killed before writing a manifest", async () => {
    await withTempDir(async (dir) => {
      const text = journalText([
        intent(task(0)),
        created(task(0)),
        succeeded(task(0)),
        output(task(0), "video"),
        intent(task(1)),
        created(task(1)),
        intent(task(2)),
        intent(task(3)),
        created(task(3)),
        succeeded(task(3)),
        intent(task(4)),
        ambiguous(task(4)),
      ]);
      // kill -9 while appending: half a record at the end.
      const torn = journalText([created(task(2))]).slice(0, 30);
      await writeJournal(dir, text + torn);
      const { code, stdout } = await status([dir]);
      // No manifest: the journal's story is told, and the gate says the folder proves nothing yet.
      expect(code).toBe(2);
      expect(stdout).toContain(`No manifest in ${dir} yet: the run was interrupted before writing one.`);
      expect(stdout).toContain("shows 5 tasks:");
      expect(stdout).toContain("finished: 1 succeeded");
      expect(stdout).toContain("2 creates sent with no answer recorded (possibly created and paid):");
      expect(stdout).toContain(`hero-take1 expressionIntensity=3 seed=3 [${task(2).key}] attempt 1`);
      expect(stdout).toContain(`hero-take1 expressionIntensity=3 seed=5 [${task(4).key}] attempt 1`);
      expect(stdout).toContain(
        `1 task submitted and not finished:\n    hero-take2 expressionIntensity=3 seed=2 [${task(1).key}] attempt 1, task task-${task(1).key}-1`,
      );
      expect(stdout).toContain("1 task succeeded, outputs not downloaded yet:");
      expect(stdout).toContain("its last record was cut short by the interruption and is ignored");
      expect(stdout).toContain("To resume: the same actbatch run command (same job file and output folder)");
      expect(stdout).toContain("never resubmitting them");
      expect(stdout).toContain("--no-resubmit-ambiguous");
    });
  });

  it("reports journal records newer than the manifest (killed after a checkpoint)", async () => {
    await withTempDir(async (dir) => {
      // The checkpoint manifest saw tasks 0-1 done and nothing else sent.
      const manifestPath = await writeManifest(
        dir,
        assembleManifest({ plan, tasks: [succeededTask(task(0)), succeededTask(task(1))] }),
      );
      const journal = await writeJournal(
        dir,
        journalText([
          intent(task(0)),
          created(task(0), 1, `task-${task(0).key}`),
          succeeded(task(0), 1, `task-${task(0).key}`),
          output(task(0), `video of ${task(0).key}`, 1, `task-${task(0).key}`),
          intent(task(6)),
          created(task(6)),
          intent(task(7)),
        ]),
      );
      await setMtime(manifestPath, new Date("2026-01-01T00:00:00Z"));
      await setMtime(journal, new Date("2026-01-01T00:05:00Z"));
      const { stdout } = await status([dir]);
      expect(stdout).toContain("8 tasks: 2 succeeded, 0 failed, 6 not finished");
      expect(stdout).toContain("The last run was interrupted after its last manifest write; its journal (");
      expect(stdout).toContain(`1 create sent with no answer recorded`);
      expect(stdout).toContain(`1 task submitted and not finished`);
      expect(stdout).toContain(`1 task id not in the manifest yet: task-${task(6).key}-1`);
      expect(stdout).toContain(`To resume: actbatch run jobs/hero.yaml --out ${dir}`);

      const report = JSON.parse((await status([dir, "--json"])).stdout) as StatusReport;
      expect(report.journal?.reason).toBe("newer-than-manifest");
      expect(report.journal?.inFlight.map((line) => line.key)).toEqual([task(6).key]);
      expect(report.journal?.unanswered.map((line) => line.key)).toEqual([task(7).key]);
    });
  });

  it("says a run is in progress when a live process holds the folder's lock", async () => {
    await withTempDir(async (dir) => {
      await writeManifest(dir, assembleManifest({ plan, tasks: finishedRecords() }));
      await mkdir(join(dir, ".actbatch"), { recursive: true });
      // pid 1 is always alive.
      const lock = {
        pid: 1,
        hostname: hostname(),
        startedAt: "2026-03-01T10:00:00.000Z",
        command: "run jobs/hero.yaml",
        token: "0011223344556677",
      };
      await writeFile(join(dir, ".actbatch", "lock"), JSON.stringify(lock));
      const { stdout } = await status([dir]);
      expect(stdout).toContain("A run is in progress in this folder (pid 1 on");
      expect(stdout).toContain("Wait for the run in progress (pid 1) to finish.");
      expect(stdout).not.toContain("To resume");
    });
  });
});

describe("actbatch status errors", () => {
  it("exits 2 naming a path that does not exist", async () => {
    const { code, stderr } = await status(["/nonexistent/out"]);
    expect(code).toBe(2);
    expect(stderr).toContain("actbatch: /nonexistent/out does not exist");
  });

  it("exits 2 on a folder where nothing has run", async () => {
    await withTempDir(async (dir) => {
      const { code, stderr } = await status([dir]);
      expect(code).toBe(2);
      expect(stderr).toContain(`no manifest.json and no journal in ${dir}`);
      expect(stderr).toContain("hint: give the output folder of an actbatch run");
    });
  });

  it("exits 2 naming a manifest that is not valid", async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, "manifest.json"), '{"version": 1, "tasks": "no"}');
      const { code, stderr } = await status([dir]);
      expect(code).toBe(2);
      expect(stderr).toContain(`${join(dir, "manifest.json")} is not a valid manifest:`);
      expect(stderr).not.toMatch(/\n\s+at /);
    });
  });

  it("prints its usage on --help, and on a missing argument or unknown flag", async () => {
    const help = await status(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain(
      "Usage: actbatch status <out-dir|manifest.json> [--json] [--verify] [--job JOB.yaml]",
    );
    const missing = await status([]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('Run "actbatch status --help"');
    const unknown = await status(["out", "--jsn"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown option --jsn; did you mean --json?");
  });
});

describe("the built CLI", () => {
  it("runs status end to end", async () => {
    await withTempDir(async (dir) => {
      await writeManifest(dir, assembleManifest({ plan, tasks: finishedRecords() }));
      const result = await runCli(["status", dir]);
      expect(result.stderr).toBe("");
      expect(result.code).toBe(1);
      expect(result.stdout).toContain("8 tasks: 3 succeeded, 2 failed, 3 not finished");
    });
  });
});
