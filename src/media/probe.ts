// Finds and parses the `moov` box of a remote MP4 with a few ranged reads: the first chunk holds
// ftyp and, for a "fast start" file, moov; otherwise the top-level box sizes lead straight to the
// moov at the end, whose own size says how much more to read. Never reads the media data.
import { Mp4Error, parseMoov, readBoxHeader, type Mp4Info } from "./mp4.js";

/** Reads `length` bytes from `start` (fewer only at the end of the file). */
export type RangeReader = (start: number, length: number) => Promise<Uint8Array>;

export interface ProbeMp4Options {
  /** Bytes asked for per read when looking for box headers (default 64 KiB). */
  chunkBytes?: number;
  /** A moov larger than this is refused rather than downloaded (default 16 MiB). */
  maxMoovBytes?: number;
  /** Top-level boxes walked before giving up (default 64). */
  maxBoxes?: number;
}

/** Parses the header of a file of `size` bytes through `read`. Throws Mp4Error. */
export async function probeMp4(
  read: RangeReader,
  size: number,
  options: ProbeMp4Options = {},
): Promise<Mp4Info> {
  const chunkBytes = options.chunkBytes ?? 64 * 1024;
  const maxMoovBytes = options.maxMoovBytes ?? 16 * 1024 * 1024;
  const maxBoxes = options.maxBoxes ?? 64;
  let window: { start: number; bytes: Uint8Array } = { start: 0, bytes: new Uint8Array(0) };
  // readAhead: when looking for a box header, read a chunk (the next headers are likely near);
  // when the exact length is known (a moov), read just that.
  const ensure = async (start: number, length: number, readAhead = true): Promise<Uint8Array> => {
    const end = Math.min(size, start + length);
    const windowEnd = window.start + window.bytes.length;
    if (start >= window.start && end <= windowEnd)
      return window.bytes.subarray(start - window.start, end - window.start);
    if (start >= window.start && start < windowEnd) {
      // Extend the window by what is missing rather than reading its overlap again.
      const more = await read(
        windowEnd,
        readAhead ? Math.max(end - windowEnd, Math.min(chunkBytes, size - windowEnd)) : end - windowEnd,
      );
      const joined = new Uint8Array(window.bytes.length + more.length);
      joined.set(window.bytes);
      joined.set(more, window.bytes.length);
      window = { start: window.start, bytes: joined };
    } else {
      const ahead = readAhead ? Math.min(chunkBytes, size - start) : 0;
      window = { start, bytes: await read(start, Math.max(end - start, ahead)) };
    }
    return window.bytes.subarray(start - window.start, Math.min(window.bytes.length, end - window.start));
  };

  let brand: string | null = null;
  let offset = 0;
  for (let count = 0; offset < size; count++) {
    if (count >= maxBoxes) throw new Mp4Error("too many top-level boxes before the moov box");
    const head = await ensure(offset, 16);
    const header = readBoxHeader(head, 0, offset, size);
    if (header === null) throw new Mp4Error("the file ends inside a box header");
    if (count === 0 && header.type !== "ftyp" && header.type !== "moov" && !/^[a-z ]{4}$/.test(header.type))
      throw new Mp4Error("not an MP4 file (no box at the start)");
    if (header.type === "ftyp") {
      const at = header.headerSize;
      const ftyp = await ensure(offset, at + 4);
      if (ftyp.length >= at + 4 && header.size >= at + 4)
        brand = String.fromCharCode(...ftyp.subarray(at, at + 4));
    }
    if (header.type === "moov") {
      if (header.size > maxMoovBytes) throw new Mp4Error(`the moov box is too large (${header.size} bytes)`);
      if (offset + header.size > size)
        throw new Mp4Error("the moov box is cut short (the file is incomplete)");
      const moov = await ensure(offset, header.size, false);
      if (moov.length < header.size) throw new Mp4Error("the moov box is cut short (short read)");
      return { ...parseMoov(moov.subarray(header.headerSize, header.size)), brand };
    }
    offset += header.size;
  }
  throw new Mp4Error("no moov box (not a complete MP4 file)");
}
