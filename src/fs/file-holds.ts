// Whether a file already holds exactly some bytes: a writer that finds it does can leave the file
// (and its modification time) alone.
import { open, type FileHandle } from "node:fs/promises";
import { hasErrnoCode } from "./errno.js";

/** Whether the file holds exactly these bytes (false when it is missing): compared a piece at a time. */
export async function fileHolds(path: string, chunks: readonly Uint8Array[]): Promise<boolean> {
  const size = chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0);
  let handle: FileHandle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    if (hasErrnoCode(error, "ENOENT", "EISDIR", "ENOTDIR")) return false;
    throw error;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile() || info.size !== size) return false;
    const buffer = Buffer.allocUnsafe(Math.min(COMPARE_BUFFER_BYTES, Math.max(1, size)));
    let chunkIndex = 0;
    let chunkOffset = 0;
    for (let position = 0; position < size;) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, size - position), position);
      if (bytesRead === 0) return false;
      // Compare what was read with the same stretch of the pieces.
      for (let at = 0; at < bytesRead;) {
        const chunk = chunks[chunkIndex] as Uint8Array;
        const length = Math.min(chunk.byteLength - chunkOffset, bytesRead - at);
        if (
          Buffer.compare(
            buffer.subarray(at, at + length),
            chunk.subarray(chunkOffset, chunkOffset + length),
          ) !== 0
        )
          return false;
        at += length;
        chunkOffset += length;
        if (chunkOffset === chunk.byteLength) {
          chunkIndex++;
          chunkOffset = 0;
        }
      }
      position += bytesRead;
    }
    return true;
  } finally {
    await handle.close();
  }
}

/** How much of an existing manifest is read at a time to compare it with the new bytes. */
const COMPARE_BUFFER_BYTES = 1024 * 1024;
