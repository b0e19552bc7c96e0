import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadPlan, SpecError } from "../../src/job/index.js";

const fixtures = fileURLToPath(new URL("../fixtures/jobs/", import.meta.url));

/** Loads a fixture by its path relative to test/fixtures/jobs, as a user would name it. */
async function load(file: string) {
  return loadPlan(file, { cwd: fixtures });
}

/** The diagnostics of an invalid fixture, as "line:col: message" lines. */
async function problemsOf(file: string): Promise<string[]> {
  const error = await load(file).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(SpecError);
  const spec = error as SpecError;
  for (const diagnostic of spec.diagnostics) expect(diagnostic.file).toBe(file);
  // The message is every diagnostic as file:line:col: error: message, one per line.
  expect(spec.message.split("\n")).toEqual(
    spec.diagnostics.map((d) => `${file}:${d.line}:${d.column}: error: ${d.message}`),
  );
  return spec.diagnostics.map((d) => `${d.line}:${d.column}: ${d.message}`);
}

describe("valid job files", () => {
  const table: { file: string; total: number; perPair: Record<string, number>; warnings?: string[] }[] = [
    { file: "valid/minimal.yaml", total: 1, perPair: { only: 1 } },
    {
      file: "valid/design-example.yaml",
      total: 13,
      perPair: { "hero-take1": 13 },
      warnings: ["31:5: exclude matches no combination: it removes nothing"],
    },
    { file: "valid/github-include.yaml", total: 6, perPair: { p: 6 } },
    { file: "valid/pair-precedence.yaml", total: 8, perPair: { plain: 4, "fixes-ei": 2, "own-seeds": 2 } },
    {
      file: "valid/merge.yaml",
      total: 2,
      perPair: { first: 2, second: 0 },
      warnings: [
        '8:5: pair "second" has the same character, reference and values as pair "first" for 2 tasks; they are rendered once, under "first"',
      ],
    },
    { file: "valid/anchors.yaml", total: 3, perPair: { "inline-alias": 2, "by-name": 1 } },
    { file: "valid/data-uri.yaml", total: 1, perPair: { tiny: 1 } },
  ];

  it.each(table)("$file expands to $total tasks", async ({ file, total, perPair, warnings = [] }) => {
    const { plan, report } = await load(file);
    expect(plan.tasks).toHaveLength(total);
    expect(report.total).toBe(total);
    expect(Object.fromEntries(report.pairs.map((entry) => [entry.pair, entry.tasks]))).toEqual(perPair);
    expect(report.warnings.map((w) => `${w.line}:${w.column}: ${w.message}`)).toEqual(warnings);
    expect(plan.tasks.map((task) => task.index)).toEqual([...Array.from({ length: total }).keys()]);
    expect(new Set(plan.tasks.map((task) => task.key)).size).toBe(total);
    expect(new Set(plan.tasks.map((task) => task.output)).size).toBe(total);
  });

  it("records the spec file as given and the sha256 of its bytes", async () => {
    const { createHash } = await import("node:crypto");
    const { readFile } = await import("node:fs/promises");
    const { plan } = await load("valid/minimal.yaml");
    const bytes = await readFile(`${fixtures}valid/minimal.yaml`);
    expect(plan.spec).toEqual({
      file: "valid/minimal.yaml",
      sha256: createHash("sha256").update(bytes).digest("hex"),
    });
  });

  it("fills every request field with the reference defaults where the job is silent", async () => {
    const { plan } = await load("valid/minimal.yaml");
    expect(plan).toMatchObject({
      job: "minimal",
      concurrency: 4,
      outputDir: "out/minimal",
      provider: { name: "cometapi" },
    });
    expect(plan.tasks[0]?.request).toEqual({
      model: "act_two",
      character: { type: "image", uri: "https://assets.example.com/a.png" },
      reference: { type: "video", uri: "https://assets.example.com/a.mp4" },
      ratio: "1280:720",
      bodyControl: true,
      expressionIntensity: 1,
      seed: 1,
      contentModeration: { publicFigureThreshold: "auto" },
    });
    // The default output name is unique for every task: the pair, then the task key.
    expect(plan.tasks[0]?.output).toBe(`only/${plan.tasks[0]?.key}.mp4`);
    expect(plan.tasks[0]?.params).toEqual({});
  });

  it("takes provider settings and the output folder from the job, and --out over it", async () => {
    const { plan } = await load("valid/data-uri.yaml");
    expect(plan.provider).toEqual({
      name: "runway",
      baseUrl: "http://127.0.0.1:8080",
      runwayVersion: "2024-11-06",
    });
    expect(plan.outputDir).toBe("renders/data-uri-v2");
    const replaced = await loadPlan("valid/data-uri.yaml", { cwd: fixtures, outDir: "/tmp/elsewhere" });
    expect(replaced.plan.outputDir).toBe("/tmp/elsewhere");
  });

  it("applies GitHub Actions include semantics exactly as GitHub documents them", async () => {
    const { plan, report } = await load("valid/github-include.yaml");
    const rows = plan.tasks.map(({ request: r }) => [r.ratio, r.seed, r.expressionIntensity, r.bodyControl]);
    expect(rows).toEqual([
      ["1280:720", 1, 4, false], // apple cat: pink (overwrote green), circle
      ["1280:720", 2, 2, false], // apple dog: green, circle
      ["720:1280", 1, 4, true], // pear cat: pink
      ["720:1280", 2, 2, true], // pear dog: green
      ["960:960", 100, 1, true], // banana: added
      ["960:960", 1, 1, true], // banana cat: added on its own, not merged into banana
    ]);
    expect(report.includes.map(({ effect, extended, added }) => ({ effect, extended, added }))).toEqual([
      { effect: "extended", extended: 4, added: 0 },
      { effect: "extended", extended: 2, added: 0 },
      { effect: "extended", extended: 2, added: 0 },
      { effect: "added", extended: 0, added: 1 },
      { effect: "added", extended: 0, added: 1 },
    ]);
    expect(plan.tasks[4]?.params).toEqual({ ratio: "960:960" });
    expect(plan.tasks[0]?.source.map((s) => s.line)).toEqual([7, 14, 15, 16]);
  });

  it("applies the precedence defaults < job sweep < pair fixed < pair sweep", async () => {
    const { plan } = await load("valid/pair-precedence.yaml");
    const rows = plan.tasks.map((t) => [
      t.pair,
      t.request.expressionIntensity,
      t.request.seed,
      t.request.bodyControl,
    ]);
    expect(rows).toEqual([
      ["plain", 1, 10, true],
      ["plain", 1, 11, true],
      ["plain", 3, 10, true],
      ["plain", 3, 11, true],
      ["fixes-ei", 5, 10, true],
      ["fixes-ei", 5, 11, true],
      ["own-seeds", 1, 20, false],
      ["own-seeds", 3, 20, false],
    ]);
    expect(plan.tasks.every((t) => t.request.ratio === "960:960")).toBe(true);
    expect(plan.tasks[4]?.params).toEqual({ seed: 10 });
  });

  it("reduces the job's zip by the fields a pair fixes (DESIGN.md's own example)", async () => {
    const { plan } = await load("valid/design-example.yaml");
    const first = plan.tasks.slice(0, 2).map((t) => [t.request.ratio, t.request.bodyControl, t.params]);
    expect(first).toEqual([
      ["720:1280", true, { expressionIntensity: 1, seed: 7, bodyControl: true }],
      ["720:1280", false, { expressionIntensity: 1, seed: 7, bodyControl: false }],
    ]);
    const added = plan.tasks.at(-1);
    expect(added?.params).toEqual({ expressionIntensity: 2, seed: 99 });
    expect(added?.source.map((s) => `${s.line}:${s.column}`)).toEqual(["17:5", "29:5"]);
  });
});

