// The two primitives every durable write here rests on: writing every byte (the kernel may take
// fewer than asked), and making a directory's entries (a new file, a rename) durable.
import { open, type FileHandle } from "node:fs/promises";
import { hasErrnoCode } from "./errno.js";

/** Buffers one writev takes at most (IOV_MAX is 1024 on Linux). */
const MAX_IOVECS = 1024;

/**
 * write(2) and writev(2) may write less than asked: goes on until every byte is in. With a
 * position, writes from there; without one, at the file's offset (its end when opened to append).
 * Returns the number of bytes written.
 */
export async function writeFully(
  handle: FileHandle,
  chunks: readonly Uint8Array[],
  position: number | null = null,
): Promise<number> {
  let pending = chunks.filter((chunk) => chunk.byteLength > 0);
  let total = 0;
  while (pending.length > 0) {
    const batch = pending.slice(0, MAX_IOVECS);
    const only = batch.length === 1 ? (batch[0] as Uint8Array) : null;
    const at = position === null ? null : position + total;
    let { bytesWritten: skip } = only
      ? await handle.write(only, 0, only.byteLength, at)
      : await handle.writev(batch as NodeJS.ArrayBufferView[], at ?? undefined);
    total += skip;
    let index = 0;
    while (index < pending.length && skip >= (pending[index] as Uint8Array).byteLength) {
      skip -= (pending[index] as Uint8Array).byteLength;
      index++;
    }
    pending = pending.slice(index);
    if (skip > 0 && pending.length > 0) pending[0] = (pending[0] as Uint8Array).subarray(skip);
  }
  return total;
}

/**
 * Makes the directory's entries (a rename, a new file) durable. Platforms that cannot open or sync
 * a directory (Windows, some file systems) get best effort: the data itself was already synced. A
 * real failure (EIO) is thrown: the entry may not be on disk.
 */
export async function fsyncDirectory(dir: string): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await open(dir, "r");
  } catch (error) {
    if (hasErrnoCode(error, "EISDIR", "EPERM", "EACCES")) return;
    throw error;
  }
  try {
    await handle.sync();
  } catch (error) {
    if (!hasErrnoCode(error, "EINVAL", "ENOTSUP", "EBADF")) throw error;
  } finally {
    await handle.close();
  }
}
