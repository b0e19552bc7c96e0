import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  assertWithinBudget,
  BudgetLedger,
  checkBudget,
  effectiveBudget,
  estimateCost,
  formatCost,
  formatCostLine,
  knownDurations,
} from "../../src/cost/index.js";
import { buildMp4 } from "../../src/media/index.js";
import { loadPlan, type LoadedPlan } from "../../src/job/index.js";
import { repoRoot, runCli } from "../helpers/cli.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "actbatch-cost-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let counter = 0;
async function planOf(lines: string[]): Promise<LoadedPlan> {
  const file = `cost-${++counter}.yaml`;
  await writeFile(join(dir, file), [...lines, ""].join("\n"));
  return loadPlan(file, { cwd: dir });
}

const clip = (seconds: number) =>
  `data:video/mp4;base64,${Buffer.from(buildMp4({ durationSec: seconds })).toString("base64")}`;

function runwayJob(extra: string[] = [], takeDuration = "duration: 12.4"): string[] {
  return [
    "version: 1",
    "name: costs",
    "provider: { name: runway }",
    ...extra,
    "assets:",
    '  hero: { type: image, uri: "https://assets.example.com/hero.png" }',
    `  take: { type: video, uri: "https://assets.example.com/take.mp4"${takeDuration ? `, ${takeDuration}` : ""} }`,
    '  other: { type: video, uri: "https://assets.example.com/other.mp4" }',
    "pairs:",
    "  - { id: a, character: hero, reference: take }",
    "  - { id: b, character: hero, reference: other }",
    "sweep: { seed: [1, 2, 3] }",
  ];
}

describe("cost estimate", () => {
  it("prices CometAPI tasks flat, US$0.40 by default or the job file's price", async () => {
    const job = [
      "version: 1",
      "name: flat",
      'pairs: [{ id: a, character: { type: image, uri: "https://a.example.com/h.png" }, reference: { type: video, uri: "https://a.example.com/t.mp4" } }]',
      "sweep: { seed: { from: 1, to: 10 } }",
    ];
    const standard = await planOf(job);
    const estimate = estimateCost(standard.plan, knownDurations(standard.report));
    expect(estimate).toMatchObject({ tasks: 10, usd: 4, credits: 400, unknownTasks: 0 });
    expect(formatCost(estimate)).toBe("US$4.00 for 10 tasks at US$0.40 per task (cometapi)");
    const cheaper = await planOf([...job, "provider: { name: cometapi, pricePerTaskUsd: 0.25 }"]);
    expect(estimateCost(cheaper.plan, new Map()).usd).toBe(2.5);
  });

  it("prices Runway tasks at 5 credits per started second of reference; unknown durations stay unknown", async () => {
    const loaded = await planOf(runwayJob());
    const estimate = estimateCost(loaded.plan, knownDurations(loaded.report));
    // take: 12.4 s -> 13 s -> 65 credits, three seeds; other: no duration known.
    expect(estimate).toMatchObject({ tasks: 6, credits: 195, usd: 1.95, unknownTasks: 3 });
    expect(estimate.unknownReferences).toEqual(["https://assets.example.com/other.mp4"]);
    expect(formatCost(estimate)).toBe(
      "195 credits (US$1.95) for 3 of 6 tasks, plus 3 of unknown cost, at 5 credits per second of reference (runway)",
    );
    const probed = new Map([
      ["https://assets.example.com/other.mp4", 30],
      ["https://assets.example.com/take.mp4", 3],
    ]);
    const complete = estimateCost(loaded.plan, knownDurations(loaded.report, probed));
    expect(complete).toMatchObject({ credits: 3 * 15 + 3 * 150, usd: 4.95, unknownTasks: 0 });
  });

  it("reads the duration of a data: URI reference from its header", async () => {
    const loaded = await planOf([
      "version: 1",
      "name: data",
      "provider: { name: runway }",
      `pairs: [{ id: a, character: { type: image, uri: "https://a.example.com/h.png" }, reference: { type: video, uri: "${clip(4)}" } }]`,
    ]);
    expect(estimateCost(loaded.plan, knownDurations(loaded.report))).toMatchObject({
      credits: 20,
      unknownTasks: 0,
    });
  });
});

