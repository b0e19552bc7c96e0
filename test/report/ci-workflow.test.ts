// docs/ci.md's example workflow: valid YAML, a coherent GitHub Actions workflow, and every
// actbatch command in it exists with the flags it uses.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { main } from "../../src/cli/main.js";
import { loadPlan } from "../../src/job/index.js";
import { repoRoot } from "../helpers/cli.js";
import { captureIo } from "../helpers/capture-io.js";

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
  if?: string;
}

interface Job {
  "runs-on": string;
  needs?: string | string[];
  strategy?: { matrix?: Record<string, unknown> };
  steps: Step[];
}

interface Workflow {
  name: string;
  on: Record<string, unknown>;
  env: Record<string, string | number>;
  jobs: Record<string, Job>;
}

async function workflowOfDocs(): Promise<Workflow> {
  const text = await readFile(join(repoRoot, "docs", "ci.md"), "utf8");
  const blocks = [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => match[1] ?? "");
  expect(blocks).toHaveLength(1);
  const document = parseDocument(blocks[0]!, { uniqueKeys: true, strict: true, prettyErrors: true });
  expect(document.errors.map(String)).toEqual([]);
  expect(document.warnings.map(String)).toEqual([]);
  return document.toJS() as Workflow;
}

/** `npx actbatch <command> ...` invocations of a run script, as argument lists (quotes removed). */
function actbatchCalls(script: string): string[][] {
  const calls: string[][] = [];
  for (const match of script.matchAll(/npx actbatch ([^\n|&>;]*)/g)) {
    const words = (match[1] ?? "").match(/"[^"]*"|'[^']*'|\S+/g) ?? [];
    calls.push(words.map((word) => word.replace(/^["']|["']$/g, "")));
  }
  return calls;
}

async function usageOf(command: string): Promise<string> {
  const captured = captureIo(repoRoot);
  expect(await main([command, "--help"], captured.io)).toBe(0);
  return captured.stdout();
}

describe("docs/ci.md workflow", () => {
  it("is a well-formed workflow: jobs with steps, known needs, pinned actions", async () => {
    const workflow = await workflowOfDocs();
    expect(Object.keys(workflow.on).toSorted()).toEqual(["pull_request", "schedule", "workflow_dispatch"]);
    const names = Object.keys(workflow.jobs);
    expect(names).toEqual(["plan", "render", "merge"]);
    for (const job of Object.values(workflow.jobs)) {
      expect(job["runs-on"]).toBe("ubuntu-latest");
      for (const need of [job.needs ?? []].flat()) expect(names).toContain(need);
      for (const step of job.steps)
        expect(Number(step.uses !== undefined) + Number(step.run !== undefined)).toBe(1);
      const actions = job.steps.flatMap((step) => (step.uses === undefined ? [] : [step.uses]));
      for (const action of actions) expect(action).toMatch(/^[\w-]+\/[\w-]+(\/[\w-]+)?@v\d+$/);
    }
  });

  it("runs one matrix job per shard, and every shard restores the cache the merge saves", async () => {
    const workflow = await workflowOfDocs();
    const render = workflow.jobs.render!;
    const shards = Number(workflow.env.SHARDS);
    expect(render.strategy?.matrix?.shard).toEqual(Array.from({ length: shards }, (_, index) => index + 1));
    const runStep = render.steps.find((step) => step.run?.includes("actbatch run"));
    expect(runStep?.run).toContain('--shard "${{ matrix.shard }}/$SHARDS"');
    expect(runStep?.env?.COMETAPI_KEY).toBe("${{ secrets.COMETAPI_KEY }}");

    const restore = render.steps.find((step) => step.uses?.startsWith("actions/cache/restore"));
    const save = workflow.jobs.merge!.steps.find((step) => step.uses?.startsWith("actions/cache/save"));
    // One entry per content of the renders (the merged manifest), found by its prefix: a night that
    // renders nothing new saves nothing, and the cache does not grow by a copy of every render.
    expect(String(save?.with?.key)).toBe("renders-${{ hashFiles(format('{0}/manifest.json', env.OUT)) }}");
    expect(String(restore?.with?.["restore-keys"]).trim()).toBe("renders-");
    expect(restore?.with?.path).toBe(save?.with?.path);
  });

  it("uses only actbatch commands and flags that exist, on a job file that is valid", async () => {
    const workflow = await workflowOfDocs();
    const calls = Object.values(workflow.jobs).flatMap((job) =>
      job.steps.flatMap((step) => (step.run ? actbatchCalls(step.run) : [])),
    );
    expect(calls.map((call) => call[0])).toEqual([
      "validate",
      "plan",
      "plan",
      "run",
      "merge",
      "report",
      "status",
    ]);
    for (const [command, ...args] of calls) {
      const usage = await usageOf(command!);
      for (const flag of args.filter((arg) => arg.startsWith("--"))) expect(usage).toContain(flag);
    }
    const loaded = await loadPlan(String(workflow.env.JOB), { cwd: repoRoot });
    expect(loaded.plan.tasks.length).toBeGreaterThan(0);
  });
});
