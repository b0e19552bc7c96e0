// The manifest (DESIGN.md section 5): assembled from the run engine's task records, written
// atomically and byte-for-byte deterministic, read back with schema validation.
import { mkdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { UserError } from "../errors.js";
import { removeAtomicLeftovers, writeFileAtomic } from "../fs/atomic-write.js";
import { hasErrnoCode } from "../fs/errno.js";
import type { Plan, TaskPlan } from "../spec/types.js";
import {
  ATTEMPT_FIELDS,
  CONTENT_MODERATION_FIELDS,
  ERROR_FIELDS,
  MANIFEST_FIELDS,
  MEDIA_REF_FIELDS,
  CHECK_FIELDS,
  OUTPUT_FIELDS,
  REQUEST_FIELDS,
  SPEC_FIELDS,
  SUMMARY_FIELDS,
  TASK_FIELDS,
  pickFields,
} from "./fields.js";
import { manifestSchemaProblems } from "./schema.js";
import {
  MANIFEST_VERSION,
  type Manifest,
  type ManifestAttempt,
  type ManifestError,
  type ManifestOutput,
  type ManifestSummary,
  type ManifestTask,
} from "./types.js";

export const MANIFEST_FILE = "manifest.json";

/** How many schema problems a read error lists before "and N more". */
const MAX_LISTED_PROBLEMS = 8;

export interface ManifestInput {
  plan: Plan;
  /** The run engine's records, in any order. Plan tasks missing here are recorded as NOT_SUBMITTED. */
  tasks: ManifestTask[];
  /** Paid tasks whose keys are no longer in the plan (typically carried over from the previous manifest). */
  orphans?: ManifestTask[];
}

/**
 * Builds the manifest of a run. Records whose key is in the plan become `tasks`, in plan order;
 * every other record becomes an orphan (sorted by key), so a paid task is never dropped even if
 * the caller filed it in the wrong list. Inputs are copied and normalised, so the same records
 * in any order give the same bytes.
 */
export function assembleManifest(input: ManifestInput): Manifest {
  const planned = new Map<string, TaskPlan>();
  for (const task of input.plan.tasks) planned.set(task.key, task);
  const byKey = new Map<string, ManifestTask>();
  for (const record of [...input.tasks, ...(input.orphans ?? [])]) {
    if (byKey.has(record.key)) throw new Error(`manifest: task key ${record.key} was recorded twice`);
    byKey.set(record.key, normaliseTask(record));
  }
  const tasks = input.plan.tasks
    .toSorted((a, b) => a.index - b.index)
    .map((task) => byKey.get(task.key) ?? notSubmittedTask(task));
  const orphans = [...byKey.values()]
    .filter((task) => !planned.has(task.key))
    .toSorted((a, b) => compareStrings(a.key, b.key));
  const manifest: Manifest = {
    version: MANIFEST_VERSION,
    job: input.plan.job,
    spec: pickFields(input.plan.spec, SPEC_FIELDS),
    summary: summarizeTasks(tasks, orphans),
    tasks,
    orphans,
  };
  assembledTasks.add(tasks);
  assembledTasks.add(orphans);
  return manifest;
}

/**
 * Task lists built by assembleManifest, whose records are already normalised copies in file order:
 * serialising them reuses them instead of copying every record again (a large job's manifest is
 * rebuilt at each checkpoint, and each copy is tens of megabytes of short-lived objects).
 */
const assembledTasks = new WeakSet<readonly ManifestTask[]>();

/** The manifest record of a plan task that no run has sent yet. */
export function notSubmittedTask(task: TaskPlan): ManifestTask {
  return normaliseTask({
    key: task.key,
    pair: task.pair,
    params: task.params,
    request: task.request,
    taskId: null,
    status: "NOT_SUBMITTED",
    attempts: 0,
    outputs: [],
    error: null,
    possiblyChargedTwice: false,
    history: [],
  });
}

/** Counts over the job's tasks; possible double charges are counted over orphans too (they were paid). */
export function summarizeTasks(
  tasks: readonly ManifestTask[],
  orphans: readonly ManifestTask[] = [],
): ManifestSummary {
  const succeeded = tasks.filter((task) => task.status === "SUCCEEDED").length;
  const failed = tasks.filter((task) => task.status === "FAILED").length;
  return {
    total: tasks.length,
    succeeded,
    failed,
    pending: tasks.length - succeeded - failed,
    possiblyChargedTwice: [...tasks, ...orphans].filter((task) => task.possiblyChargedTwice).length,
  };
}

/** The manifest's bytes: fields in DESIGN.md order, 2-space JSON, trailing newline. */
export function serializeManifest(manifest: Manifest): string {
  return JSON.stringify(orderManifest(manifest), null, 2) + "\n";
}

function orderManifest(manifest: Manifest): Manifest {
  return {
    ...pickFields(manifest, MANIFEST_FIELDS),
    spec: pickFields(manifest.spec, SPEC_FIELDS),
    summary: pickFields(manifest.summary, SUMMARY_FIELDS),
    tasks: assembledTasks.has(manifest.tasks) ? manifest.tasks : manifest.tasks.map(orderTask),
    orphans: assembledTasks.has(manifest.orphans) ? manifest.orphans : manifest.orphans.map(orderTask),
  };
}

/**
 * Writes `<outputDir>/manifest.json` atomically and returns its path. When the file already
 * holds exactly these bytes it is left untouched (mtime included), so rerunning a finished job
 * changes nothing on disk. A manifest that fails its own schema is a bug and is not written.
 */
export async function writeManifest(outputDir: string, manifest: Manifest): Promise<string> {
  const path = join(outputDir, MANIFEST_FILE);
  // The ordered copy is exactly what is serialised (JSON values only), so validating it validates the
  // bytes without parsing them back: a second full copy of a large job's manifest, and its CPU.
  const ordered = orderManifest(manifest);
  const problems = manifestSchemaProblems(ordered);
  if (problems.length > 0)
    throw new Error(`manifest: refusing to write an invalid manifest: ${problems.join("; ")}`);
  const text = JSON.stringify(ordered, null, 2) + "\n";
  if ((await readExisting(path, Buffer.byteLength(text))) !== text) {
    await mkdir(outputDir, { recursive: true });
    await writeFileAtomic(path, text, { crashPointName: "mid-manifest" });
  }
  await removeAtomicLeftovers(path);
  return path;
}

/** The file's text, or null when it is missing or not `size` bytes long (then it differs anyway). */
async function readExisting(path: string, size: number): Promise<string | null> {
  try {
    if ((await stat(path)).size !== size) return null;
    return await readFile(path, "utf8");
  } catch (error) {
    if (hasErrnoCode(error, "ENOENT", "EISDIR")) return null;
    throw error;
  }
}

/** Where the manifest of `pathOrDir` is: the folder's manifest.json, or the file itself. */
export async function resolveManifestPath(pathOrDir: string): Promise<string> {
  try {
    return (await stat(pathOrDir)).isDirectory() ? join(pathOrDir, MANIFEST_FILE) : pathOrDir;
  } catch (error) {
    if (hasErrnoCode(error, "ENOENT", "ENOTDIR"))
      return pathOrDir.endsWith(".json") ? pathOrDir : join(pathOrDir, MANIFEST_FILE);
    throw error;
  }
}

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

// --- normalisation: copies with fields in file order and lists in a stable order ---

function normaliseTask(task: ManifestTask): ManifestTask {
  return {
    ...orderTask(task),
    outputs: task.outputs.map(orderOutput).toSorted((a, b) => compareStrings(a.file, b.file)),
    history: task.history.map(orderAttempt).toSorted((a, b) => a.attempt - b.attempt),
  };
}

function orderTask(task: ManifestTask): ManifestTask {
  return {
    ...pickFields(task, TASK_FIELDS),
    params: Object.fromEntries(Object.entries(task.params).toSorted(([a], [b]) => compareStrings(a, b))),
    request: {
      ...pickFields(task.request, REQUEST_FIELDS),
      character: pickFields(task.request.character, MEDIA_REF_FIELDS),
      reference: pickFields(task.request.reference, MEDIA_REF_FIELDS),
      contentModeration: pickFields(task.request.contentModeration, CONTENT_MODERATION_FIELDS),
    },
    outputs: task.outputs.map(orderOutput),
    error: orderError(task.error),
    history: task.history.map(orderAttempt),
  };
}

function orderOutput(output: ManifestOutput): ManifestOutput {
  const ordered = pickFields(output, OUTPUT_FIELDS);
  if (output.checks) ordered.checks = output.checks.map((check) => pickFields(check, CHECK_FIELDS));
  return ordered;
}

function orderAttempt(attempt: ManifestAttempt): ManifestAttempt {
  return { ...pickFields(attempt, ATTEMPT_FIELDS), error: orderError(attempt.error) };
}

function orderError(error: ManifestError | null): ManifestError | null {
  return error === null ? null : pickFields(error, ERROR_FIELDS);
}

/** Code-unit order, independent of the locale the run happens to use. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
