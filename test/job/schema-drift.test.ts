// schemas/job.schema.json and the JobFile types in src/job/types.ts describe the same file format.
// Each `Shape<T>` table below must name every property of T, and only those, with its optionality:
// `npm run typecheck` fails when a type changes without its table. The tests then check each table
// against the schema, so neither side can change alone.
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { jobSchema, requestBodyProblems } from "../../src/job/index.js";
import { validateJobSchema } from "../../src/job/schema.js";
import { readYaml } from "../../src/job/read-yaml.js";
import {
  PROVIDER_NAMES,
  type AssetSourceSpec,
  type JobFileLayer,
  type MatrixPairSpec,
  type MatrixSpec,
  PUBLIC_FIGURE_THRESHOLDS,
  RATIOS,
  SWEEP_FIELDS,
  type AssetSpec,
  type BudgetSpec,
  type CombinationSpec,
  type ContentModerationSpec,
  type ExcludeSpec,
  type IncludeSpec,
  type IntegerRangeSpec,
  type JobFile,
  type MediaRef,
  type MediaSpec,
  type OutputSpec,
  type PairSpec,
  type ProviderSpec,
  type RequestBody,
  type RequestFieldsSpec,
  type SweepField,
  type SweepSpec,
} from "../../src/job/types.js";

type Shape<T> = { [K in keyof Required<T>]: undefined extends T[K] ? "optional" : "required" };

// The schema describes a file as written: a base it extends may lack name and pairs.
const jobFile: Shape<JobFileLayer> = {
  $schema: "optional",
  version: "required",
  extends: "optional",
  assetSources: "optional",
  name: "optional",
  provider: "optional",
  concurrency: "optional",
  defaults: "optional",
  assets: "optional",
  pairs: "optional",
  sweep: "optional",
  include: "optional",
  exclude: "optional",
  output: "optional",
  budget: "optional",
};
const provider: Shape<ProviderSpec> = {
  name: "optional",
  baseUrl: "optional",
  runwayVersion: "optional",
  pricePerTaskUsd: "optional",
};
const budget: Shape<BudgetSpec> = { maxCredits: "optional", maxUsd: "optional" };
const asset: Shape<AssetSpec> = { type: "required", uri: "optional", path: "optional", duration: "optional" };
const requestFields: Shape<RequestFieldsSpec> = {
  model: "optional",
  ratio: "optional",
  bodyControl: "optional",
  expressionIntensity: "optional",
  seed: "optional",
  contentModeration: "optional",
};
const contentModeration: Shape<ContentModerationSpec> = { publicFigureThreshold: "optional" };
const mediaRef: Shape<MediaSpec> = { type: "required", uri: "optional", path: "optional" };
const pair: Shape<PairSpec> = {
  ...requestFields,
  id: "required",
  character: "required",
  reference: "required",
  sweep: "optional",
};
const matrixPair: Shape<MatrixPairSpec> = {
  ...requestFields,
  matrix: "required",
  id: "required",
  character: "optional",
  reference: "optional",
  sweep: "optional",
};
const matrix: Shape<MatrixSpec> = { character: "optional", reference: "optional" };
const assetSource: Shape<AssetSourceSpec> = {
  csv: "optional",
  jsonl: "optional",
  glob: "optional",
  type: "optional",
};
const sweep: Shape<SweepSpec> = {
  ratio: "optional",
  bodyControl: "optional",
  expressionIntensity: "optional",
  seed: "optional",
  zip: "optional",
};
const combination: Shape<CombinationSpec> = {
  ratio: "optional",
  bodyControl: "optional",
  expressionIntensity: "optional",
  seed: "optional",
};
const include: Shape<IncludeSpec> = { ...combination, pair: "optional" };
const exclude: Shape<ExcludeSpec> = { ...combination, pair: "optional" };
const integerRange: Shape<IntegerRangeSpec> = { from: "required", to: "required", step: "optional" };
const output: Shape<OutputSpec> = { dir: "optional", name: "optional" };
const request: Shape<RequestBody> = {
  model: "required",
  character: "required",
  reference: "required",
  ratio: "required",
  bodyControl: "required",
  expressionIntensity: "required",
  seed: "required",
  contentModeration: "required",
};
const mediaTypes: Record<MediaRef["type"], true> = { image: true, video: true };
const sweepFields: Record<SweepField, true> = {
  ratio: true,
  bodyControl: true,
  expressionIntensity: true,
  seed: true,
};

