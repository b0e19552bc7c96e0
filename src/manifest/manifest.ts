// The manifest (DESIGN.md section 5): assembled from the run engine's task records, written
// atomically and byte-for-byte deterministic, read back with schema validation.
import { mkdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { UserError } from "../errors.js";
import { removeAtomicLeftovers, writeFileAtomic } from "../fs/atomic-write.js";
import { hasErrnoCode } from "../fs/errno.js";
import { compareStrings, normaliseTask, orderTask } from "./normalise.js";
import { fileHolds } from "../fs/file-holds.js";
import type { Plan, TaskPlan } from "../job/types.js";
import { MANIFEST_FIELDS, SPEC_FIELDS, SUMMARY_FIELDS, pickFields } from "./fields.js";
import { manifestSchemaProblems } from "./schema.js";
import { MANIFEST_VERSION, type Manifest, type ManifestSummary, type ManifestTask } from "./types.js";

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
 * What the checkpoints of one run reuse from each other: each record's bytes, normalised and checked
 * once. Records given with a cache are taken as frozen: a changed task must be a new object.
 */
export interface ManifestCache {
  /** A caller's record -> its bytes as an item of the manifest's task list. */
  readonly items: WeakMap<ManifestTask, Uint8Array>;
  /** Records checked against the schema (only before a write: bytes the file holds were checked when written). */
  readonly checked: WeakSet<ManifestTask>;
}

export function createManifestCache(): ManifestCache {
  return { items: new WeakMap(), checked: new WeakSet() };
}

/**
 * Builds the manifest of a run. Records whose key is in the plan become `tasks`, in plan order;
 * every other record becomes an orphan (sorted by key), so a paid task is never dropped even if
 * the caller filed it in the wrong list. Inputs are copied and normalised, so the same records
 * in any order give the same bytes.
 */
export function assembleManifest(input: ManifestInput): Manifest {
  const { tasks, orphans } = arrangeRecords(input, normaliseTask);
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
 * The records in manifest order: the plan's tasks in plan order (a task with no record is not
 * submitted), then every other record, an orphan, by key. `prepare` turns each record into what
 * the list holds.
 */
function arrangeRecords(
  input: ManifestInput,
  prepare: (record: ManifestTask) => ManifestTask,
): { tasks: ManifestTask[]; orphans: ManifestTask[] } {
  const planned = new Set<string>();
  for (const task of input.plan.tasks) planned.add(task.key);
  const byKey = new Map<string, ManifestTask>();
  for (const record of [...input.tasks, ...(input.orphans ?? [])]) {
    if (byKey.has(record.key)) throw new Error(`manifest: task key ${record.key} was recorded twice`);
    byKey.set(record.key, prepare(record));
  }
  const tasks = input.plan.tasks
    .toSorted((a, b) => a.index - b.index)
    .map((task) => byKey.get(task.key) ?? notSubmittedTask(task));
  const orphans = [...byKey.values()]
    .filter((task) => !planned.has(task.key))
    .toSorted((a, b) => compareStrings(a.key, b.key));
  return { tasks, orphans };
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
  return writeManifestBytes(outputDir, [Buffer.from(serializeChecked(manifest), "utf8")]);
}

/**
 * Writes a checkpoint of a run's manifest: the bytes writeManifest(assembleManifest(input)) would
 * write, built from each record's bytes, kept in the cache. A checkpoint of a large job normalises,
 * checks and serialises only the records that are new since the last one, builds no Manifest object
 * and never holds the whole file as one string (at tens of megabytes per checkpoint, that went
 * straight to the old generation of the heap). Each new record is checked against the schema inside
 * the manifest's frame, so the file is checked as a whole would be (the schema has no rule across tasks).
 */
export async function writeManifestCheckpoint(
  outputDir: string,
  input: ManifestInput,
  cache: ManifestCache,
): Promise<string> {
  const { plan } = input;
  const { tasks, orphans } = arrangeRecords(input, (record) => record);
  // Normalising a record keeps its status and double-charge flag: the summary counts the records.
  const frame: Manifest = {
    version: MANIFEST_VERSION,
    job: plan.job,
    spec: pickFields(plan.spec, SPEC_FIELDS),
    summary: summarizeTasks(tasks, orphans),
    tasks: [],
    orphans: [],
  };
  const whole = (): Manifest => assembleManifest(input);
  // The frame's text ends with its (empty) task lists, the manifest's last two fields.
  const head = JSON.stringify(orderManifest(frame), null, 2);
  const tail = `,\n  "tasks": [],\n  "orphans": []\n}`;
  if (!head.endsWith(tail)) return writeManifest(outputDir, whole());
  // The records this checkpoint serialises, normalised once for their bytes and their check.
  const normalised = new Map<ManifestTask, ManifestTask>();
  const itemOf = (record: ManifestTask): Uint8Array => {
    let item = cache.items.get(record);
    if (item === undefined) {
      const copy = normaliseTask(record);
      if (!cache.checked.has(record)) normalised.set(record, copy);
      item = itemBytes(copy);
      cache.items.set(record, item);
    }
    return item;
  };
  // Before a write, each record not checked yet is checked inside the manifest's frame; an invalid
  // one is a bug, and the whole manifest's check names it in place, and throws.
  const check = (): void => {
    let checked = false;
    for (const [list, records] of [
      ["tasks", tasks],
      ["orphans", orphans],
    ] as const)
      for (const record of records) {
        if (cache.checked.has(record)) continue;
        const copy = normalised.get(record) ?? normaliseTask(record);
        if (manifestSchemaProblems({ ...frame, [list]: [copy] }).length > 0) serializeChecked(whole());
        cache.checked.add(record);
        checked = true;
      }
    if (!checked) serializeChecked(frame);
  };
  const chunks: Uint8Array[] = [Buffer.from(`${head.slice(0, -tail.length)},\n  "tasks": `, "utf8")];
  const addList = (records: readonly ManifestTask[]): void => {
    if (records.length === 0) {
      chunks.push(EMPTY_LIST);
      return;
    }
    records.forEach((record, index) => {
      chunks.push(index === 0 ? LIST_START : ITEM_SEPARATOR, itemOf(record));
    });
    chunks.push(LIST_END);
  };
  addList(tasks);
  chunks.push(ORPHANS_FIELD);
  addList(orphans);
  chunks.push(MANIFEST_END);
  return writeManifestBytes(outputDir, chunks, check);
}

/**
 * Writes manifest.json unless it already holds exactly these bytes (then `checkFirst` is not needed:
 * those bytes were checked when they were written); returns its path.
 */
async function writeManifestBytes(
  outputDir: string,
  chunks: readonly Uint8Array[],
  checkFirst: () => void = () => undefined,
): Promise<string> {
  const path = join(outputDir, MANIFEST_FILE);
  if (!(await fileHolds(path, chunks))) {
    checkFirst();
    await mkdir(outputDir, { recursive: true });
    await writeFileAtomic(path, chunks, { crashPointName: "mid-manifest" });
  }
  await removeAtomicLeftovers(path);
  return path;
}

/** The manifest's bytes, refused when the manifest fails its own schema (a bug: it is not written). */
function serializeChecked(manifest: Manifest): string {
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
const EMPTY_LIST = Buffer.from("[]");
const LIST_START = Buffer.from(`[\n${LIST_ITEM_INDENT}`);
const ITEM_SEPARATOR = Buffer.from(`,\n${LIST_ITEM_INDENT}`);
const LIST_END = Buffer.from("\n  ]");
const ORPHANS_FIELD = Buffer.from(`,\n  "orphans": `);
const MANIFEST_END = Buffer.from("\n}\n");

/** A one-item list in a top-level field, as JSON.stringify(manifest, null, 2) writes it around its item. */
const ITEM_PREFIX = `{\n  "tasks": [\n${LIST_ITEM_INDENT}`;
const ITEM_SUFFIX = "\n  ]\n}";

/**
 * A normalised task's JSON as an item of a top-level list (its inner lines indented one level more),
 * stringified in place so that no second, re-indented copy of the text is made; in a buffer of its
 * own: a slice of Node's shared pool would keep its whole slab alive for as long as the item.
 */
function itemBytes(task: ManifestTask): Buffer {
  const framed = JSON.stringify({ tasks: [task] }, null, 2);
  const text = framed.slice(ITEM_PREFIX.length, framed.length - ITEM_SUFFIX.length);
  const bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(text, "utf8"));
  bytes.write(text, "utf8");
  return bytes;
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
