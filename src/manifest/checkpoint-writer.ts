// A run's checkpoints: each writes the bytes writeManifest would, reusing unchanged records' bytes
// from the file the previous checkpoint wrote (a large job rewrites its manifest again and again).
import { open, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { identityOf, removeAtomicLeftovers, sameIdentity, type FileIdentity } from "../fs/atomic-write.js";
import { hasErrnoCode } from "../fs/errno.js";
import type { Plan, TaskPlan } from "../job/types.js";
import { arrangeRecords, assembleManifest, planOrderOf, type ManifestInput } from "./assemble.js";
import { COPY_BUFFER_BYTES, ManifestLayout, writeLayout, type ItemPlace } from "./checkpoint-layout.js";
import { SPEC_FIELDS, pickFields } from "./fields.js";
import { compareStrings, normaliseTask } from "./normalise.js";
import { MANIFEST_FILE } from "./path.js";
import { manifestSchemaProblems } from "./schema.js";
import {
  EMPTY_LIST,
  ITEM_SEPARATOR,
  LIST_END,
  LIST_START,
  MANIFEST_END,
  ORPHANS_FIELD,
  itemText,
  orderManifest,
  serializeChecked,
} from "./serialise.js";
import { MANIFEST_VERSION, type Manifest, type ManifestTask } from "./types.js";
import { writeManifest, writeManifestBytes } from "./write.js";

/**
 * A run's records as its checkpoints take them: by key, each derived only when asked. A checkpoint
 * asks only for the records of changed keys (or of keys whose bytes the last file does not hold), so
 * a record lives only while it is serialised, and no record outlives the write.
 */
export interface RecordSource {
  /** Keys whose records may differ from their bytes in the file the last checkpoint wrote. */
  readonly changed: ReadonlySet<string>;
  /** The keys of the records outside the plan (orphans), in any order. */
  readonly orphanKeys: readonly string[];
  /** A key's record: a plan task's, or an orphan's. */
  record(key: string): ManifestTask;
}

/** The bytes of new records a checkpoint keeps room for from one to the next (most need less). */
const ARENA_BYTES = 1024 * 1024;

/** No status the summary counts apart: pending, running, not submitted and the like. */
const OTHER = 0;
const SUCCEEDED = 1;
const FAILED = 2;

/**
 * What the checkpoints of one run reuse from each other, per slot (a plan task by its place in plan
 * order, then each orphan key met): where its bytes are in the file the last checkpoint wrote, its
 * status and its double-charge flag (the summary counts them). Typed arrays, not an object per record:
 * objects kept from one checkpoint to the next outlive the young generation, and each replaced one
 * would be garbage in old space until a major GC. One checkpoint at a time per cache.
 */
export class ManifestCache {
  /** manifest.json as the last checkpoint left it; null before the first. */
  file: FileIdentity | null = null;
  private plan: Plan | null = null;
  private planTasks: readonly TaskPlan[] | null = null;
  private planLength = 0;
  private readonly orphanSlots = new Map<string, number>();
  offsets = new Float64Array(0);
  /** -1: the slot's bytes are not in `file`. */
  lengths = new Float64Array(0);
  statuses = new Uint8Array(0);
  charged = new Uint8Array(0);
  /**
   * What each checkpoint works with, kept from one to the next (each lives through a write, so a new
   * one each time would be promoted, and its memory kept until a major GC): the slots in manifest
   * order, the layout's lists, the buffer copies are read through, and the bytes of new records.
   */
  private scratch: { slots: Float64Array; offsets: Float64Array; lengths: Float64Array } | null = null;
  private order = new Float64Array(0);
  private copyBuffer: Buffer | null = null;
  private arena: Buffer | null = null;
  /** The chunks new records' bytes took past the arena, freed once written. */
  private readonly overflow: Buffer[] = [];

  /** The slots numbered for this plan (a plan other than the last one's starts afresh). */
  forPlan(plan: Plan): void {
    if (this.planTasks === plan.tasks && this.planLength === plan.tasks.length) return;
    this.plan = plan;
    this.planTasks = plan.tasks;
    this.planLength = plan.tasks.length;
    this.orphanSlots.clear();
    this.resize(plan.tasks.length + 16, false);
  }

  orphanSlot(key: string): number {
    let slot = this.orphanSlots.get(key);
    if (slot === undefined) {
      slot = this.planLength + this.orphanSlots.size;
      this.orphanSlots.set(key, slot);
      if (slot >= this.lengths.length) this.resize(slot * 2, true);
    }
    return slot;
  }

  /** Where the record of `key` is in the file the last checkpoint wrote; null when it is not there (a look-up by scan). */
  placeOf(key: string): ItemPlace | null {
    if (this.file === null) return null;
    let slot = this.orphanSlots.get(key);
    if (slot === undefined && this.plan !== null) {
      const index = planOrderOf(this.plan).ordered.findIndex((task) => task.key === key);
      if (index >= 0) slot = index;
    }
    const length = slot === undefined ? -1 : (this.lengths[slot] as number);
    return length < 0 ? null : { file: this.file, offset: this.offsets[slot as number] as number, length };
  }

  /** Room for the slots of `count` items in manifest order. */
  orderFor(count: number): Float64Array {
    if (this.order.length < count) this.order = new Float64Array(count);
    return this.order;
  }

  /** The layout's lists, for `count` items. */
  layoutStorage(count: number): { slots: Float64Array; offsets: Float64Array; lengths: Float64Array } {
    if (this.scratch === null || this.scratch.slots.length < count)
      this.scratch = {
        slots: new Float64Array(count),
        offsets: new Float64Array(count),
        lengths: new Float64Array(count),
      };
    return this.scratch;
  }

  readBuffer(): Buffer {
    this.copyBuffer ??= Buffer.allocUnsafeSlow(COPY_BUFFER_BYTES);
    return this.copyBuffer;
  }

  /** Puts texts as UTF-8 one after the other: in the kept arena while it has room, then in new chunks. */
  textWriter(): (text: string) => Buffer {
    this.arena ??= Buffer.allocUnsafeSlow(ARENA_BYTES);
    let chunk = this.arena;
    let used = 0;
    return (text) => {
      const length = Buffer.byteLength(text, "utf8");
      if (used + length > chunk.length) {
        chunk = Buffer.allocUnsafeSlow(Math.max(ARENA_BYTES, length));
        this.overflow.push(chunk);
        used = 0;
      }
      chunk.write(text, used, "utf8");
      used += length;
      return chunk.subarray(used - length, used);
    };
  }

  /**
   * Frees the chunks past the arena now that their bytes are written (no view of them is used again):
   * their wrappers lived through the write, so the collector would free them only at a major GC.
   */
  releaseOverflow(): void {
    for (const chunk of this.overflow)
      (chunk.buffer as ArrayBuffer & { transfer(length: number): ArrayBuffer }).transfer(0);
    this.overflow.length = 0;
  }

  note(slot: number, record: ManifestTask): void {
    this.statuses[slot] =
      record.status === "SUCCEEDED" ? SUCCEEDED : record.status === "FAILED" ? FAILED : OTHER;
    this.charged[slot] = record.possiblyChargedTwice ? 1 : 0;
  }

  private resize(capacity: number, keep: boolean): void {
    const grown = <T extends Float64Array | Uint8Array>(old: T, make: (n: number) => T, fill: number): T => {
      const next = make(capacity).fill(fill) as T;
      if (keep) next.set(old.subarray(0, Math.min(old.length, capacity)));
      return next;
    };
    this.offsets = grown(this.offsets, (n) => new Float64Array(n), 0);
    this.lengths = grown(this.lengths, (n) => new Float64Array(n), -1);
    this.statuses = grown(this.statuses, (n) => new Uint8Array(n), OTHER);
    this.charged = grown(this.charged, (n) => new Uint8Array(n), 0);
  }
}

export function createManifestCache(): ManifestCache {
  return new ManifestCache();
}

/** The records of one checkpoint in manifest order: plan tasks, then orphans by key. */
interface Arranged {
  orphanKeys: readonly string[];
  /** The record at a place of the manifest's lists (plan tasks first, then orphans). */
  recordAt(position: number): ManifestTask;
  /** Whether the record at a place may differ from its bytes in the last file. */
  changed(position: number): boolean;
}

/**
 * Writes a checkpoint of a run's manifest: the bytes writeManifest(assembleManifest(input)) would
 * write. Given a source of records, it derives, normalises, checks and serialises only the records
 * of changed keys and copies the bytes of the others from the file the last one wrote (when that file
 * is still as it was written), and `input`'s lists are not read; without one, `input`'s records are
 * serialised whole. It builds no Manifest object and holds neither the whole file nor every
 * record's bytes in memory. Each new record is checked against the schema inside the manifest's
 * frame, so the file is checked as a whole would be (the schema has no rule across tasks).
 */
export async function writeManifestCheckpoint(
  outputDir: string,
  input: ManifestInput,
  cache: ManifestCache,
  source?: RecordSource,
): Promise<string> {
  const { plan } = input;
  const { ordered, planned } = planOrderOf(plan);
  const count = ordered.length;
  const arranged = arrange(input, source, ordered, planned);
  const whole = (): Manifest =>
    source
      ? assembleManifest({
          plan,
          tasks: ordered.map((_, position) => arranged.recordAt(position)),
          orphans: arranged.orphanKeys.map((_, index) => arranged.recordAt(count + index)),
        })
      : assembleManifest(input);
  cache.forPlan(plan);
  const total = count + arranged.orphanKeys.length;
  const slots = cache.orderFor(total);
  for (let position = 0; position < total; position++)
    slots[position] =
      position < count ? position : cache.orphanSlot(arranged.orphanKeys[position - count] as string);
  const path = join(outputDir, MANIFEST_FILE);
  const previous = await openIfUnchanged(path, cache.file);
  const frameWith = (summary: Manifest["summary"]): Manifest => ({
    version: MANIFEST_VERSION,
    job: plan.job,
    spec: pickFields(plan.spec, SPEC_FIELDS),
    summary,
    tasks: [],
    orphans: [],
  });
  // Each new record is checked inside a frame of its own (the schema has no rule across tasks, nor
  // between the summary and the tasks), so that it can be serialised and dropped at once.
  const checkFrame = frameWith({ total: 0, succeeded: 0, failed: 0, pending: 0, possiblyChargedTwice: 0 });
  // The records whose bytes are in the file as it was written are copied from it; the others are
  // derived, normalised, checked and serialised one at a time, all before any wait: no record
  // outlives the young generation (a record kept long enough to be promoted teaches V8 to allocate
  // every later one in old space).
  const lay = (copying: boolean): ManifestLayout | null => {
    const fresh: (Buffer | undefined)[] = Array.from({ length: total });
    const bytesOf = cache.textWriter();
    for (let position = 0; position < total; position++) {
      const slot = slots[position] as number;
      if (copying && (cache.lengths[slot] as number) >= 0 && !arranged.changed(position)) continue;
      const copy = normaliseTask(arranged.recordAt(position));
      cache.note(slot, copy);
      const list = position < count ? "tasks" : "orphans";
      // An invalid record is a bug: the whole manifest's check names it in place, and throws.
      if (manifestSchemaProblems({ ...checkFrame, [list]: [copy] }).length > 0) serializeChecked(whole());
      fresh[position] = bytesOf(itemText(copy));
    }
    const frame = frameWith(summaryOf(cache, slots, count, total));
    // The frame's text ends with its (empty) task lists, the manifest's last two fields.
    const head = JSON.stringify(orderManifest(frame), null, 2);
    const tail = `,\n  "tasks": [],\n  "orphans": []\n}`;
    if (!head.endsWith(tail)) return null;
    serializeChecked(frame);
    const layout = new ManifestLayout(
      Buffer.from(`${head.slice(0, -tail.length)},\n  "tasks": `, "utf8"),
      cache.layoutStorage(total),
    );
    const addList = (from: number, to: number): void => {
      if (from === to) {
        layout.add(EMPTY_LIST);
        return;
      }
      for (let position = from; position < to; position++) {
        layout.add(position === from ? LIST_START : ITEM_SEPARATOR);
        const slot = slots[position] as number;
        const bytes = fresh[position];
        if (bytes !== undefined) layout.item(slot, bytes);
        else layout.copy(slot, cache.offsets[slot] as number, cache.lengths[slot] as number);
      }
      layout.add(LIST_END);
    };
    addList(0, count);
    layout.add(ORPHANS_FIELD);
    addList(count, total);
    layout.add(MANIFEST_END);
    return layout;
  };
  try {
    let layout = lay(previous !== null);
    if (layout === null) return await writeManifest(outputDir, whole());
    if (previous && layout.copies > 0) {
      if (await layout.unchangedIn(previous)) await removeAtomicLeftovers(path);
      else {
        const written = await writeLayout(outputDir, path, layout, previous, cache.readBuffer());
        if (written !== null) cache.file = written;
        else {
          // The file was not as it was written after all: everything is serialised afresh.
          layout = lay(false) as ManifestLayout;
          cache.file = await writeManifestBytes(outputDir, layout.chunks());
        }
      }
    } else cache.file = await writeManifestBytes(outputDir, layout.chunks());
    // The places are the file's now (written, or found holding exactly these bytes); an orphan gone
    // from the file has no place.
    cache.lengths.fill(-1);
    const { placed } = layout;
    for (let i = 0; i < placed.count; i++) {
      const slot = placed.slots[i] as number;
      cache.offsets[slot] = placed.offsets[i] as number;
      cache.lengths[slot] = placed.lengths[i] as number;
    }
  } finally {
    cache.releaseOverflow();
    await previous?.close();
  }
  return path;
}

/** The records in manifest order: from the source, or from the input's lists (then all are new). */
function arrange(
  input: ManifestInput,
  source: RecordSource | undefined,
  ordered: readonly TaskPlan[],
  planned: ReadonlySet<string>,
): Arranged {
  const count = ordered.length;
  if (source === undefined) {
    const { tasks, orphans } = arrangeRecords(input);
    return {
      orphanKeys: orphans.map((record) => record.key),
      recordAt: (position) =>
        (position < count ? tasks[position] : orphans[position - count]) as ManifestTask,
      changed: () => true,
    };
  }
  const orphanKeys = [...new Set(source.orphanKeys)]
    .filter((key) => !planned.has(key))
    .toSorted(compareStrings);
  const keyAt = (position: number): string =>
    (position < count ? ordered[position]?.key : orphanKeys[position - count]) as string;
  return {
    orphanKeys,
    recordAt: (position) => source.record(keyAt(position)),
    changed: (position) => source.changed.has(keyAt(position)),
  };
}

/** Counts over the plan's slots; possible double charges over the orphans' too (they were paid). */
function summaryOf(
  cache: ManifestCache,
  slots: Float64Array,
  count: number,
  total: number,
): Manifest["summary"] {
  let succeeded = 0;
  let failed = 0;
  let charged = 0;
  for (let position = 0; position < total; position++) {
    const slot = slots[position] as number;
    if (position < count) {
      const status = cache.statuses[slot];
      if (status === SUCCEEDED) succeeded++;
      else if (status === FAILED) failed++;
    }
    charged += cache.charged[slot] as number;
  }
  return {
    total: count,
    succeeded,
    failed,
    pending: count - succeeded - failed,
    possiblyChargedTwice: charged,
  };
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
