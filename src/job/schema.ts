import { readFileSync } from "node:fs";
import type { ErrorObject, ValidateFunction } from "ajv";
import { diagnosticAt } from "./diagnostics.js";
import { validateJob, validateRequest } from "./schema-validators.generated.js";
import { pointerSegment } from "./read-yaml.js";
import { closestMatch } from "./suggest.js";
import type { Locator } from "./locator.js";
import { SWEEP_FIELDS, type Diagnostic, type JobFileLayer } from "./types.js";

/** schemas/job.schema.json, shipped beside dist/ in the package. */
export const JOB_SCHEMA_URL = new URL("../../schemas/job.schema.json", import.meta.url);

// Compiled ahead of time from schemas/job.schema.json (scripts/generate-validators.ts, with the
// options that explain the messages below: allErrors, verbose, ownProperties): no command compiles it.
const validateJobLayer = validateJob as unknown as ValidateFunction<JobFileLayer>;
const validateRequestBody = validateRequest as unknown as ValidateFunction;

let schemaDocument: Record<string, unknown> | undefined;

function jobSchemas(): {
  schema: Record<string, unknown>;
  job: ValidateFunction<JobFileLayer>;
  request: ValidateFunction;
} {
  schemaDocument ??= JSON.parse(readFileSync(JOB_SCHEMA_URL, "utf8")) as Record<string, unknown>;
  return { schema: schemaDocument, job: validateJobLayer, request: validateRequestBody };
}

/** The job schema as a plain object (for tests and tools). */
export function jobSchema(): Record<string, unknown> {
  return jobSchemas().schema;
}

/** Checks one request body against `$defs/request`: what the service would accept. Returns ajv's messages. */
export function requestBodyProblems(body: unknown): string[] {
  const { request } = jobSchemas();
  if (request(body)) return [];
  return (request.errors ?? []).map(
    (error) => `${error.instancePath || "/"} ${error.message ?? error.keyword}`,
  );
}

/** The keys a job file may have at its top level. */
export function layerKeys(): string[] {
  return Object.keys((jobSchemas().schema.properties ?? {}) as object);
}

/**
 * Validates one file's data (or the composed job) against the job schema; every problem located
 * and in plain words.
 */
export function validateJobSchema(
  source: Locator & { value: unknown },
): { job: JobFileLayer } | { diagnostics: Diagnostic[] } {
  const { job } = jobSchemas();
  if (job(source.value)) return { job: source.value };
  return { diagnostics: describeSchemaErrors(job.errors ?? [], source) };
}

function describeSchemaErrors(errors: readonly ErrorObject[], source: Locator): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  const typeErrorAt = new Set<string>();
  const misspelt = misspeltRequiredKeys(errors);
  for (const error of errors) {
    // A required key written with a typo is one mistake: the unknown key's "did you mean" says it.
    if (error.keyword === "required" && misspelt.has(requiredId(error))) continue;
    // if/then/else only say "must match else"; the branch's own errors say what is wrong.
    if (error.keyword === "if" || error.keyword === "propertyNames") continue;
    // uri or path: the oneOf's own error says which; its branches' "missing uri/path" would not.
    if (/\/oneOf\/\d+\/required$/.test(error.schemaPath)) continue;
    // A value of the wrong type fails several schemas at once; the first, outermost one speaks.
    if (typeErrorAt.has(error.instancePath)) continue;
    if (error.keyword === "type") typeErrorAt.add(error.instancePath);
    const { pointer, part } = errorLocation(error);
    diagnostics.push(diagnosticAt(source.locate(pointer, part), describeSchemaError(error)));
  }
  return diagnostics;
}

/** `instancePath key` of each missing required key that an unknown key beside it is a typo of. */
function misspeltRequiredKeys(errors: readonly ErrorObject[]): Set<string> {
  const missing = new Map<string, string[]>();
  for (const error of errors) {
    if (error.keyword !== "required") continue;
    const key = String((error.params as Record<string, unknown>).missingProperty);
    missing.set(error.instancePath, [...(missing.get(error.instancePath) ?? []), key]);
  }
  const misspelt = new Set<string>();
  for (const error of errors) {
    if (error.keyword !== "additionalProperties") continue;
    const unknown = String((error.params as Record<string, unknown>).additionalProperty);
    const parent = (error.parentSchema ?? {}) as Record<string, unknown>;
    const suggestion = closestMatch(unknown, Object.keys((parent.properties ?? {}) as object));
    if (suggestion !== undefined && missing.get(error.instancePath)?.includes(suggestion))
      misspelt.add(`${error.instancePath} ${suggestion}`);
  }
  return misspelt;
}

function requiredId(error: ErrorObject): string {
  return `${error.instancePath} ${String((error.params as Record<string, unknown>).missingProperty)}`;
}

