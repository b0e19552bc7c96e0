// actbatch validate and actbatch plan, run as a user runs them: the built binary in its own process.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { estimateCost, knownDurations, type TaskCost } from "../../src/cost/index.js";
import { loadPlan, type TaskPlan } from "../../src/job/index.js";
import { createTaskJson } from "../../src/report/plan-json.js";
import { repoRoot, runCli } from "../helpers/cli.js";

let dir = "";
const BIG = `version: 1
name: big
pairs:
  - id: p
    character: { type: image, uri: "https://assets.example.com/p.png" }
    reference: { type: video, uri: "https://assets.example.com/p.mp4" }
sweep:
  seed: { from: 1, to: 6000 }
  bodyControl: [true, false]
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "actbatch-cli-"));
  await writeFile(join(dir, "big.yaml"), BIG);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const noStack = (text: string) => expect(text).not.toMatch(/internal error|\n\s+at /);

describe("actbatch validate", () => {
  it("prints one line per valid file and exits 0", async () => {
    const result = await runCli(["validate", "jobs/demo.yaml", "jobs/seed-search.yaml"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      'jobs/demo.yaml: valid, job "demo", 12 tasks\njobs/seed-search.yaml: valid, job "anna-seed-search", 24 tasks\n',
    );
    expect(result.stderr).toBe("");
  });

  it("reports every problem of every file, located, and exits 2", async () => {
    const result = await runCli([
      "validate",
      "test/fixtures/jobs/invalid/typos.yaml",
      "jobs/demo.yaml",
      "test/fixtures/jobs/invalid/missing.yaml",
    ]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('jobs/demo.yaml: valid, job "demo", 12 tasks\n');
    expect(result.stderr).toBe(
      [
        'test/fixtures/jobs/invalid/typos.yaml:4:3: error: unknown key "expresionIntensity": did you mean "expressionIntensity"?',
        'test/fixtures/jobs/invalid/typos.yaml:9:5: error: unknown key "sed": did you mean "seed"?',
        'test/fixtures/jobs/invalid/typos.yaml:10:1: error: unknown key "sweeps": did you mean "sweep"?',
        'test/fixtures/jobs/invalid/typos.yaml:12:1: error: unknown key "seed" at the top level: request fields go under defaults, a pair, or sweep',
        'test/fixtures/jobs/invalid/missing.yaml:1:1: error: missing required key "name"',
        'test/fixtures/jobs/invalid/missing.yaml:3:5: error: missing required key "character"',
        "",
      ].join("\n"),
    );
  });

  it("names a file it cannot read, alongside the other files' problems", async () => {
    const result = await runCli([
      "validate",
      "jobs/nope.yaml",
      "test/fixtures/jobs/invalid/duplicate-key.yaml",
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      "actbatch: cannot read job file jobs/nope.yaml: no such file\n" +
        "test/fixtures/jobs/invalid/duplicate-key.yaml:3:1: error: duplicate key: each key may appear once in a mapping\n",
    );
  });

  it("prints warnings on stderr without failing", async () => {
    const result = await runCli(["validate", "test/fixtures/jobs/valid/design-example.yaml"]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(
      "test/fixtures/jobs/valid/design-example.yaml:31:5: warning: exclude matches no combination: it removes nothing\n",
    );
  });

  it("enforces the task limit, which --max-tasks raises", async () => {
    const refused = await runCli(["validate", "big.yaml"], { cwd: dir });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("big.yaml:8:3: error: this sweep expands to 12,000 tasks");
    const accepted = await runCli(["validate", "big.yaml", "--max-tasks", "12000"], { cwd: dir });
    expect(accepted.code).toBe(0);
    expect(accepted.stdout).toBe('big.yaml: valid, job "big", 12000 tasks\n');
  });

  it("prints usage for --help (exit 0) and for mistakes (exit 2)", async () => {
    const help = await runCli(["validate", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: actbatch validate <job.yaml...> [--max-tasks N]");
    for (const args of [
      ["validate"],
      ["validate", "--frobnicate", "jobs/demo.yaml"],
      ["validate", "jobs/demo.yaml", "--max-tasks", "ten"],
    ]) {
      const result = await runCli(args);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('Run "actbatch validate --help"');
      noStack(result.stderr);
    }
  });
});

describe("actbatch plan", () => {
  it("summarises tasks per pair, varying values, includes, excludes and every output file", async () => {
    const result = await runCli(["plan", "jobs/demo.yaml"]);
    expect(result.code).toBe(0);
    const lines = result.stdout.split("\n");
    expect(lines.slice(0, 16)).toEqual([
      "job demo (jobs/demo.yaml): 12 tasks, output in out/demo",
      "cost: US$4.80 for 12 tasks at US$0.40 per task (cometapi)",
      "",
      "pairs:",
      "  hero-dance    6 tasks",
      "  robot-speech  6 tasks",
      "",
      "varying values:",
      "  expressionIntensity  1, 2, 3, 5",
      "  seed                 7, 42",
      "  bodyControl          true, false",
      "  ratio                1280:720, 960:960",
      "",
      "include #1 (line 38): extended 2 combinations",
      "include #2 (line 40): added 1 task",
      "exclude #1 (line 34): removed 1 combination",
    ]);
    expect(result.stdout).toMatch(/\n {2}#\s+key\s+pair\s+values\s+output\n/);
    expect(result.stdout).toMatch(
      /\n {2}4\s+[0-9a-f]{16}\s+hero-dance\s+expressionIntensity=5 seed=7 bodyControl=false\s+hero-dance\/ei5-s7\.mp4\n/,
    );
    expect(result.stdout).toMatch(
      /\n {2}11\s+[0-9a-f]{16}\s+robot-speech\s+expressionIntensity=2 seed=7\s+robot-speech\/ei2-s7\.mp4\n$/,
    );
  });

  it("prints the --json document: job, output folder, total, cost and each task's key, pair, params, request, output, source and estimated cost", async () => {
    const result = await runCli(["plan", "jobs/demo.yaml", "--json"]);
    expect(result.code).toBe(0);
    const doc = JSON.parse(result.stdout) as {
      job: string;
      outputDir: string;
      total: number;
      cost: unknown;
      tasks: Record<string, unknown>[];
    };
    expect(Object.keys(doc)).toEqual(["job", "outputDir", "total", "cost", "tasks"]);
    expect(doc.job).toBe("demo");
    expect(doc.outputDir).toBe("out/demo");
    expect(doc.total).toBe(12);
    expect(doc.cost).toEqual({
      provider: "cometapi",
      basis: "US$0.40 per task",
      credits: 480,
      usd: 4.8,
      unknownTasks: 0,
    });
    expect(doc.tasks).toHaveLength(12);
    for (const task of doc.tasks)
      expect(Object.keys(task)).toEqual([
        "key",
        "pair",
        "params",
        "request",
        "output",
        "source",
        "estimatedCost",
      ]);
    expect(doc.tasks[4]).toEqual({
      key: expect.stringMatching(/^[0-9a-f]{16}$/),
      pair: "hero-dance",
      params: { expressionIntensity: 5, seed: 7, bodyControl: false },
      request: {
        model: "act_two",
        character: { type: "image", uri: "https://assets.example.com/hero.png" },
        reference: { type: "video", uri: "https://assets.example.com/dance-take1.mp4" },
        ratio: "1280:720",
        bodyControl: false,
        expressionIntensity: 5,
        seed: 7,
        contentModeration: { publicFigureThreshold: "auto" },
      },
      output: "hero-dance/ei5-s7.mp4",
      source: [
        { file: "jobs/demo.yaml", line: 19, column: 5 },
        { file: "jobs/demo.yaml", line: 38, column: 5 },
      ],
      estimatedCost: { credits: 40, usd: 0.4 },
    });
  });

  it("keeps stdout pure JSON and warnings on stderr", async () => {
    const result = await runCli(["plan", "test/fixtures/jobs/valid/design-example.yaml", "--json"]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).total).toBe(13);
    expect(result.stderr).toContain("warning: exclude matches no combination");
  });

  it("plans 12,000 tasks with --max-tasks and says where the output goes with --out", async () => {
    const result = await runCli(["plan", "big.yaml", "--max-tasks", "12000", "--out", "/tmp/renders"], {
      cwd: dir,
    });
    expect(result.code).toBe(0);
    expect(result.stdout.split("\n")[0]).toBe("job big (big.yaml): 12000 tasks, output in /tmp/renders");
    expect(result.stdout).toContain("  seed         1, 2, 3, 4, 5, ..., 5999, 6000 (6000 values)");
  });

  it("fails with exit 2 and a located message on an invalid job", async () => {
    const result = await runCli(["plan", "test/fixtures/jobs/invalid/too-many.yaml"]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(
      /^test\/fixtures\/jobs\/invalid\/too-many\.yaml:12:3: error: this sweep expands to 12,000,000,003 tasks/,
    );
    noStack(result.stderr);
  });

  it("prints usage for --help (exit 0) and for mistakes (exit 2)", async () => {
    const help = await runCli(["plan", "-h"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: actbatch plan <job.yaml> [--json] [--out DIR] [--max-tasks N]");
    for (const args of [
      ["plan"],
      ["plan", "jobs/demo.yaml", "jobs/seed-search.yaml"],
      ["plan", "jobs/demo.yaml", "--max-tasks", "0"],
      ["plan", "jobs/demo.yaml", "--out"],
    ]) {
      const result = await runCli(args);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('Run "actbatch plan --help"');
      noStack(result.stderr);
    }
    const missing = await runCli(["plan", "jobs/nope.yaml"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe("actbatch: cannot read job file jobs/nope.yaml: no such file\n");
  });
});

function generic(costs: ReadonlyMap<string, TaskCost | null>): (task: TaskPlan) => string {
  return (task) => {
    const { key, pair, params, request, output, source } = task;
    return JSON.stringify({
      key,
      pair,
      params,
      request,
      output,
      source,
      estimatedCost: costs.get(key) ?? null,
    });
  };
}

describe("plan --json serialisation", () => {
  it("writes each task exactly as JSON.stringify would, and falls back to it for a shape it does not know", async () => {
    const loaded = await loadPlan("jobs/demo.yaml", { cwd: repoRoot });
    const { plan } = loaded;
    const costs = estimateCost(plan, knownDurations(loaded.report)).perTask;
    const fast = createTaskJson(costs);
    expect(plan.tasks.map((task) => fast(task))).toEqual(plan.tasks.map(generic(costs)));
    // A cost that is not known is null.
    const unknown = createTaskJson(new Map());
    expect(plan.tasks.map((task) => unknown(task))).toEqual(plan.tasks.map(generic(new Map())));

    const extended = plan.tasks.map((task) => ({ ...task, request: { ...task.request, extra: 1 } }));
    const fallback = createTaskJson(costs);
    const lines = extended.map((task) => fallback(task));
    expect(lines).toEqual(extended.map(generic(costs)));
    expect(lines[3]).toContain('"extra":1');
  });
});
