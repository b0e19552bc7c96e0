// Validation of manifest.json against schemas/manifest.schema.json. The schema file is the
// single source: it ships with the package and editors and other tools use the same file.
import { readFileSync } from "node:fs";
import type { ErrorObject, ValidateFunction } from "ajv";
import { validateManifest } from "./schema-validator.generated.js";

export const manifestSchemaUrl = new URL("../../schemas/manifest.schema.json", import.meta.url);

/** The parsed schema document (read once). */
export function loadManifestSchema(): Record<string, unknown> {
  return JSON.parse(readFileSync(manifestSchemaUrl, "utf8")) as Record<string, unknown>;
}

// Compiled ahead of time from the schema file (scripts/generate-validators.ts): no run compiles it.
const validate = validateManifest as unknown as ValidateFunction;

/** Problems found in `value` as "where: what" lines; empty when it is a valid manifest. */
export function manifestSchemaProblems(value: unknown): string[] {
  if (validate(value)) return [];
  return uniqueProblems(validate.errors ?? []);
}

function uniqueProblems(errors: ErrorObject[]): string[] {
  // if/then and oneOf report a summary line on top of the detail; the detail is what helps.
  const useful = errors.filter((error) => error.keyword !== "if" && error.keyword !== "oneOf");
  const lines = (useful.length > 0 ? useful : errors).map(describeError);
  return [...new Set(lines)];
}

function describeError(error: ErrorObject): string {
  const where = error.instancePath === "" ? "(top level)" : error.instancePath;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case "additionalProperties":
      return `${where}: unknown field "${String(params.additionalProperty)}"`;
    case "required":
      return `${where}: missing field "${String(params.missingProperty)}"`;
    case "enum":
      return `${where}: must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`;
    case "const":
      return `${where}: must be ${JSON.stringify(params.allowedValue)}`;
    default:
      return `${where}: ${error.message ?? error.keyword}`;
  }
}
