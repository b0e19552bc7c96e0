// Builds small, structurally valid MP4 files (ftyp, moov with one video track, mdat of filler) of
// any duration and size, without encoding a frame: enough for anything that reads the header (the
// simulator's probe-able assets, parser tests). Not playable.

export interface BuildMp4Options {
  durationSec: number;
  width?: number;
  height?: number;
  /** Put moov after mdat, as encoders that do not "fast start" do. */
  moovAtEnd?: boolean;
  /** Bytes of mdat payload (default 1024). */
  mdatBytes?: number;
  /** Write mvhd and tkhd in version 1 (64-bit times). */
  version1?: boolean;
  /** Movie timescale (default 1000). */
  timescale?: number;
}

export function buildMp4(options: BuildMp4Options): Uint8Array {
  const parts = mp4Parts(options);
  const middle = new Uint8Array(parts.fillerBytes);
  for (let i = 0; i < middle.length; i++) middle[i] = fillerByte(i);
  return concat(parts.head, middle, parts.tail);
}

/**
 * The file as `head`, then `fillerBytes` of mdat payload (byte i is `fillerByte(i)`), then `tail`:
 * a server can serve a file of any size without holding it in memory.
 */
export function mp4Parts(options: BuildMp4Options): {
  head: Uint8Array;
  fillerBytes: number;
  tail: Uint8Array;
} {
  const timescale = options.timescale ?? 1000;
  const duration = Math.round(options.durationSec * timescale);
  const v1 = options.version1 === true;
  const ftyp = box("ftyp", ascii("isom"), u32(512), ascii("isomiso2avc1mp41"));
  const mvhd = fullBox(
    "mvhd",
    v1 ? 1 : 0,
    v1
      ? concat(u64(0), u64(0), u32(timescale), u64(duration))
      : concat(u32(0), u32(0), u32(timescale), u32(duration)),
    u32(0x00010000), // rate 1.0
    u16(0x0100), // volume 1.0
    new Uint8Array(10),
    matrix(),
    new Uint8Array(24),
    u32(2), // next track id
  );
  const tkhd = fullBox(
    "tkhd",
    v1 ? 1 : 0,
    v1
      ? concat(u64(0), u64(0), u32(1), u32(0), u64(duration))
      : concat(u32(0), u32(0), u32(1), u32(0), u32(duration)),
    new Uint8Array(8),
    u16(0),
    u16(0),
    u16(0),
    u16(0),
    matrix(),
    u32((options.width ?? 1280) * 65536),
    u32((options.height ?? 720) * 65536),
  );
  const mdhd = fullBox("mdhd", 0, u32(0), u32(0), u32(timescale), u32(duration), u16(0x55c4), u16(0));
  const hdlr = fullBox("hdlr", 0, u32(0), ascii("vide"), new Uint8Array(12), ascii("VideoHandler\0"));
  const moov = box("moov", mvhd, box("trak", tkhd, box("mdia", mdhd, hdlr)));
  const fillerBytes = options.mdatBytes ?? 1024;
  const mdatHeader = concat(u32(fillerBytes + 8), ascii("mdat"));
  return options.moovAtEnd
    ? { head: concat(ftyp, mdatHeader), fillerBytes, tail: moov }
    : { head: concat(ftyp, moov, mdatHeader), fillerBytes, tail: new Uint8Array(0) };
}

/** A box: 32-bit size, four-character type, payload. */
export function box(type: string, ...payload: Uint8Array[]): Uint8Array {
  const body = concat(...payload);
  return concat(u32(body.length + 8), ascii(type), body);
}

function fullBox(type: string, version: number, ...payload: Uint8Array[]): Uint8Array {
  return box(type, new Uint8Array([version, 0, 0, 0]), ...payload);
}

function matrix(): Uint8Array {
  return concat(
    u32(0x00010000),
    u32(0),
    u32(0),
    u32(0),
    u32(0x00010000),
    u32(0),
    u32(0),
    u32(0),
    u32(0x40000000),
  );
}

/** Byte `i` of the mdat filler: not all zeros, so a reader that loses its place shows it. */
export function fillerByte(i: number): number {
  return (i * 31 + 7) & 0xff;
}

export function u32(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value >>> 0);
  return bytes;
}

function u16(value: number): Uint8Array {
  return new Uint8Array([(value >> 8) & 0xff, value & 0xff]);
}

export function u64(value: number): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(value));
  return bytes;
}

export function ascii(text: string): Uint8Array {
  return Uint8Array.from(text, (char) => char.charCodeAt(0));
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
