// The schema and the TypeScript types describe the same manifest. Each sample below is typed with
// `satisfies`, so it must have every field of its type and no other; the schema must accept it,
// list exactly its fields as properties and all of them as required.
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import {
  ATTEMPT_FIELDS,
  CHECK_FIELDS,
  ERROR_FIELDS,
  MANIFEST_FIELDS,
  MANIFEST_TASK_STATUSES,
  OUTPUT_FIELDS,
  REQUEST_FIELDS,
  SPEC_FIELDS,
  SUMMARY_FIELDS,
  TASK_FIELDS,
} from "../../src/manifest/fields.js";
import { loadManifestSchema, manifestSchemaProblems } from "../../src/manifest/schema.js";
import type {
  Manifest,
  ManifestAttempt,
  ManifestError,
  ManifestOutput,
  ManifestOutputCheck,
  ManifestSummary,
  ManifestTask,
} from "../../src/manifest/types.js";
import type { MediaRef, RequestBody } from "../../src/job/types.js";
import { RATIOS } from "../../src/job/types.js";

const error = { code: "INTERNAL", message: "render failed", retryable: true } satisfies ManifestError;
const check = {
  name: "ratio",
  ok: false,
  expected: "960:960",
  actual: "192x108",
  message: "the video is 192x108, not 960:960",
} satisfies Required<ManifestOutputCheck>;
const output = {
  file: "hero-take1/ei3-s1.mp4",
  bytes: 1234,
  sha256: "a".repeat(64),
  checks: [check],
} satisfies Required<ManifestOutput>;
const attempt = { attempt: 1, taskId: "t-1", status: "FAILED", error } satisfies ManifestAttempt;
const character = { type: "image", uri: "https://cdn.example.com/hero.png" } satisfies MediaRef;
const request = {
  model: "act_two",
  character,
  reference: { type: "video", uri: "https://cdn.example.com/take1.mp4" },
  ratio: "1280:720",
  bodyControl: true,
  expressionIntensity: 3,
  seed: 1,
  contentModeration: { publicFigureThreshold: "auto" },
} satisfies RequestBody;
const task = {
  key: "0123456789abcdef",
  pair: "hero-take1",
  params: { expressionIntensity: 3, seed: 1, bodyControl: true, ratio: "1280:720" },
  request,
  taskId: "t-2",
  status: "SUCCEEDED",
  attempts: 2,
  outputs: [output],
  error: null,
  possiblyChargedTwice: false,
  history: [attempt],
} satisfies ManifestTask;
const summary = {
  total: 1,
  succeeded: 1,
  failed: 0,
  pending: 0,
  possiblyChargedTwice: 0,
} satisfies ManifestSummary;
const manifest = {
  version: 1,
  job: "hero-closeups",
  spec: { file: "jobs/hero.yaml", sha256: "b".repeat(64) },
  summary,
  tasks: [task],
  orphans: [],
} satisfies Manifest;

interface ObjectSchema {
  type?: string;
  properties: Record<string, unknown>;
  required: string[];
  additionalProperties: boolean;
}

const schema = loadManifestSchema() as unknown as ObjectSchema & {
  $schema: string;
  $id: string;
  $defs: Record<string, ObjectSchema & { enum?: string[] }>;
};

function def(name: string): ObjectSchema & { enum?: string[] } {
  const found = schema.$defs[name];
  if (!found) throw new Error(`schema has no $defs/${name}`);
  return found;
}

// The fields a manifest may leave out (they are optional in the TypeScript types too).
const optional: Record<string, readonly string[]> = {
  output: ["checks"],
  outputCheck: ["expected", "actual", "message"],
};

const objects: [string, ObjectSchema, object, readonly string[]][] = [
  ["manifest", schema, manifest, MANIFEST_FIELDS],
  ["spec", schema.properties.spec as ObjectSchema, manifest.spec, SPEC_FIELDS],
  ["summary", def("summary"), summary, SUMMARY_FIELDS],
  ["task", def("task"), task, TASK_FIELDS],
  ["attempt", def("attempt"), attempt, ATTEMPT_FIELDS],
  ["error", def("error"), error, ERROR_FIELDS],
  ["output", def("output"), output, OUTPUT_FIELDS],
  ["outputCheck", def("outputCheck"), check, CHECK_FIELDS],
  ["request", def("request"), request, REQUEST_FIELDS],
  ["mediaRef", def("mediaRef"), character, ["type", "uri"]],
];

