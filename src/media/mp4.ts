// Reads what actbatch needs from an MP4 (ISO BMFF) header: the movie duration and the video track's
// size. Pure and defensive: the bytes come from the network (assets, outputs), so every length is
// checked against what is there, recursion is bounded, and the only failure is an Mp4Error.

/** What the header says. */
export interface Mp4Info {
  /** Movie duration in seconds (mvhd duration / timescale). */
  durationSec: number;
  /** The first video track (handler `vide`), or null when the movie has none. */
  video: { width: number; height: number; trackId: number } | null;
  /** The major brand of `ftyp`, or null when the file has no ftyp box. */
  brand: string | null;
}

/** The bytes are not an MP4 header actbatch can read. */
export class Mp4Error extends Error {
  override readonly name = "Mp4Error";
}

/** One box as found in a byte range: where it starts and how long it is, in file offsets. */
export interface BoxHeader {
  type: string;
  /** File offset of the box's first byte. */
  start: number;
  /** Header length (8, or 16 with a 64-bit size). */
  headerSize: number;
  /** Whole box length, header included (for size 0, "to the end of the file"). */
  size: number;
}

/** Containers walked on the way to mvhd/tkhd/hdlr; anything else is skipped by its size. */
const CONTAINERS = new Set(["moov", "trak", "mdia"]);
const MAX_DEPTH = 8;
const MAX_BOXES = 10_000;

/**
 * Reads the box header at `offset` of `bytes` (whose first byte is at file offset `base`). Returns
 * null when fewer than the header's bytes are available. `fileSize` resolves size 0 ("to the end").
 */
export function readBoxHeader(
  bytes: Uint8Array,
  offset: number,
  base = 0,
  fileSize = base + bytes.length,
): BoxHeader | null {
  if (offset + 8 > bytes.length) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size32 = view.getUint32(offset);
  const type = fourCc(bytes, offset + 4);
  const start = base + offset;
  if (size32 === 1) {
    if (offset + 16 > bytes.length) return null;
    const size = Number(view.getBigUint64(offset + 8));
    if (size < 16 || !Number.isSafeInteger(size)) throw new Mp4Error(`box ${quote(type)} has a bad size`);
    return { type, start, headerSize: 16, size };
  }
  if (size32 === 0) return { type, start, headerSize: 8, size: Math.max(8, fileSize - start) };
  if (size32 < 8) throw new Mp4Error(`box ${quote(type)} at byte ${start} has a bad size (${size32})`);
  return { type, start, headerSize: 8, size: size32 };
}

/**
 * Parses a whole file, or any prefix of it that holds the `moov` box. Throws Mp4Error when the
 * bytes are not an MP4, or the `moov` box is missing or incomplete.
 */
export function parseMp4(bytes: Uint8Array): Mp4Info {
  let brand: string | null = null;
  let offset = 0;
  let count = 0;
  while (offset < bytes.length) {
    if (++count > MAX_BOXES) throw new Mp4Error("too many boxes");
    const header = readBoxHeader(bytes, offset);
    if (header === null) break;
    if (count === 1 && !isPrintable(header.type)) throw new Mp4Error("not an MP4 file (no box at the start)");
    const brandAt = offset + header.headerSize;
    if (header.type === "ftyp" && header.size >= header.headerSize + 4 && brandAt + 4 <= bytes.length)
      brand = fourCc(bytes, brandAt);
    if (header.type === "moov") {
      if (offset + header.size > bytes.length)
        throw new Mp4Error("the moov box is cut short (the file is incomplete)");
      return { ...parseMoov(bytes.subarray(offset + header.headerSize, offset + header.size)), brand };
    }
    offset += header.size;
  }
  throw new Mp4Error(count === 0 ? "not an MP4 file (empty)" : "no moov box (not a complete MP4 file)");
}

