// A checkpoint's manifest file as pieces (new bytes, and stretches of the file the last checkpoint
// wrote) and its atomic write, copying those stretches across without holding the whole file.
import { mkdir, type FileHandle } from "node:fs/promises";
import { removeAtomicLeftovers, writeFileAtomicWith, type FileIdentity } from "../fs/atomic-write.js";
import { writeFully } from "../fs/durable.js";
import { ITEM_SEPARATOR } from "./serialise.js";

/** Where a record's bytes are in one manifest file. */
export interface ItemPlace {
  file: FileIdentity;
  offset: number;
  length: number;
}

/**
 * The pieces of a manifest file, in order: bytes in memory, and stretches to copy from the file the
 * last checkpoint wrote (neighbouring items there are one stretch: the separator between them is the
 * same). Records where each item's bytes go in the new file, by the item's slot (its key's place in
 * the caller's tables).
 */
export class ManifestLayout {
  readonly pieces: (Buffer | { offset: number; length: number })[] = [];
  /** Each item's slot and where its bytes go, as parallel lists sized once (no object per item). */
  readonly placed: { count: number; slots: Float64Array; offsets: Float64Array; lengths: Float64Array };
  size = 0;
  copies = 0;

  /** `storage`: lists long enough for every item the layout will place (a caller's, reused). */
  constructor(head: Buffer, storage: { slots: Float64Array; offsets: Float64Array; lengths: Float64Array }) {
    this.placed = { count: 0, ...storage };
    this.add(head);
  }

  add(bytes: Buffer): void {
    this.pieces.push(bytes);
    this.size += bytes.length;
  }

  item(slot: number, bytes: Buffer): void {
    this.place(slot, bytes.length);
    this.add(bytes);
  }

  /** An item whose bytes are `length` bytes at `offset` in the file the last checkpoint wrote. */
  copy(slot: number, offset: number, length: number): void {
    this.place(slot, length);
    this.size += length;
    this.copies++;
    const separator = this.pieces.at(-1);
    const before = this.pieces.at(-2);
    if (
      separator === ITEM_SEPARATOR &&
      before !== undefined &&
      !Buffer.isBuffer(before) &&
      before.offset + before.length + ITEM_SEPARATOR.length === offset
    ) {
      // Neighbours in the old file too: one stretch, separator included.
      this.pieces.pop();
      before.length += ITEM_SEPARATOR.length + length;
      return;
    }
    this.pieces.push({ offset, length });
  }

  private place(slot: number, length: number): void {
    const { placed } = this;
    const index = placed.count++;
    placed.slots[index] = slot;
    placed.offsets[index] = this.size;
    placed.lengths[index] = length;
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

/** Copies are read in pieces of this size and written with the bytes in memory around them. */
export const COPY_BUFFER_BYTES = 1024 * 1024;

/** The file that could not be copied from was not as it was written: the caller serialises afresh. */
class CopyFailed extends Error {}

/**
 * Writes a layout with copies from `previous`, read through `buffer` (COPY_BUFFER_BYTES, the caller's:
 * one that lived through a write would be promoted, and its memory kept until a major GC); null when
 * it could not be copied (nothing written).
 */
export async function writeLayout(
  outputDir: string,
  path: string,
  layout: ManifestLayout,
  previous: FileHandle,
  buffer: Buffer,
): Promise<FileIdentity | null> {
  await mkdir(outputDir, { recursive: true });
  let identity: FileIdentity;
  try {
    identity = await writeFileAtomicWith(
      path,
      async (handle, half) => {
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