function errorLocation(error: ErrorObject): { pointer: string; part: "key" | "value" } {
  const params = error.params as Record<string, unknown>;
  if (error.keyword === "additionalProperties") {
    return {
      pointer: `${error.instancePath}/${pointerSegment(String(params.additionalProperty))}`,
      part: "key",
    };
  }
  if (error.propertyName !== undefined) {
    return { pointer: `${error.instancePath}/${pointerSegment(error.propertyName)}`, part: "key" };
  }
  if (error.keyword === "dependentRequired") {
    return { pointer: `${error.instancePath}/${pointerSegment(String(params.property))}`, part: "key" };
  }
  if (error.keyword === "uniqueItems") {
    return { pointer: `${error.instancePath}/${String(params.i)}`, part: "value" };
  }
  return { pointer: error.instancePath, part: "value" };
}

/** Keywords whose failure a schema node's errorMessage describes better than a generic message. */
const CUSTOM_MESSAGE_KEYWORDS = new Set(["type", "const", "enum", "pattern"]);

function describeSchemaError(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  const parent = (error.parentSchema ?? {}) as Record<string, unknown>;
  const custom = typeof parent.errorMessage === "string" ? parent.errorMessage : undefined;
  const got = describeValue(error.data);

  if (error.propertyName !== undefined) {
    return `invalid key "${error.propertyName}": ${custom ?? error.message ?? "not allowed here"}`;
  }
  if (custom !== undefined && CUSTOM_MESSAGE_KEYWORDS.has(error.keyword)) {
    return `${custom}, got ${got}`;
  }
  switch (error.keyword) {
    case "additionalProperties":
      return describeUnknownKey(String(params.additionalProperty), error.instancePath, parent);
    case "oneOf":
      if (error.schemaPath.includes("/assetSource/"))
        return Array.isArray(params.passingSchemas)
          ? "give one of csv, jsonl and glob in each entry, not several"
          : "missing csv, jsonl or glob: the catalogue this entry reads";
      return Array.isArray(params.passingSchemas)
        ? "give uri or path, not both"
        : "missing uri (an https:// URL, a data: URI or a runway:// upload URI) or path (a local file)";
    case "required":
      return `missing required key "${String(params.missingProperty)}"`;
    case "dependentRequired":
      return `${String(params.property)} goes with glob (the type of the files it matches; a catalogue gives each row's type)`;
    case "type":
      return `expected ${typeWords(params.type)}, got ${got}`;
    case "const":
      return `expected ${JSON.stringify(params.allowedValue)}, got ${got}`;
    case "enum":
      return `expected one of ${(params.allowedValues as unknown[]).map((value) => JSON.stringify(value)).join(", ")}, got ${got}`;
    case "minimum":
    case "maximum":
      return describeBounds(parent, got);
    case "minItems":
      return error.instancePath === "/pairs"
        ? "the list is empty; expected at least one pair ({id, character, reference})"
        : "the list is empty; expected at least one value";
    case "minLength":
      return "must not be empty";
    case "uniqueItems": {
      const list = Array.isArray(error.data) ? (error.data as unknown[]) : [];
      return `duplicate value ${describeValue(list[Number(params.i)])}: each value may be listed once`;
    }
    case "minProperties": {
      const fields = Object.keys((parent.properties ?? {}) as object);
      return `expected at least one of ${fields.join(", ")}`;
    }
    default:
      return error.message ?? `fails the schema's ${error.keyword} rule`;
  }
}

function describeUnknownKey(key: string, instancePath: string, parent: Record<string, unknown>): string {
  const known = Object.keys((parent.properties ?? {}) as object);
  const suggestion = closestMatch(key, known);
  if (suggestion !== undefined) return `unknown key "${key}": did you mean "${suggestion}"?`;
  if (instancePath === "" && (SWEEP_FIELDS as readonly string[]).includes(key)) {
    return `unknown key "${key}" at the top level: request fields go under defaults, a pair, or sweep`;
  }
  if (key === "<<")
    return `unknown key "<<": YAML merge keys are not supported; repeat the fields or use defaults`;
  return known.length > 0
    ? `unknown key "${key}": expected one of ${known.join(", ")}`
    : `unknown key "${key}"`;
}

function describeBounds(schema: Record<string, unknown>, got: string): string {
  const what = schema.type === "integer" ? "an integer" : "a number";
  const { minimum, maximum } = schema;
  if (typeof minimum === "number" && typeof maximum === "number") {
    return `expected ${what} from ${minimum} to ${maximum}, got ${got}`;
  }
  if (typeof minimum === "number") return `expected ${what} of at least ${minimum}, got ${got}`;
  return `expected ${what} of at most ${String(maximum)}, got ${got}`;
}

const TYPE_WORDS: Record<string, string> = {
  string: "text",
  integer: "an integer",
  number: "a number",
  boolean: "true or false",
  object: "a mapping (key: value)",
  array: "a list",
  null: "nothing",
};

function typeWords(type: unknown): string {
  const types = Array.isArray(type) ? (type as string[]) : [String(type)];
  return types.map((name) => TYPE_WORDS[name] ?? name).join(" or ");
}

/** A value as a user would recognise it from their YAML. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return "an empty value";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string")
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  return String(value);
}
