// The manifest's bytes: one layout (DESIGN.md field order, 2-space JSON), whether written whole or
// pieced together by a checkpoint, so both give the same bytes.
import { isAssembled } from "./assemble.js";
import { MANIFEST_FIELDS, SPEC_FIELDS, SUMMARY_FIELDS, pickFields } from "./fields.js";
import { orderTask } from "./normalise.js";
import { manifestSchemaProblems } from "./schema.js";
import type { Manifest, ManifestTask } from "./types.js";

/** The manifest's bytes: fields in DESIGN.md order, 2-space JSON, trailing newline. */
export function serializeManifest(manifest: Manifest): string {
  return JSON.stringify(orderManifest(manifest), null, 2) + "\n";
}

export function orderManifest(manifest: Manifest): Manifest {
  return {
    ...pickFields(manifest, MANIFEST_FIELDS),
    spec: pickFields(manifest.spec, SPEC_FIELDS),
    summary: pickFields(manifest.summary, SUMMARY_FIELDS),
    tasks: isAssembled(manifest.tasks) ? manifest.tasks : manifest.tasks.map(orderTask),
    orphans: isAssembled(manifest.orphans) ? manifest.orphans : manifest.orphans.map(orderTask),
  };
}

/** The manifest's bytes, refused when the manifest fails its own schema (a bug: it is not written). */
export function serializeChecked(manifest: Manifest): string {
  // The ordered copy is exactly what is serialised (JSON values only), so validating it validates the
  // bytes without parsing them back: a second full copy of a large job's manifest, and its CPU.
  const ordered = orderManifest(manifest);
  const problems = manifestSchemaProblems(ordered);
  if (problems.length > 0)
    throw new Error(`manifest: refusing to write an invalid manifest: ${problems.join("; ")}`);
  return JSON.stringify(ordered, null, 2) + "\n";
}

/** How JSON.stringify(manifest, null, 2) indents an item of a top-level list. */
const LIST_ITEM_INDENT = "    ";
export const EMPTY_LIST = Buffer.from("[]");
export const LIST_START = Buffer.from(`[\n${LIST_ITEM_INDENT}`);
export const ITEM_SEPARATOR = Buffer.from(`,\n${LIST_ITEM_INDENT}`);
export const LIST_END = Buffer.from("\n  ]");
export const ORPHANS_FIELD = Buffer.from(`,\n  "orphans": `);
export const MANIFEST_END = Buffer.from("\n}\n");

/** A one-item list in a top-level field, as JSON.stringify(manifest, null, 2) writes it around its item. */
const ITEM_PREFIX = `{\n  "tasks": [\n${LIST_ITEM_INDENT}`;
const ITEM_SUFFIX = "\n  ]\n}";

/**
 * A normalised task's JSON as an item of a top-level list (its inner lines indented one level more),
 * stringified in place so that no second, re-indented copy of the text is made.
 */
export function itemText(task: ManifestTask): string {
  const framed = JSON.stringify({ tasks: [task] }, null, 2);
  return framed.slice(ITEM_PREFIX.length, framed.length - ITEM_SUFFIX.length);
}
