import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { assembleManifest, writeManifest } from "../../src/manifest/manifest.js";
import type { Manifest, ManifestTask } from "../../src/manifest/types.js";
import { sha256Hex } from "../../src/canonical.js";
import { cell, code } from "../../src/report/markdown.js";
import { diffPlan, type PlanDiff } from "../../src/report/plan-diff.js";
import { planFromBytes } from "../../src/job/index.js";
import type { Plan } from "../../src/job/types.js";
import { captureIo } from "../helpers/capture-io.js";

const job = (intensities: string, extra = ""): string => `version: 1
name: sweep
assets:
  hero: { type: image, uri: "https://assets.example.com/hero.png" }
  take: { type: video, uri: "https://assets.example.com/take.mp4"${extra} }
pairs:
  - id: hero-take
    character: hero
    reference: take
defaults: { expressionIntensity: 3 }
sweep:
  seed: [1, 2]
  ${intensities}
output:
  name: "{pair}/s{seed}.mp4"
`;

function planOf(text: string): Plan {
  return planFromBytes("job.yaml", new TextEncoder().encode(text)).plan;
}

/** The manifest of a finished run of the plan: every task succeeded but the ones listed. */
const videoOf = (key: string): string => `video of ${key}`;

/** Writes the manifest and the files it records for its succeeded tasks. */
async function writeRendered(dir: string, manifest: Manifest): Promise<void> {
  await writeManifest(dir, manifest);
  for (const task of manifest.tasks)
    for (const output of task.status === "SUCCEEDED" ? task.outputs : []) {
      await mkdir(dirname(join(dir, output.file)), { recursive: true });
      await writeFile(join(dir, output.file), videoOf(task.key));
    }
}

function renderedManifest(plan: Plan, notSucceeded: Record<number, Partial<ManifestTask>> = {}): Manifest {
  const tasks = plan.tasks.map((task, index): ManifestTask => ({
    key: task.key,
    pair: task.pair,
    params: task.params,
    request: task.request,
    taskId: `task-${index}`,
    status: "SUCCEEDED",
    attempts: 1,
    outputs: [
      {
        file: task.output,
        bytes: Buffer.byteLength(videoOf(task.key)),
        sha256: sha256Hex(videoOf(task.key)),
      },
    ],
    error: null,
    possiblyChargedTwice: false,
    history: [],
    ...notSucceeded[index],
  }));
  return assembleManifest({ plan, tasks });
}