describe("budget", () => {
  it("refuses an estimate over either limit, with the figures", async () => {
    const loaded = await planOf(runwayJob([], "duration: 10"));
    const estimate = estimateCost(
      loaded.plan,
      new Map([
        ["https://assets.example.com/take.mp4", 10],
        ["https://assets.example.com/other.mp4", 10],
      ]),
    );
    expect(estimate.credits).toBe(300);
    expect(checkBudget(estimate, { maxCredits: 300 })).toEqual({ ok: true });
    expect(checkBudget(estimate, { maxCredits: 299 })).toEqual({
      ok: false,
      reason: "over-budget",
      message:
        "the estimate, 300 credits (US$3.00), is over the budget of 299 credits; nothing was submitted",
    });
    expect(checkBudget(estimate, { maxUsd: 2.5 })).toMatchObject({ ok: false, reason: "over-budget" });
    expect(checkBudget(estimate, undefined)).toEqual({ ok: true });
    expect(() => assertWithinBudget(estimate, { maxUsd: 1 })).toThrow(
      expect.objectContaining({
        exitCode: 3,
        message: expect.stringContaining("over the budget of US$1.00"),
      }),
    );
  });

  it("needs --allow-unknown-cost when a budget is set and some cost is unknown", async () => {
    const loaded = await planOf(runwayJob());
    const estimate = estimateCost(loaded.plan, knownDurations(loaded.report));
    expect(checkBudget(estimate, { maxCredits: 10_000 })).toMatchObject({
      ok: false,
      reason: "unknown-cost",
    });
    expect(checkBudget(estimate, { maxCredits: 10_000 }, { allowUnknownCost: true })).toEqual({ ok: true });
    // The known part alone can already be over.
    expect(checkBudget(estimate, { maxCredits: 100 }, { allowUnknownCost: true })).toMatchObject({
      ok: false,
      message: expect.stringContaining("at least 195 credits"),
    });
    expect(checkBudget(estimate, undefined)).toEqual({ ok: true });
  });

  it("takes the command line's limits over the job file's", () => {
    expect(effectiveBudget({ maxCredits: 10, maxUsd: 5 }, { maxCredits: 20 })).toEqual({
      maxCredits: 20,
      maxUsd: 5,
    });
    expect(effectiveBudget(undefined, {})).toBeUndefined();
    expect(effectiveBudget(undefined, { maxUsd: 3 })).toEqual({ maxUsd: 3 });
  });

  it("admits tasks during a run only while the budget covers them, counting earlier submissions", () => {
    const perTask = new Map([
      ["t1", { credits: 50, usd: 0.5 }],
      ["t2", { credits: 50, usd: 0.5 }],
      ["t3", { credits: 50, usd: 0.5 }],
      ["u", null],
    ]);
    const ledger = new BudgetLedger({ maxCredits: 120 }, perTask, { credits: 20, usd: 0.2 });
    expect(ledger.reserve("t1")).toBe(true);
    expect(ledger.reserve("t2")).toBe(true);
    expect(ledger.reserve("t3")).toBe(false);
    expect(ledger.credits).toBe(120);
    ledger.release("t2");
    expect(ledger.reserve("t3")).toBe(true);
    expect(ledger.reserve("u")).toBe(true);
    expect(new BudgetLedger(undefined, perTask).reserve("t1")).toBe(true);
  });
});

describe("actbatch plan shows the cost", () => {
  it("prints the estimate, what is unknown, and the budget verdict under the header", async () => {
    await writeFile(join(dir, "shown.yaml"), [...runwayJob(["budget: { maxCredits: 100 }"]), ""].join("\n"));
    const result = await runCli(["plan", "shown.yaml"], { cwd: dir });
    expect(result.code).toBe(0);
    expect(result.stdout.split("\n").slice(0, 4)).toEqual([
      "job costs (shown.yaml): 6 tasks, output in out/costs",
      "cost: 195 credits (US$1.95) for 3 of 6 tasks, plus 3 of unknown cost, at 5 credits per second of reference (runway)",
      '  duration unknown: "other"; add duration: (seconds) to the asset, or let preflight read it',
      "budget: 100 credits: the estimate, at least 195 credits (US$1.95), is over the budget of 100 credits",
    ]);
  });
});

describe("the run's cost line", () => {
  it("says, against the simulator, that the cost is simulated and nothing is charged", async () => {
    const { plan } = await loadPlan(join(repoRoot, "jobs/demo.yaml"), { cwd: repoRoot });
    const estimate = estimateCost(plan, new Map());
    expect(formatCostLine(estimate, true)).toBe(
      "cost: US$4.80 for 12 tasks at US$0.40 per task (cometapi); simulated: nothing is charged",
    );
    expect(formatCostLine(estimate, false)).toBe("cost: US$4.80 for 12 tasks at US$0.40 per task (cometapi)");
  });
});
