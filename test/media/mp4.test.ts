import { readdirSync, readFileSync } from "node:fs";
import { array, assert as fcAssert, integer, nat, property, tuple, uint8Array } from "fast-check";
import { describe, expect, it } from "vitest";
import { buildMp4, Mp4Error, parseMp4, probeMp4, type RangeReader } from "../../src/media/index.js";
import { box, concat, u32, u64, ascii } from "../../src/media/mp4-build.js";

const mediaDir = new URL("../fixtures/media/", import.meta.url);
const clips = readdirSync(mediaDir).filter((name) => name.endsWith(".mp4"));

/** Moves the moov box after everything else, as a file written without "fast start" has it. */
function moovToEnd(file: Uint8Array): Uint8Array {
  const boxes: Uint8Array[] = [];
  let moov: Uint8Array | undefined;
  for (let at = 0; at < file.length;) {
    const size = new DataView(file.buffer, file.byteOffset + at).getUint32(0);
    const type = String.fromCharCode(...file.subarray(at + 4, at + 8));
    const part = file.subarray(at, at + size);
    if (type === "moov") moov = part;
    else boxes.push(part);
    at += size;
  }
  if (!moov) throw new Error("no moov");
  return concat(...boxes, moov);
}

function readerOf(file: Uint8Array): { read: RangeReader; reads: [number, number][] } {
  const reads: [number, number][] = [];
  return {
    reads,
    read: async (start, length) => {
      reads.push([start, length]);
      return file.slice(start, start + length);
    },
  };
}

describe("parseMp4 on the simulator's committed clips", () => {
  it.each(clips)("%s: 192x108, 1 s", (name) => {
    const info = parseMp4(readFileSync(new URL(name, mediaDir)));
    expect(info.video).toMatchObject({ width: 192, height: 108 });
    expect(info.durationSec).toBeCloseTo(1, 2);
    expect(info.brand).toBe("isom");
  });

  it("reads the same facts when moov is at the end of the file", () => {
    const file = new Uint8Array(readFileSync(new URL(clips[0]!, mediaDir)));
    const moved = moovToEnd(file);
    expect(moved.length).toBe(file.length);
    expect(parseMp4(moved)).toEqual(parseMp4(file));
  });

  it("refuses a file cut before its moov box ends", () => {
    const file = moovToEnd(new Uint8Array(readFileSync(new URL(clips[0]!, mediaDir))));
    expect(() => parseMp4(file.subarray(0, file.length - 10))).toThrow(/cut short/);
  });
});

/** Parses; rethrows (failing the test) any exception other than Mp4Error. Returns whether it parsed. */
function expectOnlyMp4Errors(bytes: Uint8Array): boolean {
  try {
    parseMp4(bytes);
    return true;
  } catch (error) {
    if (error instanceof Mp4Error) return false;
    throw error;
  }
}

describe("parseMp4 on synthetic boxes", () => {
  it("reads duration and size from version 0 and version 1 headers, moov first or last", () => {
    for (const version1 of [false, true])
      for (const moovAtEnd of [false, true]) {
        const info = parseMp4(buildMp4({ durationSec: 12.5, width: 720, height: 1280, version1, moovAtEnd }));
        expect(info).toEqual({
          durationSec: 12.5,
          video: { width: 720, height: 1280, trackId: 1 },
          brand: "isom",
        });
      }
  });

  it("understands 64-bit box sizes and size 0 (to the end of the file)", () => {
    const plain = buildMp4({ durationSec: 4, moovAtEnd: false, mdatBytes: 0 });
    const info = parseMp4(plain);
    // ftyp with a 64-bit size, then a final mdat whose size 0 means "the rest of the file".
    const ftyp = concat(u32(1), ascii("ftyp"), u64(16 + 8), ascii("isom"), u32(0));
    const moov = plain.subarray(32, plain.length - 8);
    const file = concat(ftyp, moov, u32(0), ascii("mdat"), new Uint8Array(100));
    expect(parseMp4(file)).toEqual(info);
  });

  it("names what is wrong with files that are not MP4s", () => {
    expect(() => parseMp4(new Uint8Array())).toThrow(Mp4Error);
    expect(() => parseMp4(new TextEncoder().encode("<html><body>Not found</body></html>"))).toThrow(Mp4Error);
    expect(() => parseMp4(box("ftyp", ascii("isom"), u32(0)))).toThrow(/no moov/);
    expect(() => parseMp4(concat(box("ftyp", ascii("isom")), box("moov", box("free"))))).toThrow(/no mvhd/);
    expect(() => parseMp4(concat(u32(4), ascii("ftyp")))).toThrow(/bad size/);
  });

  it("finds no video track in a movie of audio only", () => {
    const file = buildMp4({ durationSec: 3 });
    const audio = file.slice();
    const at = Buffer.from(audio).indexOf("vide");
    audio.set(ascii("soun"), at);
    expect(parseMp4(audio).video).toBeNull();
  });

  it("throws only Mp4Error, whatever the bytes (fuzz)", () => {
    const seedFile = new Uint8Array(readFileSync(new URL(clips[0]!, mediaDir)));
    expect(expectOnlyMp4Errors(seedFile)).toBe(true);
    fcAssert(
      property(uint8Array({ maxLength: 512 }), (bytes) => {
        expectOnlyMp4Errors(bytes);
      }),
      { numRuns: 500 },
    );
    fcAssert(
      property(
        array(tuple(nat(seedFile.length - 1), integer({ min: 0, max: 255 })), { maxLength: 8 }),
        nat(seedFile.length),
        (edits, cut) => {
          const bytes = seedFile.slice(0, Math.max(cut, 1200));
          for (const [at, value] of edits) if (at < bytes.length) bytes[at] = value;
          expectOnlyMp4Errors(bytes);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("probeMp4 (ranged reads)", () => {
  it("reads a fast-start file in one read of the first chunk", async () => {
    const file = buildMp4({ durationSec: 8, mdatBytes: 200_000 });
    const { read, reads } = readerOf(file);
    const info = await probeMp4(read, file.length, { chunkBytes: 4096 });
    expect(info.durationSec).toBe(8);
    expect(reads).toEqual([[0, 4096]]);
  });

  it("follows the box sizes to a moov at the end without reading the media data", async () => {
    const file = buildMp4({ durationSec: 31, mdatBytes: 5_000_000, moovAtEnd: true });
    const { read, reads } = readerOf(file);
    const info = await probeMp4(read, file.length, { chunkBytes: 4096 });
    expect(info.durationSec).toBe(31);
    expect(reads.length).toBe(2);
    expect(
      reads.reduce((sum, [, length]) => sum + Math.min(length, file.length - reads[0]![0]), 0),
    ).toBeLessThan(10_000);
  });

  it("reads a moov larger than a chunk with one more read", async () => {
    const file = moovToEnd(new Uint8Array(readFileSync(new URL(clips[2]!, mediaDir))));
    const { read, reads } = readerOf(file);
    const info = await probeMp4(read, file.length, { chunkBytes: 64 });
    expect(info).toEqual(parseMp4(file));
    expect(reads.length).toBeLessThanOrEqual(4);
  });

  it("refuses a file that is not an MP4 after one read", async () => {
    const file = new TextEncoder().encode("GIF89a........................");
    const { read, reads } = readerOf(file);
    await expect(probeMp4(read, file.length)).rejects.toThrow(Mp4Error);
    expect(reads.length).toBe(1);
  });
});
