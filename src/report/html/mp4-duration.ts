// The duration of a downloaded MP4, read from its movie header box: at Runway the output is as
// long as the reference, so this prices a finished task without any request.
import { open } from "node:fs/promises";

/** How much of the file is searched for the moov box (outputs put it first or last; we read both ends). */
const SCAN_BYTES = 1 << 20;

/** Seconds, or null when the file is missing or has no readable mvhd box. */
export async function readMp4Duration(path: string): Promise<number | null> {
  let handle;
  try {
    handle = await open(path, "r");
  } catch {
    return null;
  }
  try {
    const size = (await handle.stat()).size;
    const chunks: Buffer[] = [];
    const head = Buffer.alloc(Math.min(size, SCAN_BYTES));
    await handle.read(head, 0, head.length, 0);
    chunks.push(head);
    if (size > SCAN_BYTES) {
      const tail = Buffer.alloc(Math.min(size - SCAN_BYTES, SCAN_BYTES));
      await handle.read(tail, 0, tail.length, size - tail.length);
      chunks.push(tail);
    }
    for (const chunk of chunks) {
      const seconds = mvhdDuration(chunk);
      if (seconds !== null) return seconds;
    }
    return null;
  } finally {
    await handle.close();
  }
}

/** Finds "mvhd" in the bytes and decodes timescale and duration (version 0 or 1). */
export function mvhdDuration(bytes: Buffer): number | null {
  let at = bytes.indexOf("mvhd", 0, "latin1");
  while (at >= 4) {
    const version = bytes[at + 4];
    if (version === 0 && at + 24 <= bytes.length) {
      const timescale = bytes.readUInt32BE(at + 16);
      const duration = bytes.readUInt32BE(at + 20);
      if (timescale > 0) return duration / timescale;
    } else if (version === 1 && at + 36 <= bytes.length) {
      const timescale = bytes.readUInt32BE(at + 24);
      const duration = Number(bytes.readBigUInt64BE(at + 28));
      if (timescale > 0) return duration / timescale;
    }
    at = bytes.indexOf("mvhd", at + 4, "latin1");
  }
  return null;
}
