// The job files in jobs/ are documentation: each must be valid, and the demo must stay the demo.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadPlan } from "../../src/job/index.js";
import { repoRoot } from "../helpers/cli.js";

const files = (await readdir(join(repoRoot, "jobs"))).filter((file) => file.endsWith(".yaml")).toSorted();

describe("example jobs", () => {
  it("include the demo and at least two others", () => {
    expect(files).toContain("demo.yaml");
    expect(files.length).toBeGreaterThanOrEqual(3);
  });

  it.each(files)(
    "jobs/%s starts with the schema modeline, is valid and warns about nothing",
    async (file) => {
      const text = await readFile(join(repoRoot, "jobs", file), "utf8");
      expect(text.split("\n")[0]).toBe("# yaml-language-server: $schema=../schemas/job.schema.json");
      const { plan, report } = await loadPlan(`jobs/${file}`, { cwd: repoRoot });
      expect(plan.tasks.length).toBeGreaterThan(0);
      expect(report.warnings).toEqual([]);
    },
  );

  it("keeps the demo small and showing the features: 2 pairs x 3 intensities x 2 seeds, include, exclude", async () => {
    const { plan, report } = await loadPlan("jobs/demo.yaml", { cwd: repoRoot });
    expect(plan.outputDir).toBe("out/demo");
    expect(report.pairs.length).toBeGreaterThanOrEqual(2);
    const swept = Object.fromEntries(report.swept.map((entry) => [entry.field, entry.values.length]));
    expect(swept.expressionIntensity).toBeGreaterThanOrEqual(3);
    expect(swept.seed).toBeGreaterThanOrEqual(2);
    expect(plan.tasks.length).toBeLessThanOrEqual(20);
    expect(report.includes.map((include) => include.effect)).toEqual(["extended", "added"]);
    expect(report.excludes.map((exclude) => exclude.removed)).toEqual([1]);
    for (const task of plan.tasks) {
      expect(task.request.character.uri).toMatch(/^https:\/\/assets\.example\.com\//);
      expect(task.request.reference.uri).toMatch(/^https:\/\/assets\.example\.com\/.*\.mp4$/);
    }
  });
});
