// The job files in jobs/ are documentation: each must be valid, and the demo must stay the demo.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadPlan, planFromBytes } from "../../src/job/index.js";
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

  it("keeps the nightly catalogue's task keys: its base, CSV and matrix make the pairs once written by hand", async () => {
    const composed = await loadPlan("jobs/nightly-catalog.yaml", { cwd: repoRoot, env: {} });
    const byHand = planFromBytes("jobs/by-hand.yaml", new TextEncoder().encode(NIGHTLY_BY_HAND), {
      cwd: repoRoot,
      env: {},
    });
    const tasks = (loaded: typeof composed) =>
      loaded.plan.tasks.map((t) => [t.pair, t.key, t.output].join(" "));
    expect(tasks(composed)).toEqual(tasks(byHand));
    expect(composed.report.inputs).toEqual(["jobs/shared/studio.yaml", "jobs/catalog/characters.csv"]);
  });
});

/** jobs/nightly-catalog.yaml as it was before bases, catalogues and matrices, every pair written out. */
const NIGHTLY_BY_HAND = [
  "version: 1",
  "name: nightly-catalog",
  "provider: { name: cometapi } # COMETAPI_KEY from the environment",
  "concurrency: 3",
  "",
  "defaults:",
  "  expressionIntensity: 3",
  "  seed: 20240601 # fixed: a nightly rerun reproduces the same renders (and resumes them)",
  "",
  "assets:",
  '  wave: { type: video, uri: "https://assets.example.com/takes/wave.mp4" }',
  '  greeting: { type: video, uri: "https://assets.example.com/takes/greeting.mp4" }',
  '  fox: { type: image, uri: "https://assets.example.com/catalog/fox.png" }',
  '  owl: { type: image, uri: "https://assets.example.com/catalog/owl.png" }',
  '  knight: { type: video, uri: "https://assets.example.com/catalog/knight-idle.mp4" }',
  "",
  "pairs:",
  "  - { id: fox-wave, character: fox, reference: wave }",
  "  - { id: fox-greeting, character: fox, reference: greeting }",
  "  - { id: owl-wave, character: owl, reference: wave }",
  "  - { id: owl-greeting, character: owl, reference: greeting }",
  "  - id: knight-greeting",
  "    character: knight # a video character keeps its own animated background",
  "    reference: greeting",
  "    expressionIntensity: 4",
  "",
  "sweep:",
  "  zip:",
  '    - { ratio: "1280:720", bodyControl: true }',
  '    - { ratio: "960:960", bodyControl: false }',
  "",
  "output:",
  '  dir: "out/{job}"',
  '  name: "{ratio}/{pair}.mp4"',
  "",
].join("\n");
