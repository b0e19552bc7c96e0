import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gateRun, outputCheckOptions } from "../../src/preflight/index.js";
import { startSimulator, type Simulator } from "../../src/sim/index.js";
import { loadPlan, SpecError } from "../../src/job/index.js";

let sim: Simulator;
let dir: string;
beforeAll(async () => {
  sim = await startSimulator({ speed: 100 });
  dir = await mkdtemp(join(tmpdir(), "actbatch-gate-"));
});
afterAll(async () => {
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});

let counter = 0;
async function runwayJob(reference: string, extra: string[] = []) {
  const file = `gate-${++counter}.yaml`;
  const text = [
    "version: 1",
    `name: gate${counter}`,
    "provider: { name: runway }",
    ...extra,
    "assets:",
    `  hero: { type: image, uri: "${sim.origin}/assets/hero.png" }`,
    `  take: { type: video, uri: "${sim.origin}/assets/${reference}" }`,
    "pairs:",
    "  - { id: a, character: hero, reference: take }",
    "sweep: { seed: [1, 2, 3, 4] }",
    "",
  ].join("\n");
  await writeFile(join(dir, file), text);
  return loadPlan(file, { cwd: dir });
}

function sink() {
  const stream = new PassThrough();
  let text = "";
  stream.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
  return { stream, text: () => text };
}

describe("gateRun: preflight, estimate and budget before the first create", () => {
  it("prices the run from the probed durations and hands out a ledger that stops at the budget", async () => {
    const loaded = await runwayJob("take.mp4?simDuration=10", ["budget: { maxCredits: 200 }"]);
    const out = sink();
    const gate = await gateRun(loaded, { outputDir: join(dir, "out1"), preflight: true, stderr: out.stream });
    expect(gate.estimate).toMatchObject({ credits: 200, unknownTasks: 0 });
    expect(out.text()).toContain("preflight: 2 assets checked, all usable");
    expect(out.text()).toContain("cost: 200 credits (US$2.00) for 4 tasks");
    expect(gate.budget).toEqual({ maxCredits: 200 });
    const keys = loaded.plan.tasks.map((task) => task.key);
    expect(keys.map((key) => gate.ledger.reserve(key))).toEqual([true, true, true, true]);
    // A resubmission is paid again: the budget no longer covers it.
    expect(gate.ledger.reserve(keys[0]!)).toBe(false);
  }, 15_000);

  it("refuses a run over budget with the figures (exit 3), and a flag can raise the limit", async () => {
    const loaded = await runwayJob("take.mp4?simDuration=10", ["budget: { maxCredits: 150 }"]);
    await expect(
      gateRun(loaded, { outputDir: join(dir, "out2"), preflight: true, stderr: sink().stream }),
    ).rejects.toMatchObject({
      exitCode: 3,
      message:
        "budget: the estimate, 200 credits (US$2.00), is over the budget of 150 credits; nothing was submitted",
    });
    const gate = await gateRun(loaded, {
      outputDir: join(dir, "out2"),
      preflight: true,
      budgetFlags: { maxCredits: 500 },
      stderr: sink().stream,
    });
    expect(gate.ledger.reserve(loaded.plan.tasks[0]!.key)).toBe(true);
  });

  it("stops on asset problems with exit 2 before pricing anything", async () => {
    const loaded = await runwayJob("take.mp4?simDuration=45");
    const out = sink();
    const error = await gateRun(loaded, {
      outputDir: join(dir, "out3"),
      preflight: true,
      stderr: out.stream,
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SpecError);
    expect((error as SpecError).exitCode).toBe(2);
    expect(out.text()).not.toContain("cost:");
  });

  it("without preflight, needs --allow-unknown-cost under a budget when a duration is unknown", async () => {
    const loaded = await runwayJob("take.mp4?simDuration=10", ["budget: { maxUsd: 100 }"]);
    const before = sim.stats().requests["HEAD /assets/:name"]?.["200"] ?? 0;
    await expect(
      gateRun(loaded, { outputDir: join(dir, "out4"), preflight: false, stderr: sink().stream }),
    ).rejects.toMatchObject({ exitCode: 3, message: expect.stringContaining("--allow-unknown-cost") });
    const gate = await gateRun(loaded, {
      outputDir: join(dir, "out4"),
      preflight: false,
      allowUnknownCost: true,
      stderr: sink().stream,
    });
    expect(gate.estimate.unknownTasks).toBe(4);
    expect(sim.stats().requests["HEAD /assets/:name"]?.["200"] ?? 0).toBe(before);
  });

  it("probes and prices only the tasks left to submit; none left: no request at all", async () => {
    const loaded = await runwayJob("left.mp4?simDuration=10", ["budget: { maxCredits: 100 }"]);
    const before = sim.stats().requests["HEAD /assets/:name"]?.["200"] ?? 0;
    const finished = await gateRun(loaded, {
      outputDir: join(dir, "out7"),
      preflight: true,
      tasks: [],
      stderr: sink().stream,
    });
    expect(finished.estimate).toMatchObject({ tasks: 0, credits: 0 });
    expect(finished.preflight).toBeUndefined();
    expect(sim.stats().requests["HEAD /assets/:name"]?.["200"] ?? 0).toBe(before);
    // Two of four tasks left: 100 credits, within the budget the whole job (200) would exceed.
    const half = await gateRun(loaded, {
      outputDir: join(dir, "out7"),
      preflight: true,
      tasks: loaded.plan.tasks.slice(2),
      stderr: sink().stream,
    });
    expect(half.estimate).toMatchObject({ tasks: 2, credits: 100 });
  });

  it("prices by the provider in effect (--provider overrides the job file's)", async () => {
    const loaded = await runwayJob("take.mp4?simDuration=10");
    const gate = await gateRun(loaded, {
      outputDir: join(dir, "out6"),
      preflight: true,
      provider: "cometapi",
      stderr: sink().stream,
    });
    expect(gate.estimate).toMatchObject({ provider: "cometapi", usd: 1.6 });
  });

  it("gives each task's output checks the ratio and the reference's duration", async () => {
    const loaded = await runwayJob("take.mp4?simDuration=7");
    const gate = await gateRun(loaded, {
      outputDir: join(dir, "out5"),
      preflight: true,
      stderr: sink().stream,
    });
    expect(outputCheckOptions(loaded.plan.tasks[0]!, gate)).toEqual({
      ratio: "1280:720",
      referenceDurationSec: 7,
    });
  });
});
