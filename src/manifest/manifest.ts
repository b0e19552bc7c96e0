// The manifest (DESIGN.md section 5): assembled from the run engine's task records, written
// atomically and byte-for-byte deterministic, read back with schema validation.
import { mkdir, open, readFile, stat, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { UserError } from "../errors.js";
import {
  identityOf,
  removeAtomicLeftovers,
  sameIdentity,
  splitInHalf,
  writeFileAtomicWith,
  type FileIdentity,
} from "../fs/atomic-write.js";
import { writeFully } from "../fs/durable.js";
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
 * What the checkpoints of one run reuse from each other: where each record's bytes are in the manifest
 * file the last checkpoint wrote (a record is normalised, checked and serialised once; its bytes are
 * then copied from that file rather than kept in memory). Records given with a cache are taken as
 * frozen: a changed task must be a new object.
 */
export interface ManifestCache {
  /** A caller's record -> where its bytes, as an item of the manifest's task list, are in `file`. */
  readonly items: WeakMap<ManifestTask, ItemPlace>;
  /** Records checked against the schema (only before a write: bytes the file holds were checked when written). */
  readonly checked: WeakSet<ManifestTask>;
  /** manifest.json as the last checkpoint left it; null before the first. */
  file: FileIdentity | null;
}

/** Where a record's bytes are in one manifest file. */
export interface ItemPlace {
  file: FileIdentity;
  offset: number;
  length: number;
}

export function createManifestCache(): ManifestCache {
  return { items: new WeakMap(), checked: new WeakSet(), file: null };
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
  const { ordered, planned } = planOrderOf(input.plan);
  const given = input.orphans ?? [];
  // A run hands over one record per plan task, in plan order, and orphans of other keys: as they are.
  if (
    planned.size === ordered.length &&
    input.tasks.length === ordered.length &&
    input.tasks.every((record, index) => record.key === ordered[index]?.key) &&
    given.every((record) => !planned.has(record.key)) &&
    new Set(given.map((record) => record.key)).size === given.length
  )
    return {
      tasks: input.tasks.map(prepare),
      orphans: given.map(prepare).toSorted((a, b) => compareStrings(a.key, b.key)),
    };
  const byKey = new Map<string, ManifestTask>();
  for (const record of [...input.tasks, ...given]) {
    if (byKey.has(record.key)) throw new Error(`manifest: task key ${record.key} was recorded twice`);
    byKey.set(record.key, prepare(record));
  }
  const tasks = ordered.map((task) => byKey.get(task.key) ?? notSubmittedTask(task));
  const orphans = [...byKey.values()]
    .filter((task) => !planned.has(task.key))
    .toSorted((a, b) => compareStrings(a.key, b.key));
  return { tasks, orphans };
}

interface PlanOrder {
  /** The plan's task list as it was when worked out (a list changed since is worked out again). */
  tasks: TaskPlan[];
  ordered: TaskPlan[];
  planned: Set<string>;
}

/** A plan's tasks in plan order and their keys, worked out once per plan (checkpoints ask again and again). */
const planOrders = new WeakMap<readonly TaskPlan[], PlanOrder>();

function planOrderOf(plan: Plan): PlanOrder {
  let order = planOrders.get(plan.tasks);
  if (
    order === undefined ||
    order.tasks.length !== plan.tasks.length ||
    !order.tasks.every((task, index) => task === plan.tasks[index])
  ) {
    const ordered = plan.tasks.toSorted((a, b) => a.index - b.index);
    order = { tasks: [...plan.tasks], ordered, planned: new Set(ordered.map((task) => task.key)) };
    planOrders.set(plan.tasks, order);
  }
  return order;
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
  await writeManifestBytes(outputDir, [Buffer.from(serializeChecked(manifest), "utf8")]);
  return join(outputDir, MANIFEST_FILE);
}

/**
 * Writes a checkpoint of a run's manifest: the bytes writeManifest(assembleManifest(input)) would
 * write. A checkpoint of a large job normalises, checks and serialises only the records that are new
 * since the last one and copies the bytes of the others from the file the last one wrote (when that
 * file is still as it was written), builds no Manifest object and holds neither the whole file nor
 * every record's bytes in memory (tens of megabytes for a large job). Each new record is checked
 * against the schema inside the manifest's frame, so the file is checked as a whole would be (the
 * schema has no rule across tasks).
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
  const serialise = (record: ManifestTask): Buffer => {
    const copy = normaliseTask(record);
    if (!cache.checked.has(record)) normalised.set(record, copy);
    return itemBytes(copy);
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
  const path = join(outputDir, MANIFEST_FILE);
  const previous = await openIfUnchanged(path, cache.file);
  // The records whose bytes are in the file as it was written are copied from it; the others, serialised.
  const lay = (copying: boolean): ManifestLayout => {
    const layout = new ManifestLayout(Buffer.from(`${head.slice(0, -tail.length)},\n  "tasks": `, "utf8"));
    const addList = (records: readonly ManifestTask[]): void => {
      if (records.length === 0) {
        layout.add(EMPTY_LIST);
        return;
      }
      records.forEach((record, index) => {
        layout.add(index === 0 ? LIST_START : ITEM_SEPARATOR);
        const place = copying ? cache.items.get(record) : undefined;
        if (place !== undefined && place.file === cache.file) layout.copy(record, place);
        else layout.item(record, serialise(record));
      });
      layout.add(LIST_END);
    };
    addList(tasks);
    layout.add(ORPHANS_FIELD);
    addList(orphans);
    layout.add(MANIFEST_END);
    return layout;
  };
  try {
    let layout = lay(previous !== null);
    if (previous && layout.copies > 0) {
      if (await layout.unchangedIn(previous)) await removeAtomicLeftovers(path);
      else {
        const written = await writeLayout(outputDir, path, layout, previous, check);
        if (written !== null) cache.file = written;
        else {
          // The file was not as it was written after all: everything is serialised afresh.
          layout = lay(false);
          cache.file = await writeManifestBytes(outputDir, layout.chunks(), check);
        }
      }
    } else cache.file = await writeManifestBytes(outputDir, layout.chunks(), check);
    // The places are the file's now (written, or found holding exactly these bytes).
    const file = cache.file;
    if (file !== null)
      for (const [record, offset, length, place] of layout.placed) {
        if (place === null) cache.items.set(record, { file, offset, length });
        else {
          place.file = file;
          place.offset = offset;
          place.length = length;
        }
      }
  } finally {
    await previous?.close();
  }
  return path;
}

/**
 * The pieces of a manifest file, in order: bytes in memory, and stretches to copy from the file the
 * last checkpoint wrote (neighbouring items there are one stretch: the separator between them is the
 * same). Records where their bytes go, as offsets in the new file.
 */
class ManifestLayout {
  readonly pieces: (Buffer | { offset: number; length: number })[] = [];
  /** Each record, where its bytes go in the new file, and its place in the old one (null: new bytes). */
  readonly placed: [ManifestTask, number, number, ItemPlace | null][] = [];
  size = 0;
  copies = 0;

  constructor(head: Buffer) {
    this.add(head);
  }

  add(bytes: Buffer): void {
    this.pieces.push(bytes);
    this.size += bytes.length;
  }

  item(record: ManifestTask, bytes: Buffer): void {
    this.placed.push([record, this.size, bytes.length, null]);
    this.add(bytes);
  }

  copy(record: ManifestTask, place: ItemPlace): void {
    this.placed.push([record, this.size, place.length, place]);
    this.size += place.length;
    this.copies++;
    const separator = this.pieces.at(-1);
    const before = this.pieces.at(-2);
    if (
      separator === ITEM_SEPARATOR &&
      before !== undefined &&
      !Buffer.isBuffer(before) &&
      before.offset + before.length + ITEM_SEPARATOR.length === place.offset
    ) {
      // Neighbours in the old file too: one stretch, separator included.
      this.pieces.pop();
      before.length += ITEM_SEPARATOR.length + place.length;
      return;
    }
    this.pieces.push({ offset: place.offset, length: place.length });
  }

  /** The bytes, when every piece is in memory. */
  chunks(): Buffer[] {
    return this.pieces.filter((piece) => Buffer.isBuffer(piece));
  }

  /** Whether the old file already holds exactly these bytes: same size, every copy in place, same pieces in memory. */
  async unchangedIn(previous: FileHandle): Promise<boolean> {
    const { size } = await previous.stat();
    if (size !== this.size) return false;
    let position = 0;
    for (const piece of this.pieces) {
      if (Buffer.isBuffer(piece)) {
        const old = Buffer.allocUnsafe(piece.length);
        const { bytesRead } = await previous.read(old, 0, piece.length, position);
        if (bytesRead !== piece.length || !old.equals(piece)) return false;
        position += piece.length;
      } else {
        if (piece.offset !== position) return false;
        position += piece.length;
      }
    }
    return true;
  }
}

/** The manifest as it was last written, open for copying, when it is still that file; else null. */
async function openIfUnchanged(path: string, file: FileIdentity | null): Promise<FileHandle | null> {
  if (file === null) return null;
  let handle: FileHandle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    if (hasErrnoCode(error, "ENOENT", "ENOTDIR", "EISDIR")) return null;
    throw error;
  }
  try {
    if (sameIdentity(identityOf(await handle.stat()), file)) return handle;
  } catch {
    // Not readable as it was: serialise afresh.
  }
  await handle.close();
  return null;
}

