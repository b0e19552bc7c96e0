// Pair matrices: the pairs a person would have written, with the same task keys, and every
// mistake at the matrix's line.
import { afterEach, describe, expect, it } from "vitest";
import { lines, writeJobTree, type JobTree } from "./job-tree.js";

const ASSETS = [
  "assets:",
  '  fox: { type: image, uri: "https://assets.example.com/fox.png" }',
  '  owl: { type: image, uri: "https://assets.example.com/owl.png" }',
  '  cast-a: { type: image, uri: "https://assets.example.com/a.png" }',
  '  cast-b: { type: video, uri: "https://assets.example.com/b.mp4" }',
  '  wave: { type: video, uri: "https://assets.example.com/wave.mp4" }',
  '  greeting: { type: video, uri: "https://assets.example.com/greeting.mp4" }',
];

let tree: JobTree | undefined;
afterEach(async () => {
  await tree?.remove();
  tree = undefined;
});

describe("pair matrices", () => {
  it("make the pairs a person would write by hand: same ids, same task keys, same order", async () => {
    tree = await writeJobTree({
      "matrix.yaml": lines(
        "version: 1",
        "name: cat",
        ...ASSETS,
        "pairs:",
        '  - matrix: { character: [fox, owl, "cast-*"], reference: [wave, greeting] }',
        '    id: "{character}-{reference}"',
        "    expressionIntensity: 4",
        "    sweep: { seed: [1, 2] }",
        "  - { id: knight, character: owl, reference: greeting }",
      ),
      "by-hand.yaml": lines(
        "version: 1",
        "name: cat",
        ...ASSETS,
        "pairs:",
        ...["fox", "owl", "cast-a", "cast-b"].flatMap((character) =>
          ["wave", "greeting"].map(
            (reference) =>
              `  - { id: ${character}-${reference}, character: ${character}, reference: ${reference}, expressionIntensity: 4, sweep: { seed: [1, 2] } }`,
          ),
        ),
        "  - { id: knight, character: owl, reference: greeting }",
      ),
    });
    const matrix = await tree.load("matrix.yaml");
    const byHand = await tree.load("by-hand.yaml");
    const summary = (loaded: typeof matrix) =>
      loaded.plan.tasks.map((task) => `${task.pair} ${task.key} ${task.output}`);
    expect(summary(matrix)).toEqual(summary(byHand));
    expect(matrix.report.pairs.map((pair) => pair.pair)).toEqual([
      "fox-wave",
      "fox-greeting",
      "owl-wave",
      "owl-greeting",
      "cast-a-wave",
      "cast-a-greeting",
      "cast-b-wave",
      "cast-b-greeting",
      "knight",
    ]);
    expect(matrix.plan.tasks).toHaveLength(8 * 2 + 1);
    // Every task of a made pair points at the matrix entry.
    expect(matrix.plan.tasks[0]?.source).toEqual([{ file: "matrix.yaml", line: 11, column: 5 }]);
  });

  it("take a fixed character or reference beside a one-key matrix, and includes by made id", async () => {
    tree = await writeJobTree({
      "job.yaml": lines(
        "version: 1",
        "name: cat",
        ...ASSETS,
        "pairs:",
        "  - matrix: { reference: [wave, greeting] }",
        '    id: "fox-{reference}"',
        "    character: fox",
        "include:",
        "  - { pair: fox-greeting, seed: 9 }",
      ),
    });
    const { plan } = await tree.load("job.yaml");
    expect(plan.tasks.map((task) => `${task.pair} ${task.request.seed}`)).toEqual([
      "fox-wave 1",
      "fox-greeting 9",
    ]);
  });

  it("report a pattern that matches nothing, and a listed name that is no asset, at their place in the list", async () => {
    tree = await writeJobTree({
      "job.yaml": lines(
        "version: 1",
        "name: cat",
        ...ASSETS,
        "pairs:",
        '  - matrix: { character: [fox, "dog-*"], reference: ["cast-*"] }',
        '    id: "{character}-{reference}"',
      ),
    });
    expect(await tree.problems("job.yaml")).toEqual([
      'job.yaml:11:32: error: pattern "dog-*" matches no asset (assets: cast-a, cast-b, fox, greeting, owl, wave)',
    ]);
    await tree.remove();
    tree = await writeJobTree({
      "job.yaml": lines(
        "version: 1",
        "name: cat",
        ...ASSETS,
        "pairs:",
        "  - matrix: { character: [fox, fxo], reference: [wave, greeting] }",
        '    id: "{character}-{reference}"',
      ),
    });
    // One message for the name, not one per pair the matrix makes with it.
    expect(await tree.problems("job.yaml")).toEqual([
      'job.yaml:11:32: error: unknown asset "fxo": did you mean "fox"?',
    ]);
  });

  it("say at the matrix's line which pairs share an id, naming both", async () => {
    tree = await writeJobTree({
      "job.yaml": lines(
        "version: 1",
        "name: cat",
        ...ASSETS,
        "pairs:",
        "  - matrix: { character: [fox, owl], reference: [wave] }",
        '    id: "{character}-{reference}"',
        "  - { id: owl-wave, character: owl, reference: greeting }",
        "  - matrix: { character: [fox], reference: [wave, greeting] }",
        '    id: "{character}"',
      ),
    });
    expect(await tree.problems("job.yaml")).toEqual([
      'job.yaml:11:5: error: pair id "owl-wave" is made by this matrix (character owl, reference wave) and written by hand at line 13; pair ids must be unique',
      'job.yaml:14:5: error: this matrix makes pair id "fox" more than once (character fox, reference wave; character fox, reference greeting); put {reference} in its id',
    ]);
  });

  it("refuse an unknown placeholder, a role given twice or not at all, and ids that are not names", async () => {
    tree = await writeJobTree({
      "job.yaml": lines(
        "version: 1",
        "name: cat",
        ...ASSETS,
        "pairs:",
        "  - matrix: { character: [fox] }",
        '    id: "{character}-{seed}"',
        "  - matrix: { character: [fox] }",
        '    id: "{character}"',
        "    character: owl",
        "  - matrix: { character: [owl] }",
        '    id: "{character}_X"',
        "    reference: wave",
      ),
    });
    expect(await tree.problems("job.yaml")).toEqual([
      'job.yaml:11:5: error: missing "reference": list asset names under matrix.reference, or give the one every pair uses as reference:',
      "job.yaml:12:9: error: unknown placeholder {seed} in a matrix id: it may use {character} and {reference}",
      'job.yaml:13:5: error: missing "reference": list asset names under matrix.reference, or give the one every pair uses as reference:',
      'job.yaml:15:5: error: "character" is both listed in the matrix and fixed on this entry; give it in one place',
      "job.yaml:17:9: error: the id makes \"owl_X\" (character owl), which is not a valid pair id (lowercase letters, digits, '.', '_' or '-', starting with a letter or digit, at most 64 characters)",
    ]);
  });

  it("check what a matrix entry fixes as a pair's fields are checked, once", async () => {
    tree = await writeJobTree({
      "job.yaml": lines(
        "version: 1",
        "name: cat",
        ...ASSETS,
        "pairs:",
        "  - matrix: { charcter: [fox], reference: [wave] }",
        '    id: "{character}"',
        "    expressionIntensity: 9",
      ),
    });
    expect(await tree.problems("job.yaml")).toEqual([
      'job.yaml:11:15: error: unknown key "charcter": did you mean "character"?',
      "job.yaml:13:26: error: expected an integer from 1 to 5, got 9",
    ]);
  });
});