describe("plan --against", () => {
  const before = planOf(job(""));

  it("tells a changed request in the same output slot from a new task, and lists reused and orphaned ones", () => {
    // defaults.expressionIntensity 3 -> 4 keeps the output names: both tasks are changed, not new.
    const after = planOf(
      job("").replace("expressionIntensity: 3", "expressionIntensity: 4").replace("[1, 2]", "[1, 2, 3]"),
    );
    const diff = diffPlan(after, renderedManifest(before), "out");
    expect(diff.changed.map((task) => [task.output, task.changes])).toEqual([
      ["hero-take/s1.mp4", [{ field: "expressionIntensity", from: "3", to: "4" }]],
      ["hero-take/s2.mp4", [{ field: "expressionIntensity", from: "3", to: "4" }]],
    ]);
    expect(diff.new.map((task) => task.output)).toEqual(["hero-take/s3.mp4"]);
    expect(diff.reused).toEqual([]);
    expect(diff.orphaned).toEqual([]);
    expect(diff.cost.usd).toBe(1.2);
  });

  it("counts reused tasks as free and orphans what the spec dropped", () => {
    const after = planOf(job("").replace("[1, 2]", "[2]"));
    const diff = diffPlan(after, renderedManifest(before), "out");
    expect(diff.reused.map((task) => task.output)).toEqual(["hero-take/s2.mp4"]);
    expect(diff.orphaned.map((task) => task.files)).toEqual([["hero-take/s1.mp4"]]);
    expect(diff.new).toEqual([]);
    expect(diff.cost.tasks).toBe(0);
  });

  it("prices only the unfinished tasks a rerun would submit", () => {
    const manifest = renderedManifest(before, {
      0: {
        status: "FAILED",
        outputs: [],
        error: { code: "SAFETY.INPUT.IMAGE", message: "no", retryable: false },
      },
      1: { status: "NOT_SUBMITTED", outputs: [], taskId: null, attempts: 0 },
    });
    const diff = diffPlan(before, manifest, "out");
    expect(diff.unfinished.map((task) => [task.status, task.willSubmit])).toEqual([
      ["FAILED", false],
      ["NOT_SUBMITTED", true],
    ]);
    expect(diff.cost.tasks).toBe(1);
  });

  it("prices Runway by the reference's duration hint, and says unknown without one", async () => {
    const dir = await mkdtemp(join(tmpdir(), "actbatch-plan-diff-"));
    await writeFile(
      join(dir, "job.yaml"),
      job("expressionIntensity: [4]", ", duration: 12").replace(
        "version: 1",
        "version: 1\nprovider: { name: runway }",
      ),
    );
    const captured = captureIo(dir);
    expect(await main(["plan", "job.yaml", "--against", "out", "--json"], captured.io)).toBe(0);
    expect(captured.stderr()).toContain("no manifest at out: every task is new");
    const diff = JSON.parse(captured.stdout()) as ReturnType<typeof diffPlan>;
    expect(diff.new).toHaveLength(2);
    expect(diff.cost).toMatchObject({ provider: "runway", credits: 120, usd: 1.2 });

    await writeFile(
      join(dir, "job.yaml"),
      job("").replace("version: 1", "version: 1\nprovider: { name: runway }"),
    );
    const unknown = captureIo(dir);
    expect(await main(["plan", "job.yaml", "--against", "out"], unknown.io)).toBe(0);
    expect(unknown.stdout()).toContain("cost of this change: unknown (2 tasks, reference duration unknown");
  });

  it("prints Markdown for a pull-request comment from the CLI", async () => {
    const dir = await mkdtemp(join(tmpdir(), "actbatch-plan-diff-"));
    await writeRendered(join(dir, "out"), renderedManifest(before));
    await writeFile(join(dir, "job.yaml"), job("").replace("[1, 2]", "[1, 2, 3, 4]"));
    const captured = captureIo(dir);
    expect(await main(["plan", "job.yaml", "--against", "out", "--markdown"], captured.io)).toBe(0);
    const markdown = captured.stdout();
    expect(markdown).toContain("### actbatch plan: `sweep` against `out`");
    expect(markdown).toContain("| new | 2 |");
    expect(markdown).toContain("| reused | 2 |");
    expect(markdown).toContain("**Cost of this change:** US$0.80 (2 tasks × US$0.40, CometAPI)");
  });

  it("lists a missing or changed file as fetch again (free) and a lost render as render again (paid, priced)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "actbatch-plan-diff-"));
    const planned = (index: number) => before.tasks[index] as Plan["tasks"][number];
    await writeRendered(
      join(dir, "out"),
      renderedManifest(before, {
        1: {
          status: "PENDING",
          outputs: [],
          error: { code: "OUTPUT_LOST", message: "output lost and task expired", retryable: true },
        },
      }),
    );
    await writeFile(join(dir, "job.yaml"), job(""));
    const captured = captureIo(dir);
    expect(await main(["plan", "job.yaml", "--against", "out", "--exit-code"], captured.io)).toBe(1);
    expect(captured.stdout()).toMatch(/render again +1 +output lost/);
    expect(captured.stdout()).toContain("cost of this change: US$0.40 (1 task × US$0.40, CometAPI)");
    expect(captured.stdout()).toContain(`render again (paid):\n  ${planned(1).key}  ${planned(1).output}`);

    await writeFile(join(dir, "out", planned(0).output), "edited");
    const again = captureIo(dir);
    expect(await main(["plan", "job.yaml", "--against", "out", "--json"], again.io)).toBe(0);
    const diff = JSON.parse(again.stdout()) as PlanDiff;
    expect(diff.fetchAgain.map((t) => t.key)).toEqual([planned(0).key]);
    expect(diff.renderAgain.map((t) => t.key)).toEqual([planned(1).key]);
    expect(diff.reused).toEqual([]);
  });

  it("--exit-code: 0 when a run would call the API for nothing, 1 when it would, 2 on a bad job file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "actbatch-plan-diff-"));
    await writeRendered(join(dir, "out"), renderedManifest(before));
    await writeFile(join(dir, "job.yaml"), job(""));
    const args = ["plan", "job.yaml", "--against", "out", "--exit-code"];
    expect(await main(args, captureIo(dir).io)).toBe(0);
    // A task in flight is polled: the run would call the API.
    await writeRendered(
      join(dir, "out"),
      renderedManifest(before, { 0: { status: "RUNNING", outputs: [] } }),
    );
    expect(await main(args, captureIo(dir).io)).toBe(1);
    // A final failure is left alone by a run: nothing to do.
    await writeRendered(
      join(dir, "out"),
      renderedManifest(before, {
        0: {
          status: "FAILED",
          outputs: [],
          error: { code: "SAFETY.INPUT.IMAGE", message: "x", retryable: false },
        },
      }),
    );
    expect(await main(args, captureIo(dir).io)).toBe(0);
    await writeFile(join(dir, "job.yaml"), job("").replace("name: sweep", "name: Bad Name"));
    const bad = captureIo(dir);
    expect(await main(args, bad.io)).toBe(2);
    expect(bad.stderr()).toContain("job.yaml:2:7");
  });

  it("refuses --markdown without --against", async () => {
    const captured = captureIo(tmpdir());
    expect(await main(["plan", "job.yaml", "--markdown"], captured.io)).toBe(2);
    expect(captured.stderr()).toContain("--markdown needs --against");
  });
});

describe("Markdown escaping", () => {
  it("keeps spec text from becoming markup or breaking a table", () => {
    expect(cell("<script>|*x*")).toBe("\\<script\\>\\|\\*x\\*");
    expect(code("a`b|c")).toBe("``a`b\\|c``");
  });
});