/** Copies are read in pieces of this size and written with the bytes in memory around them. */
const COPY_BUFFER_BYTES = 1024 * 1024;

/** The file that could not be copied from was not as it was written: the caller serialises afresh. */
class CopyFailed extends Error {}

/** Writes a layout with copies from `previous`; null when it could not be copied (nothing written). */
async function writeLayout(
  outputDir: string,
  path: string,
  layout: ManifestLayout,
  previous: FileHandle,
  checkFirst: () => void,
): Promise<FileIdentity | null> {
  checkFirst();
  await mkdir(outputDir, { recursive: true });
  let identity: FileIdentity;
  try {
    identity = await writeFileAtomicWith(
      path,
      async (handle, half) => {
        const buffer = Buffer.allocUnsafeSlow(COPY_BUFFER_BYTES);
        let batch: Uint8Array[] = [];
        let batched = 0;
        let used = 0;
        let written = 0;
        let halfway = false;
        const flush = async (): Promise<void> => {
          written += await writeFully(handle, batch);
          batch = [];
          batched = 0;
          used = 0;
          if (!halfway && written >= layout.size / 2) {
            halfway = true;
            half();
          }
        };
        for (const piece of layout.pieces) {
          if (Buffer.isBuffer(piece)) {
            batch.push(piece);
            batched += piece.length;
          } else
            for (let at = piece.offset, left = piece.length; left > 0;) {
              if (used === buffer.length) await flush();
              const length = Math.min(left, buffer.length - used);
              const { bytesRead } = await previous.read(buffer, used, length, at);
              if (bytesRead !== length) throw new CopyFailed();
              batch.push(buffer.subarray(used, used + length));
              batched += length;
              used += length;
              at += length;
              left -= length;
            }
          if (used === buffer.length || (!halfway && written + batched >= layout.size / 2)) await flush();
        }
        await flush();
        // Closed before the rename: not every platform replaces a file that is open.
        await previous.close();
      },
      { crashPointName: "mid-manifest" },
    );
  } catch (error) {
    if (error instanceof CopyFailed) return null;
    throw error;
  }
  await removeAtomicLeftovers(path);
  return identity;
}

/**
 * Writes manifest.json unless it already holds exactly these bytes (then `checkFirst` is not needed:
 * those bytes were checked when they were written); returns its path.
 */
async function writeManifestBytes(
  outputDir: string,
  chunks: readonly Uint8Array[],
  checkFirst: () => void = () => undefined,
): Promise<FileIdentity> {
  const path = join(outputDir, MANIFEST_FILE);
  let identity: FileIdentity;
  if (await fileHolds(path, chunks)) identity = identityOf(await stat(path));
  else {
    checkFirst();
    await mkdir(outputDir, { recursive: true });
    identity = await writeFileAtomicWith(
      path,
      async (handle, half) => {
        const [first, second] = splitInHalf(chunks);
        await writeFully(handle, first);
        half();
        await writeFully(handle, second);
      },
      { crashPointName: "mid-manifest" },
    );
  }
  await removeAtomicLeftovers(path);
  return identity;
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
