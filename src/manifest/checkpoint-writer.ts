// A run's checkpoints: each writes the bytes writeManifest would, reusing unchanged records' bytes
// from the file the previous checkpoint wrote (a large job rewrites its manifest again and again).
import { open, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { identityOf, removeAtomicLeftovers, sameIdentity, type FileIdentity } from "../fs/atomic-write.js";
import { hasErrnoCode } from "../fs/errno.js";
import { arrangeRecords, assembleManifest, summarizeTasks, type ManifestInput } from "./assemble.js";
import { ManifestLayout, writeLayout, type ItemPlace } from "./checkpoint-layout.js";
import { SPEC_FIELDS, pickFields } from "./fields.js";
import { normaliseTask } from "./normalise.js";
import { MANIFEST_FILE } from "./path.js";
import { manifestSchemaProblems } from "./schema.js";
import {
  EMPTY_LIST,
  ITEM_SEPARATOR,
  LIST_END,
  LIST_START,
  MANIFEST_END,
  ORPHANS_FIELD,
  itemBytes,
  orderManifest,
  serializeChecked,
} from "./serialise.js";
import { MANIFEST_VERSION, type Manifest, type ManifestTask } from "./types.js";
import { writeManifest, writeManifestBytes } from "./write.js";

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

export function createManifestCache(): ManifestCache {
  return { items: new WeakMap(), checked: new WeakSet(), file: null };
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
  const { tasks, orphans } = arrangeRecords(input);
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
    normalised.clear();
  };
  const path = join(outputDir, MANIFEST_FILE);
  const previous = await openIfUnchanged(path, cache.file);
  // The records whose bytes are in the file as it was written are copied from it; the others, serialised.
  const lay = (copying: boolean): ManifestLayout => {
    const layout = new ManifestLayout(
      Buffer.from(`${head.slice(0, -tail.length)},\n  "tasks": `, "utf8"),
      tasks.length + orphans.length,
    );
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
    // Checked now, before any wait: the normalised copies kept for the check then die young.
    check();
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
    if (file !== null) {
      const { count, records, offsets, lengths, places } = layout.placed;
      for (let i = 0; i < count; i++) {
        const place = places[i];
        const offset = offsets[i] as number;
        const length = lengths[i] as number;
        if (place === null || place === undefined)
          cache.items.set(records[i] as ManifestTask, { file, offset, length });
        else {
          place.file = file;
          place.offset = offset;
          place.length = length;
        }
      }
    }
  } finally {
    await previous?.close();
  }
  return path;
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
