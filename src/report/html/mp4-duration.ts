// The duration of a downloaded MP4, read from its movie header box: at Runway the output is as
// long as the reference, so this prices a finished task without any request.
import { open } from "node:fs/promises";

/** A moov box larger than this is not read (a render's is a few KiB to a few hundred). */
const MAX_MOOV_BYTES = 4 << 20;
/** Top-level boxes walked before giving up (ftyp, moov, mdat, free... a real file has a handful). */
const MAX_TOP_LEVEL_BOXES = 64;

/**
 * Seconds, or null when the file is missing or has no readable mvhd box. Walks the top-level boxes
 * by their headers and reads only the moov box, so pricing 10,000 outputs reads kilobytes per file.
 */
export async function readMp4Duration(path: string): Promise<number | null> {
  let handle;
  try {
    handle = await open(path, "r");
  } catch {
    return null;
  }
  try {
    const size = (await handle.stat()).size;
    const header = Buffer.alloc(16);
    let offset = 0;
    for (let box = 0; box < MAX_TOP_LEVEL_BOXES && offset + 8 <= size; box++) {
      const { bytesRead } = await handle.read(header, 0, 16, offset);
      if (bytesRead < 8) return null;
      let boxSize = header.readUInt32BE(0);
      let headerSize = 8;
      if (boxSize === 1) {
        if (bytesRead < 16) return null;
        boxSize = Number(header.readBigUInt64BE(8));
        headerSize = 16;
      } else if (boxSize === 0) boxSize = size - offset;
      if (boxSize < headerSize) return null;
      if (header.toString("latin1", 4, 8) === "moov") {
        const length = Math.min(boxSize - headerSize, MAX_MOOV_BYTES, size - offset - headerSize);
        const moov = Buffer.alloc(length);
        await handle.read(moov, 0, length, offset + headerSize);
        return mvhdDuration(moov);
      }
      offset += boxSize;
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