function problems(changes: Partial<ManifestTask>): string[] {
  return manifestSchemaProblems({ ...manifest, tasks: [{ ...task, ...changes }] });
}

describe("schemas/manifest.schema.json against src/manifest/types.ts", () => {
  it("is a valid draft 2020-12 schema with an $id", () => {
    expect(schema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    expect(schema.$id).toMatch(/^https:\/\/.+manifest\.schema\.json$/);
    // The CLI compiles it without checking it against the meta-schema, to start faster.
    const ajv = new Ajv2020({ strict: true, allowUnionTypes: true });
    ajv.validateSchema(schema);
    expect(ajv.errors ?? []).toEqual([]);
  });

  it("accepts a manifest that uses every field of every type", () => {
    expect(manifestSchemaProblems(manifest)).toEqual([]);
  });

  it.each(objects)(
    "%s: the schema's properties, required list and the type's fields are the same",
    (name, object, sample, order) => {
      const fields = Object.keys(sample);
      expect(Object.keys(object.properties)).toEqual(fields);
      expect(object.required).toEqual(fields.filter((field) => !optional[name]?.includes(field)));
      expect(object.additionalProperties).toBe(false);
      // The serialiser's field order is the same as the schema's (and the samples').
      expect([...order]).toEqual(fields);
    },
  );

  it("lists the same task statuses as the TypeScript union", () => {
    expect(def("status").enum).toEqual([...MANIFEST_TASK_STATUSES]);
  });

  it("lists the same ratios as the plan", () => {
    const ratio = def("request").properties.ratio as { enum: string[] };
    expect(ratio.enum).toEqual([...RATIOS]);
  });

  it("rejects an unknown field anywhere, and a missing one", () => {
    expect(manifestSchemaProblems({ ...manifest, extra: 1 })).toEqual(['(top level): unknown field "extra"']);
    expect(
      manifestSchemaProblems({ ...manifest, tasks: [{ ...task, outputs: [{ ...output, mtime: 1 }] }] }),
    ).toEqual(['/tasks/0/outputs/0: unknown field "mtime"']);
    const { history: _history, ...withoutHistory } = task;
    expect(manifestSchemaProblems({ ...manifest, tasks: [withoutHistory] })).toEqual([
      '/tasks/0: missing field "history"',
    ]);
  });

  it("holds the rules a truthful manifest keeps", () => {
    expect(problems({ outputs: [] })).toEqual(["/tasks/0/outputs: must NOT have fewer than 1 items"]);
    expect(problems({ taskId: null })).toEqual(["/tasks/0/taskId: must be string"]);
    expect(problems({ status: "FAILED", outputs: [], error: null })).toEqual([
      "/tasks/0/error: must be object",
    ]);
    expect(problems({ status: "NOT_SUBMITTED", taskId: null, outputs: [], attempts: 0 })).toEqual([]);
    // An orphan's files are not the job's any more: a SUCCEEDED orphan may list none, but has a task id.
    expect(manifestSchemaProblems({ ...manifest, orphans: [{ ...task, outputs: [] }] })).toEqual([]);
    expect(manifestSchemaProblems({ ...manifest, orphans: [{ ...task, taskId: null }] })).toEqual([
      "/orphans/0/taskId: must be string",
    ]);
    expect(problems({ key: "XYZ" })).toEqual(['/tasks/0/key: must match pattern "^[0-9a-f]{16}$"']);
    for (const file of ["../escape.mp4", "/abs.mp4", "a/../../b.mp4", "a\\b.mp4", "./a.mp4"])
      expect({ file, problems: problems({ outputs: [{ ...output, file }] }).length }).toEqual({
        file,
        problems: 1,
      });
    expect(problems({ outputs: [{ ...output, file: "pair/..hidden.mp4" }] })).toEqual([]);
    // Checks are optional (no check ran), and so are a check's details.
    const { checks: _checks, ...unchecked } = output;
    expect(problems({ outputs: [unchecked] })).toEqual([]);
    expect(problems({ outputs: [{ ...output, checks: [{ name: "mp4", ok: true }] }] })).toEqual([]);
    const badCheck = { ...output, checks: [{ name: "size", ok: true }] };
    expect(manifestSchemaProblems({ ...manifest, tasks: [{ ...task, outputs: [badCheck] }] }).length).toBe(1);
  });
});
