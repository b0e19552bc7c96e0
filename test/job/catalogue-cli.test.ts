// A catalogue-scale job through the built CLI, as a user runs it: a base, a CSV catalogue, a matrix
// and an environment value; validate, plan, a subset run and a --last-failed run after it.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Manifest } from "../../src/manifest/types.js";
import { runCli } from "../helpers/cli.js";
import { lines, writeJobTree, type JobTree } from "./job-tree.js";

let tree: JobTree;
const ENV = { ACTBATCH_TIME_SCALE: "200", COMETAPI_KEY: "", ACTBATCH_BASE_URL: "", CDN: "" };

beforeAll(async () => {
  tree = await writeJobTree({
    "shared/base.yaml": lines(
      "version: 1",
      "concurrency: 4",
      "defaults: { expressionIntensity: 3, seed: 11 }",
      "assets:",
      '  wave: { type: video, uri: "${CDN:-https://assets.example.com}/takes/wave.mp4" }',
      '  greeting: { type: video, uri: "${CDN:-https://assets.example.com}/takes/greeting.mp4" }',
      "output: { name: '{pair}/{ratio}.mp4' }",
    ),
    "catalog/characters.csv": lines(
      "name,type,uri",
      "fox,image,https://assets.example.com/catalog/fox.png",
      "owl,image,https://assets.example.com/catalog/owl.png",
    ),
    "job.yaml": lines(
      "# yaml-language-server: $schema=../schemas/job.schema.json",
      "version: 1",
      "extends: ./shared/base.yaml",
      "name: catalogue",
      "assetSources:",
      "  - csv: ./catalog/characters.csv",
      "pairs:",
      "  - matrix: { character: [fox, owl], reference: [wave, greeting] }",
      '    id: "{character}-{reference}"',
      "sweep:",
      "  ratio: ['1280:720', '960:960']",
    ),
  });
});

afterAll(async () => {
  await tree.remove();
});

const cli = (args: string[]) => runCli(args, { cwd: tree.dir, env: ENV, timeoutMs: 120_000 });

describe("a job made of a base, a CSV catalogue and a matrix, through the CLI", () => {
  it("validates, and plans saying what it read and which variables it used", async () => {
    const valid = await cli(["validate", "job.yaml"]);
    expect(valid.stderr).toBe("");
    expect(valid.stdout).toBe('job.yaml: valid, job "catalogue", 8 tasks\n');
    const plan = await cli(["plan", "job.yaml"]);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain("read with it: shared/base.yaml, catalog/characters.csv\n");
    expect(plan.stdout).toContain(
      'environment:\n  CDN  "https://assets.example.com" (the default: not set), at shared/base.yaml:5, shared/base.yaml:6\n',
    );
    expect(plan.stdout).toMatch(/ fox-wave {2,}ratio=1280:720 {2,}fox-wave\/1280x720\.mp4\n/);
  }, 60_000);

  it("plan --only lists the selected tasks and says how many of the job's", async () => {
    const plan = await cli(["plan", "job.yaml", "--only", "pair=owl-*", "--only", "ratio=960x960"]);
    expect(plan.code).toBe(0);
    expect(plan.stdout.split("\n").slice(0, 2)).toEqual([
      "job catalogue (job.yaml): 2 tasks, output in out/catalogue",
      "selected 2 of 8 tasks (--only pair=owl-* --only ratio=960x960)",
    ]);
    const json = JSON.parse(
      (await cli(["plan", "job.yaml", "--only", "pair=fox-wave", "--json"])).stdout,
    ) as {
      total: number;
      selected: number;
      tasks: { pair: string }[];
    };
    expect([json.total, json.selected, json.tasks.map((task) => task.pair)]).toEqual([
      8,
      2,
      ["fox-wave", "fox-wave"],
    ]);
    const none = await cli(["plan", "job.yaml", "--only", "pair=cat-*"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toBe(
      "actbatch: --only pair=cat-* selects no task; values of pair in this job: fox-wave, fox-greeting, owl-wave, owl-greeting\n",
    );
  }, 60_000);

  it("runs a subset, keeping every task in the manifest, then the rest with --last-failed", async () => {
    const first = await cli(["run", "job.yaml", "--simulate", "--only", "pair=fox-wave", "--out", "out"]);
    expect(first.code).toBe(0);
    expect(first.stderr).toContain("catalogue: 2 of 8 tasks (--only pair=fox-wave): 2 succeeded");
    const manifest = JSON.parse(await readFile(join(tree.dir, "out/manifest.json"), "utf8")) as Manifest;
    expect(manifest.tasks.map((task) => `${task.pair} ${task.status}`)).toEqual([
      "fox-wave SUCCEEDED",
      "fox-wave SUCCEEDED",
      ...["fox-greeting", "owl-wave", "owl-greeting"].flatMap((pair) => [
        `${pair} NOT_SUBMITTED`,
        `${pair} NOT_SUBMITTED`,
      ]),
    ]);

    const rest = await cli(["run", "job.yaml", "--simulate", "--last-failed", "--out", "out"]);
    expect(rest.code).toBe(0);
    expect(rest.stderr).toContain("catalogue: 6 of 8 tasks (--last-failed): 6 succeeded");
    const after = JSON.parse(await readFile(join(tree.dir, "out/manifest.json"), "utf8")) as Manifest;
    expect(after.summary.succeeded).toBe(8);

    const nothing = await cli(["run", "job.yaml", "--simulate", "--last-failed", "--out", "out"]);
    expect(nothing.code).toBe(0);
    expect(nothing.stderr).toBe(
      "catalogue: nothing to do: every selected task succeeded in out/manifest.json (--last-failed)\n",
    );
  }, 120_000);

  it("points at the catalogue's line and column for a mistake in a row, and refuses to run", async () => {
    await writeFile(
      join(tree.dir, "catalog/broken.csv"),
      lines(
        "name,type,uri",
        "fox,image,https://assets.example.com/fox.png",
        "owl,imgae,https://assets.example.com/owl.png",
      ),
    );
    const job = (await readFile(join(tree.dir, "job.yaml"), "utf8")).replace("characters.csv", "broken.csv");
    await writeFile(join(tree.dir, "broken.yaml"), job);
    for (const command of ["validate", "run"]) {
      const result = await cli(
        [command, "broken.yaml", "--out", "broken-out"].slice(0, command === "run" ? 4 : 2),
      );
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(
        'catalog/broken.csv:3:5: error: expected one of "image", "video", got "imgae"\n',
      );
    }
  }, 60_000);
});