type JsonSchema = {
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: unknown[];
  $defs?: Record<string, JsonSchema>;
};

const schema = jobSchema() as JsonSchema;
const defs = schema.$defs ?? {};

function definition(name: string): JsonSchema {
  const found = defs[name];
  if (!found) throw new Error(`schemas/job.schema.json has no $defs/${name}`);
  return found;
}

describe("schemas/job.schema.json and src/job/types.ts agree", () => {
  const objects: [string, JsonSchema, Record<string, "optional" | "required">][] = [
    ["the job file", schema, jobFile],
    ["provider", definition("provider"), provider],
    ["requestFields (defaults)", definition("requestFields"), requestFields],
    ["contentModeration", definition("contentModeration"), contentModeration],
    ["mediaRef", definition("mediaRef"), mediaRef],
    ["asset", definition("asset"), asset],
    ["budget", definition("budget"), budget],
    // A pair offers matrix too, so that an editor completes it; an entry with matrix is a matrixPair.
    ["pair", definition("pair"), { ...pair, matrix: "optional" }],
    ["matrixPair", definition("matrixPair"), matrixPair],
    ["matrix", definition("matrixPair").properties?.matrix ?? {}, matrix],
    ["assetSource", definition("assetSource"), assetSource],
    ["sweep", definition("sweep"), sweep],
    ["combination (zip entry)", definition("combination"), combination],
    ["include", definition("include"), include],
    ["exclude", definition("exclude"), exclude],
    ["integerRange", definition("integerRange"), integerRange],
    ["output", definition("output"), output],
    ["request", definition("request"), request],
  ];

  it.each(objects)("%s: same properties, same required ones", (_name, node, shape) => {
    expect(Object.keys(node.properties ?? {}).toSorted()).toEqual(Object.keys(shape).toSorted());
    const required = Object.entries(shape)
      .filter(([, presence]) => presence === "required")
      .map(([key]) => key);
    expect((node.required ?? []).toSorted()).toEqual(required.toSorted());
  });

  it("is a valid draft 2020-12 schema, with a title and description on every property", () => {
    // The CLI compiles it without checking it against the meta-schema, to start faster.
    const ajv = new Ajv2020({ strict: true, allowUnionTypes: true });
    ajv.addKeyword({ keyword: "errorMessage", schemaType: "string" });
    ajv.validateSchema(schema);
    expect(ajv.errors ?? []).toEqual([]);
    expect(() => ajv.compile(schema)).not.toThrow();
    // Editors show a property's title and description on hover: its own, or its definition's.
    type Documented = JsonSchema & { title?: string; description?: string; $ref?: string };
    const documented = (node: Documented) => node.title !== undefined && node.description !== undefined;
    const undocumented: string[] = [];
    for (const [name, node] of Object.entries(defs) as [string, Documented][]) {
      if (!documented(node)) undocumented.push(`#/$defs/${name}`);
    }
    for (const [path, node] of [
      ["#", schema],
      ...Object.entries(defs).map(([name, d]) => [`#/$defs/${name}`, d]),
    ] as [string, JsonSchema][]) {
      for (const [name, property] of Object.entries(node.properties ?? {}) as [string, Documented][]) {
        if (!documented(property) && property.$ref === undefined)
          undocumented.push(`${path}/properties/${name}`);
      }
    }
    expect(undocumented).toEqual([]);
  });

  it("enumerates the same ratios, providers, thresholds, media types and sweepable fields", () => {
    expect(definition("ratio").enum).toEqual([...RATIOS]);
    expect(definition("provider").properties?.name?.enum).toEqual([...PROVIDER_NAMES]);
    expect(definition("publicFigureThreshold").enum).toEqual([...PUBLIC_FIGURE_THRESHOLDS]);
    expect(definition("mediaRef").properties?.type?.enum).toEqual(Object.keys(mediaTypes));
    expect(Object.keys(sweepFields)).toEqual([...SWEEP_FIELDS]);
    expect(Object.keys(definition("combination").properties ?? {})).toEqual([...SWEEP_FIELDS]);
  });

  it("accepts every field of a JobFile written as TypeScript", () => {
    const everything = {
      $schema: "../schemas/job.schema.json",
      version: 1,
      name: "all-fields",
      provider: {
        name: "runway",
        baseUrl: "https://api.dev.runwayml.com",
        runwayVersion: "2024-11-06",
        pricePerTaskUsd: 0.4,
      },
      concurrency: 8,
      defaults: {
        model: "act_two",
        ratio: "1104:832",
        bodyControl: false,
        expressionIntensity: 5,
        seed: 4294967295,
        contentModeration: { publicFigureThreshold: "low" },
      },
      assets: {
        hero: { type: "image", uri: "https://assets.example.com/hero.png" },
        take: { type: "video", uri: "https://assets.example.com/take.mp4", duration: 12.5 },
      },
      pairs: [
        {
          id: "q",
          character: "hero",
          reference: "take",
        },
        {
          id: "p",
          character: "hero",
          reference: { type: "video", uri: "https://assets.example.com/take.mp4" },
          model: "act_two",
          ratio: "832:1104",
          bodyControl: true,
          expressionIntensity: 1,
          seed: 0,
          contentModeration: {},
          sweep: {
            seed: { from: 1, to: 9, step: 2 },
            zip: [{ expressionIntensity: 2 }, { expressionIntensity: 3 }],
          },
        },
      ],
      sweep: {
        ratio: ["1584:672"],
        bodyControl: [true, false],
        expressionIntensity: { from: 1, to: 5 },
        seed: [1],
      },
      include: [{ pair: "p", ratio: "960:960", bodyControl: true, expressionIntensity: 4, seed: 3 }],
      exclude: [{ pair: "p", ratio: "1584:672", bodyControl: false, expressionIntensity: 1, seed: 1 }],
      output: { dir: "out/{job}", name: "{pair}/{key}.mp4" },
      budget: { maxCredits: 1000, maxUsd: 10 },
    } satisfies JobFile;
    const result = validateJobSchema(readYaml(JSON.stringify(everything), "all.json"));
    expect("diagnostics" in result ? result.diagnostics : []).toEqual([]);
  });

  it("accepts every field of a JobFileLayer: extends, asset sources, a matrix of pairs", () => {
    const layer = {
      version: 1,
      extends: "./base.yaml",
      assetSources: [
        { csv: "./catalog/characters.csv" },
        { jsonl: "./catalog/takes.jsonl" },
        { glob: "./clips/*.mp4", type: "video" },
        { glob: "./stills/*.png" },
      ],
      pairs: [
        {
          matrix: { character: ["fox", "cast-*"], reference: ["wave"] },
          id: "{character}-{reference}",
          expressionIntensity: 4,
          sweep: { seed: [1, 2] },
        },
        { matrix: { character: ["owl"] }, id: "{character}-still", reference: "wave" },
        { id: "knight", character: "knight", reference: "wave" },
      ],
    } satisfies JobFileLayer;
    const result = validateJobSchema(readYaml(JSON.stringify(layer), "layer.json"));
    expect("diagnostics" in result ? result.diagnostics : []).toEqual([]);
  });

  it("accepts a complete RequestBody and refuses one with a field missing or a bad value", () => {
    const body = {
      model: "act_two",
      character: { type: "video", uri: "https://assets.example.com/c.mp4" },
      reference: { type: "video", uri: "https://assets.example.com/r.mp4" },
      ratio: "720:1280",
      bodyControl: true,
      expressionIntensity: 3,
      seed: 7,
      contentModeration: { publicFigureThreshold: "auto" },
    } satisfies RequestBody;
    expect(requestBodyProblems(body)).toEqual([]);
    const { seed: _seed, ...withoutSeed } = body;
    expect(requestBodyProblems(withoutSeed)).toEqual(["/ must have required property 'seed'"]);
    expect(
      requestBodyProblems({ ...body, reference: { type: "image", uri: "https://x.example.com/i.png" } }),
    ).toEqual(["/reference/type must be equal to constant"]);
    expect(requestBodyProblems({ ...body, contentModeration: {} })).toEqual([
      "/contentModeration must have required property 'publicFigureThreshold'",
    ]);
  });
});
