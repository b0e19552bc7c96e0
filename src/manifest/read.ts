// Reading a manifest back: parsed, checked against the schema and its own summary, and every way it
// can be wrong reported as a UserError naming the file.
import { readFile } from "node:fs/promises";
import { UserError } from "../errors.js";
import { hasErrnoCode } from "../fs/errno.js";
import { summarizeTasks } from "./assemble.js";
import { SUMMARY_FIELDS } from "./fields.js";
import { resolveManifestPath } from "./path.js";
import { manifestSchemaProblems } from "./schema.js";
import { MANIFEST_VERSION, type Manifest } from "./types.js";

/** How many schema problems a read error lists before "and N more". */
const MAX_LISTED_PROBLEMS = 8;

/**
 * Reads and validates a manifest, from its file or its output folder. Anything that is not a
 * valid actbatch manifest is a UserError that names the file and what is wrong with it.
 */
export async function readManifest(pathOrDir: string): Promise<Manifest> {
  const path = await resolveManifestPath(pathOrDir);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if (hasErrnoCode(error, "ENOENT", "ENOTDIR"))
      throw new UserError(
        `no manifest at ${path}`,
        undefined,
        "give an actbatch output folder or its manifest.json",
      );
    if (hasErrnoCode(error, "EISDIR")) throw new UserError(`${path} is a folder, not a manifest file`);
    throw new UserError(`cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return parseManifest(text, path);
}

/** Parses and validates manifest text; `path` only names the file in error messages. */
export function parseManifest(text: string, path: string): Manifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new UserError(
      `${path} is not valid JSON (${detail})`,
      undefined,
      "is it a truncated or hand-edited copy?",
    );
  }
  if (!isManifestLike(value))
    throw new UserError(`${path} is not an actbatch manifest (no "version" and "tasks" fields)`);
  if (value.version !== MANIFEST_VERSION)
    throw new UserError(
      `${path} is a version ${JSON.stringify(value.version)} manifest; this actbatch reads version ${MANIFEST_VERSION}`,
      undefined,
      "use the actbatch release that wrote it",
    );
  const problems = manifestSchemaProblems(value);
  if (problems.length > 0) throw new UserError(`${path} is not a valid manifest:\n${listProblems(problems)}`);
  const manifest = value as unknown as Manifest;
  const expected = summarizeTasks(manifest.tasks, manifest.orphans);
  const mismatched = SUMMARY_FIELDS.filter((field) => manifest.summary[field] !== expected[field]);
  if (mismatched.length > 0)
    throw new UserError(
      `${path} is not a valid manifest: its summary does not match its tasks (${mismatched
        .map((field) => `${field} says ${manifest.summary[field]}, the tasks say ${expected[field]}`)
        .join("; ")})`,
    );
  return manifest;
}

function isManifestLike(value: unknown): value is { version: unknown; tasks: unknown } {
  return (
    value !== null &&
    typeof value === "object" &&
    !Array.isArray(value) &&
    "version" in value &&
    "tasks" in value
  );
}

function listProblems(problems: string[]): string {
  const listed = problems.slice(0, MAX_LISTED_PROBLEMS).map((problem) => `  ${problem}`);
  if (problems.length > MAX_LISTED_PROBLEMS)
    listed.push(`  … and ${problems.length - MAX_LISTED_PROBLEMS} more`);
  return listed.join("\n");
}
