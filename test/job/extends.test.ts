// Shared bases: the extending file wins key by key, maps merge one level, lists replace, and every
// problem is reported in the file where it is written.
import { afterEach, describe, expect, it } from "vitest";
import { lines, writeJobTree, type JobTree } from "./job-tree.js";

let tree: JobTree | undefined;
afterEach(async () => {
  await tree?.remove();
  tree = undefined;
});

const BASE = lines(
  "version: 1",
  "provider: { name: cometapi, pricePerTaskUsd: 0.5 }",
  "concurrency: 2",
  "defaults: { seed: 7, expressionIntensity: 2 }",
  "assets:",
  '  wave: { type: video, uri: "https://assets.example.com/wave.mp4" }',
  '  fox: { type: image, uri: "https://assets.example.com/fox.png" }',
  "pairs:",
  "  - { id: base-pair, character: fox, reference: wave }",
  "sweep: { ratio: ['1280:720', '960:960'] }",
  "output: { dir: 'out/{job}', name: '{pair}/{ratio}-s{seed}.mp4' }",
);

describe("extends", () => {
  it("merges maps one level deep and replaces lists and scalars, the extending file winning", async () => {
    tree = await writeJobTree({
      "shared/base.yaml": BASE,
      "jobs/job.yaml": lines(
        "version: 1",
        "extends: ../shared/base.yaml",
        "name: child",
        "concurrency: 5",
        "defaults: { seed: 8 }",
        "assets:",
        '  fox: { type: image, uri: "https://assets.example.com/fox-v2.png" }',
        "pairs:",
        "  - { id: child-pair, character: fox, reference: wave }",
        "sweep: { seed: [5, 6] }",
      ),
    });
    const { plan } = await tree.load("jobs/job.yaml");
    expect(plan.job).toBe("child");
    expect(plan.concurrency).toBe(5);
    expect(plan.provider.pricePerTaskUsd).toBe(0.5);
    expect([...new Set(plan.tasks.map((task) => task.pair))]).toEqual(["child-pair"]);
    const first = plan.tasks[0]?.request;
    expect(first?.expressionIntensity).toBe(2); // the base's default, merged beside the child's seed
    expect(first?.character.uri).toBe("https://assets.example.com/fox-v2.png");
    // The sweeps merge key by key: the base's ratios and the child's seeds.
    expect(plan.tasks.map((task) => task.output)).toEqual([
      "child-pair/1280x720-s5.mp4",
      "child-pair/1280x720-s6.mp4",
      "child-pair/960x960-s5.mp4",
      "child-pair/960x960-s6.mp4",
    ]);
    expect(plan.spec.file).toBe("jobs/job.yaml");
  });

  it("follows a chain, with paths relative to the file that writes them", async () => {
    tree = await writeJobTree({
      "a/studio.yaml": lines("version: 1", "assets:", "  take: { type: video, path: ./take.mp4 }"),
      "a/take.mp4": "video bytes",
      "b/base.yaml": lines("version: 1", "extends: ../a/studio.yaml", "defaults: { seed: 3 }"),
      "job.yaml": lines(
        "version: 1",
        "extends: ./b/base.yaml",
        "name: chained",
        "pairs:",
        "  - { id: p, character: { type: image, uri: 'https://assets.example.com/p.png' }, reference: take }",
      ),
    });
    const { plan, report } = await tree.load("job.yaml");
    expect(plan.localFiles?.map((file) => file.written)).toEqual(["./take.mp4"]);
    expect(plan.localFiles?.[0]?.path).toBe(`${tree.dir}/a/take.mp4`);
    expect(plan.tasks[0]?.request.seed).toBe(3);
    expect(report.inputs).toEqual(["b/base.yaml", "a/studio.yaml"]);
  });

  it("locates a problem in the base where it is written, and a missing base at the extends line", async () => {
    tree = await writeJobTree({
      "base.yaml": lines("version: 1", "defaults: { sed: 3 }"),
      "job.yaml": lines(
        "version: 1",
        "extends: ./base.yaml",
        "name: child",
        "pairs:",
        "  - { id: p, character: fox, reference: wave }",
      ),
      "lost.yaml": lines("version: 1", "extends: ./nowhere.yaml", "name: lost"),
    });
    expect(await tree.problems("job.yaml")).toEqual([
      'base.yaml:2:13: error: unknown key "sed": did you mean "seed"?',
    ]);
    expect(await tree.problems("lost.yaml")).toEqual([
      "lost.yaml:2:10: error: cannot read the base ./nowhere.yaml (nowhere.yaml): no such file",
    ]);
  });

  it("names the files of a cycle", async () => {
    tree = await writeJobTree({
      "a.yaml": lines("version: 1", "extends: ./b.yaml", "name: a"),
      "b.yaml": lines("version: 1", "extends: ./a.yaml"),
    });
    expect(await tree.problems("a.yaml")).toEqual([
      "b.yaml:2:10: error: extends makes a cycle: a.yaml extends b.yaml extends a.yaml",
    ]);
  });

  it("needs name and pairs somewhere in the chain, but not in a base", async () => {
    tree = await writeJobTree({
      "base.yaml": lines("version: 1", "name: from-base"),
      "job.yaml": lines("version: 1", "extends: ./base.yaml"),
    });
    expect(await tree.problems("job.yaml")).toEqual([
      'job.yaml:1:1: error: missing required key "pairs" (in this file or a base it extends)',
    ]);
  });

  it("changes the spec's digest when a base changes, and keeps a lone file's digest its own sha256", async () => {
    tree = await writeJobTree({
      "base.yaml": BASE,
      "job.yaml": lines("version: 1", "extends: ./base.yaml", "name: digest"),
    });
    const before = (await tree.load("job.yaml")).plan.spec.sha256;
    await tree.remove();
    tree = await writeJobTree({
      "base.yaml": BASE.replace("seed: 7", "seed: 9"),
      "job.yaml": lines("version: 1", "extends: ./base.yaml", "name: digest"),
    });
    expect((await tree.load("job.yaml")).plan.spec.sha256).not.toBe(before);
  });
});
