import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { assembleManifest, writeManifest } from "../../src/manifest/manifest.js";
import type { Manifest, ManifestTask } from "../../src/manifest/types.js";
import { cell, code, diffPlan } from "../../src/report/plan-diff.js";
import { planFromBytes } from "../../src/spec/index.js";
import type { Plan } from "../../src/spec/types.js";
import { captureIo } from "./capture-io.js";

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
function renderedManifest(plan: Plan, notSucceeded: Record<number, Partial<ManifestTask>> = {}): Manifest {
  const tasks = plan.tasks.map((task, index): ManifestTask => ({
    key: task.key,
    pair: task.pair,
    params: task.params,
    request: task.request,
    taskId: `task-${index}`,
    status: "SUCCEEDED",
    attempts: 1,
    outputs: [{ file: task.output, bytes: 10, sha256: "0".repeat(64) }],
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
    await writeManifest(join(dir, "out"), renderedManifest(before));
    await writeFile(join(dir, "job.yaml"), job("").replace("[1, 2]", "[1, 2, 3, 4]"));
    const captured = captureIo(dir);
    expect(await main(["plan", "job.yaml", "--against", "out", "--markdown"], captured.io)).toBe(0);
    const markdown = captured.stdout();
    expect(markdown).toContain("### actbatch plan: `sweep` against `out`");
    expect(markdown).toContain("| new | 2 |");
    expect(markdown).toContain("| reused | 2 |");
    expect(markdown).toContain("**Cost of this change:** US$0.80 (2 tasks × US$0.40, CometAPI)");
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
