// The gate before the first create: asset preflight and the budget, wired into runJob.
import { afterEach, describe, expect, it } from "vitest";
import { UserError } from "../../src/errors.js";
import { createWorkspace, totalRequests, type Workspace } from "../e2e/harness.js";

let ws: Workspace | undefined;
afterEach(async () => {
  await ws?.close();
  ws = undefined;
});

function jobWithReference(referenceUri: string): string {
  return [
    "version: 1",
    "name: gated",
    "concurrency: 2",
    "assets:",
    '  hero: { type: image, uri: "https://assets.example.com/hero.png" }',
    `  take: { type: video, uri: "${referenceUri}" }`,
    "pairs:",
    "  - { id: p1, character: hero, reference: take }",
    "sweep:",
    "  expressionIntensity: [1, 2]",
    "",
  ].join("\n");
}

describe("run gate: preflight and budget before the first create", () => {
  it("refuses a reference that is too long, at the asset's line, exit 2, no create sent", async () => {
    ws = await createWorkspace("version: 1\nname: placeholder\npairs: []\n");
    await ws.writeJob(jobWithReference(`${ws.sim.origin}/assets/take.mp4?simDuration=45`));
    const error = await ws.run().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).exitCode).toBe(2);
    expect((error as UserError).message).toMatch(/job\.yaml:6:3: .*(30|duration)/);
    expect(ws.sim.stats().creates).toBe(0);
  });

  it("runs when the reference passes the preflight, and a rerun probes nothing", async () => {
    // The simulator renders as long as the reference and of its ratio, so the output checks pass.
    ws = await createWorkspace("version: 1\nname: placeholder\npairs: []\n");
    await ws.writeJob(jobWithReference(`${ws.sim.origin}/assets/take.mp4?simDuration=10`));
    const first = await ws.run();
    expect(first.exitCode).toBe(0);
    // The probed reference duration reaches the output checks.
    expect(first.manifest.tasks[0]?.outputs[0]?.checks?.find((check) => check.name === "duration")).toEqual({
      name: "duration",
      ok: true,
      expected: "10 s",
      actual: "10 s",
    });
    expect(ws.events.some((e) => e.kind === "note" && e.message.startsWith("preflight:"))).toBe(true);
    const before = totalRequests(ws.sim);
    const assetBytes = ws.sim.stats().assetBytesServed;
    const again = await ws.run();
    expect(again.exitCode).toBe(0);
    expect(totalRequests(ws.sim)).toBe(before);
    expect(ws.sim.stats().assetBytesServed).toBe(assetBytes);
  });

  it("refuses a run whose estimate is over the budget with the figures, exit 3, no create sent", async () => {
    ws = await createWorkspace({ pairs: 2, intensities: [1, 2, 3] });
    const error = await ws.run({ budget: { maxUsd: 1 } }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).exitCode).toBe(3);
    expect((error as UserError).message).toContain("US$2.40");
    expect((error as UserError).message).toContain("US$1.00");
    expect(ws.sim.stats().creates).toBe(0);
  });

  it("runs within the budget", async () => {
    ws = await createWorkspace({ pairs: 1, intensities: [1, 2] });
    const result = await ws.run({ budget: { maxUsd: 0.8 } });
    expect(result.exitCode).toBe(0);
    expect(ws.sim.stats().creates).toBe(2);
  });
});