describe("invalid job files: every problem, at its line and column", () => {
  const table: { file: string; problems: string[] }[] = [
    {
      file: "invalid/typos.yaml",
      problems: [
        '4:3: unknown key "expresionIntensity": did you mean "expressionIntensity"?',
        '9:5: unknown key "sed": did you mean "seed"?',
        '10:1: unknown key "sweeps": did you mean "sweep"?',
        '12:1: unknown key "seed" at the top level: request fields go under defaults, a pair, or sweep',
      ],
    },
    {
      file: "invalid/bad-values.yaml",
      problems: [
        "1:10: expected version: 1 (the only job-file format version), got 2",
        "2:7: expected a name of lowercase letters, digits, '.', '_' or '-', starting with a letter or digit, at most 64 characters, got \"Bad_Name\"",
        "3:14: expected an integer from 1 to 64, got 0",
        '5:10: expected one of "1280:720", "720:1280", "960:960", "1104:832", "832:1104", "1584:672", got "1280x720"',
        "6:24: expected an integer from 1 to 5, got 7",
        "7:9: expected an integer from 0 to 4294967295, got -1",
        '8:16: expected true or false, got "yes"',
        "11:16: expected an asset name or an inline {type, uri} or {type, path}, got 5",
        "12:16: missing uri (an https:// URL, a data: URI or a runway:// upload URI) or path (a local file)",
        "14:9: expected a list of seeds, or a range {from, to}, got 5",
        "15:28: duplicate value 1: each value may be listed once",
        "16:10: the list is empty; expected at least one value",
      ],
    },
    {
      file: "invalid/missing.yaml",
      problems: ['1:1: missing required key "name"', '3:5: missing required key "character"'],
    },
    {
      file: "invalid/rules.yaml",
      problems: [
        "3:22: base URL: plain http:// is only allowed on a loopback address (127.0.0.1, localhost, [::1]); use https://",
        '6:29: asset "take": the service only fetches https:// URLs',
        '7:30: asset "still": the service only fetches URLs on a domain name, not an IP address',
        '10:16: unknown asset "heor": did you mean "hero"?',
        '12:9: duplicate pair id "a" (first used on line 9); pair ids must be unique',
        '14:16: a reference must be a video (the performance to transfer), but asset "still" is an image',
        "16:24: range ends before it starts: to (3) is less than from (9)",
        '17:3: "ratio" is both a sweep key and a zip key; list its values in one place',
        "20:7: zip entry sets bodyControl, but the first entry sets bodyControl, ratio: every zip entry must set the same keys",
        '22:13: unknown pair "b": did you mean "a"?',
        '24:7: exclude key "expressionIntensity" is not swept anywhere in this job; exclude only filters swept values (swept: ratio, seed, bodyControl)',
        "26:8: output.dir: unknown placeholder {pair} (placeholders: {job}); the folder is the same for every task",
        "27:9: output.name: unknown placeholder {sed}: did you mean {seed}? (placeholders: {job}, {pair}, {key}, {index}, {model}, {ratio}, {bodyControl}, {expressionIntensity}, {seed}, {publicFigureThreshold})",
      ],
    },
    {
      file: "invalid/reference-image.yaml",
      problems: [
        "6:16: a reference must be a video (the performance to transfer), but it is an image",
        "10:11: duplicate zip entry (same as entry 1)",
      ],
    },
    {
      file: "invalid/collision.yaml",
      problems: [
        '11:9: output.name gives the same file "a/ei1.mp4" to task 0 (pair a, expressionIntensity 1, seed 1, key 7f4a99683db82204) and task 1 (pair a, expressionIntensity 1, seed 2, key 0a64aff2a7d261f7); add a placeholder that tells them apart, such as {seed}',
        '11:9: output.name gives the same file "a/ei2.mp4" to task 2 (pair a, expressionIntensity 2, seed 1, key eaf05d5c66fa4c47) and task 3 (pair a, expressionIntensity 2, seed 2, key 8fd6ad7640b652ae); add a placeholder that tells them apart, such as {seed}',
      ],
    },
    {
      file: "invalid/unsafe-name.yaml",
      problems: [
        '8:9: output.name gives "../a/7f4a99683db82204.mp4", which is unsafe: it contains "..", which could leave the output folder',
      ],
    },
    {
      file: "invalid/reserved-id.yaml",
      problems: [
        '4:9: pair id "con" is a reserved device name on Windows and cannot name a file or folder',
        '7:9: pair id "trailing." ends with ".", which Windows drops from file names',
      ],
    },
    {
      file: "invalid/too-many.yaml",
      problems: [
        '12:3: this sweep expands to 12,000,000,003 tasks for pair "a" (24,000,000,006 in the whole job), over the limit of 10,000 tasks; narrow the sweep, or raise the limit with --max-tasks (seed alone has 4,000,000,001 values)',
      ],
    },
    {
      file: "invalid/syntax.yaml",
      problems: [
        "4:3: YAML syntax error: block collections are not allowed within flow collections",
        "5:1: YAML syntax error: flow sequence in block collection must be sufficiently indented and end with a ]",
      ],
    },
    {
      file: "invalid/duplicate-key.yaml",
      problems: ["3:1: duplicate key: each key may appear once in a mapping"],
    },
    {
      file: "invalid/two-documents.yaml",
      problems: ["7:1: a job file holds one YAML document, but a second one starts here (---)"],
    },
    {
      file: "invalid/custom-tag.yaml",
      problems: [
        "2:21: custom tag !!js/function is not allowed: job files are plain YAML data",
        "5:23: custom tag !asset is not allowed: job files are plain YAML data",
      ],
    },
    {
      file: "invalid/billion-laughs.yaml",
      problems: [
        '7:8: aliases expand to more than 10000 values; job files do not need that many (is this a "billion laughs" file?)',
      ],
    },
    {
      file: "invalid/proto.yaml",
      problems: [
        '3:1: unknown key "__proto__": expected one of $schema, version, extends, name, provider, concurrency, defaults, assets, assetSources, pairs, sweep, include, exclude, output, budget',
        '4:1: unknown key "constructor": expected one of $schema, version, extends, name, provider, concurrency, defaults, assets, assetSources, pairs, sweep, include, exclude, output, budget',
        '12:5: unknown key "__proto__": expected one of id, character, reference, model, ratio, bodyControl, expressionIntensity, seed, contentModeration, sweep, matrix',
      ],
    },
  ];

  it.each(table)("$file", async ({ file, problems }) => {
    expect(await problemsOf(file)).toEqual(problems);
  });

  it("reports a missing file as a user error naming it, not as a crash", async () => {
    await expect(load("invalid/nope.yaml")).rejects.toThrow(
      "cannot read job file invalid/nope.yaml: no such file",
    );
    await expect(load("invalid")).rejects.toThrow("invalid: is a directory, not a job file");
  });
});
