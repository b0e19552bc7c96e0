// `plan`'s "varying values": every value that occurs, in order, and only fields that do vary.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadPlan } from "../../src/job/index.js";
import { varyingValues } from "../../src/report/plan-values.js";
import { repoRoot } from "../helpers/cli.js";

async function planOf(lines: string[]) {
  const dir = await mkdtemp(join(tmpdir(), "actbatch-varying-"));
  try {
    const file = join(dir, "job.yaml");
    await writeFile(file, [...lines, ""].join("\n"));
    return (await loadPlan(file, { cwd: dir })).plan;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const header = [
  "version: 1",
  "name: varying",
  "assets:",
  '  hero: { type: image, uri: "https://assets.example.com/hero.png" }',
  '  take: { type: video, uri: "https://assets.example.com/take.mp4" }',
];

describe("varying values", () => {
  it("lists the demo's values in order, the default bodyControl true and the robot's 960:960 included", async () => {
    const { plan } = await loadPlan("jobs/demo.yaml", { cwd: repoRoot });
    expect(varyingValues(plan.tasks)).toEqual([
      { field: "expressionIntensity", values: [1, 2, 3, 5] },
      { field: "seed", values: [7, 42] },
      { field: "bodyControl", values: [true, false] },
      { field: "ratio", values: ["1280:720", "960:960"] },
    ]);
  });

  it("lists both entries of a zip, the one equal to the defaults too", async () => {
    const plan = await planOf([
      ...header,
      "pairs:",
      "  - { id: p, character: hero, reference: take }",
      "sweep:",
      "  seed: [3, 1, 2]",
      "  zip:",
      '    - { bodyControl: true, ratio: "1280:720" }',
      '    - { bodyControl: false, ratio: "960:960" }',
    ]);
    expect(varyingValues(plan.tasks)).toEqual([
      { field: "seed", values: [1, 2, 3] },
      { field: "bodyControl", values: [true, false] },
      { field: "ratio", values: ["1280:720", "960:960"] },
    ]);
  });

  it("does not call a field with one value varying, swept or not", async () => {
    const plan = await planOf([
      ...header,
      "pairs:",
      "  - { id: p, character: hero, reference: take }",
      "sweep:",
      "  seed: [4]",
      "  expressionIntensity: [1, 2]",
    ]);
    expect(varyingValues(plan.tasks)).toEqual([{ field: "expressionIntensity", values: [1, 2] }]);
  });
});