/** Parses the payload of a `moov` box (the bytes after its header). */
export function parseMoov(payload: Uint8Array): Omit<Mp4Info, "brand"> {
  let movie: { timescale: number; duration: number } | null = null;
  let video: Mp4Info["video"] = null;
  let boxes = 0;

  const walk = (bytes: Uint8Array, depth: number, track: TrackFacts | null): void => {
    if (depth > MAX_DEPTH) throw new Mp4Error("boxes nested too deeply");
    let offset = 0;
    while (offset + 8 <= bytes.length) {
      if (++boxes > MAX_BOXES) throw new Mp4Error("too many boxes");
      const header = readBoxHeader(bytes, offset, 0, bytes.length);
      if (header === null || offset + header.size > bytes.length)
        throw new Mp4Error(`box ${quote(header?.type ?? "?")} runs past its parent`);
      const body = bytes.subarray(offset + header.headerSize, offset + header.size);
      if (header.type === "mvhd") movie = readMvhd(body);
      else if (header.type === "tkhd" && track) Object.assign(track, readTkhd(body));
      else if (header.type === "hdlr" && track) track.handler = readHandler(body);
      else if (header.type === "trak") {
        const facts: TrackFacts = {};
        walk(body, depth + 1, facts);
        if (video === null && facts.handler === "vide" && facts.width !== undefined)
          video = { width: facts.width, height: facts.height ?? 0, trackId: facts.trackId ?? 0 };
      } else if (CONTAINERS.has(header.type)) walk(body, depth + 1, track);
      offset += header.size;
    }
  };
  walk(payload, 0, null);

  const found = movie as { timescale: number; duration: number } | null;
  if (found === null) throw new Mp4Error("the moov box has no mvhd (movie header)");
  if (found.timescale === 0) throw new Mp4Error("the movie header has a timescale of 0");
  return { durationSec: found.duration / found.timescale, video };
}

interface TrackFacts {
  width?: number;
  height?: number;
  trackId?: number;
  handler?: string;
}

function readMvhd(body: Uint8Array): { timescale: number; duration: number } {
  const view = viewOf(body);
  const version = need(body, 1, "mvhd")[0];
  if (version === 1) {
    need(body, 32, "mvhd");
    return { timescale: view.getUint32(20), duration: safeNumber(view.getBigUint64(24), "mvhd") };
  }
  need(body, 20, "mvhd");
  return { timescale: view.getUint32(12), duration: view.getUint32(16) };
}

function readTkhd(body: Uint8Array): Pick<TrackFacts, "width" | "height" | "trackId"> {
  const view = viewOf(body);
  const version = need(body, 1, "tkhd")[0];
  // Fields after version/flags: times, track id, reserved, duration (64-bit times in version 1),
  // then 8 reserved, layer, alternate group, volume, reserved, a 36-byte matrix, width, height.
  const idAt = version === 1 ? 4 + 16 : 4 + 8;
  const durationSize = version === 1 ? 8 : 4;
  const widthAt = idAt + 4 + 4 + durationSize + 8 + 8 + 36;
  need(body, widthAt + 8, "tkhd");
  return {
    trackId: view.getUint32(idAt),
    // 16.16 fixed point; the integer part is the size in pixels.
    width: view.getUint32(widthAt) / 65536,
    height: view.getUint32(widthAt + 4) / 65536,
  };
}

function readHandler(body: Uint8Array): string {
  need(body, 12, "hdlr");
  return fourCc(body, 8);
}

function need(body: Uint8Array, length: number, box: string): Uint8Array {
  if (body.length < length) throw new Mp4Error(`the ${box} box is too short`);
  return body;
}

function safeNumber(value: bigint, box: string): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number)) throw new Mp4Error(`the ${box} box holds a duration out of range`);
  return number;
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function fourCc(bytes: Uint8Array, offset: number): string {
  return String.fromCharCode(
    bytes[offset] ?? 0,
    bytes[offset + 1] ?? 0,
    bytes[offset + 2] ?? 0,
    bytes[offset + 3] ?? 0,
  );
}

function isPrintable(type: string): boolean {
  return /^[\x20-\x7e]{4}$/.test(type);
}

function quote(type: string): string {
  return isPrintable(type) ? type : JSON.stringify(type);
}
