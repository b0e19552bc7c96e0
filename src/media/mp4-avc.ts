// Muxes an H.264 stream into a playable MP4: ftyp, moov (one avc1 video track with its complete
// sample tables) before mdat ("fast start", so a player starts before the whole file is in).
import { ascii, box, concat, u32 } from "./mp4-build.js";

export interface AvcTrack {
  /** Display size. */
  width: number;
  height: number;
  /** Pictures per second: each sample lasts 1/fps s. */
  fps: number;
  /** The parameter sets, as NAL units without start codes. */
  sps: Uint8Array;
  pps: Uint8Array;
  /** One NAL unit per sample (one picture each), in decoding order. */
  samples: readonly Uint8Array[];
  /** Indexes of the samples a player may start from (IDR pictures). */
  sync: readonly number[];
}

export function muxAvc(track: AvcTrack): Uint8Array {
  const count = track.samples.length;
  const movieTimescale = 1000;
  const durationMs = Math.round((count / track.fps) * movieTimescale);
  // Samples in mdat as AVCC: each NAL unit after its 4-byte length.
  const sampleSizes = track.samples.map((sample) => sample.length + 4);
  const ftyp = box("ftyp", ascii("isom"), u32(512), ascii("isomiso2avc1mp41"));

  const moovFor = (chunkOffset: number): Uint8Array =>
    box(
      "moov",
      fullBox(
        "mvhd",
        0,
        u32(0),
        u32(0),
        u32(movieTimescale),
        u32(durationMs),
        u32(0x00010000),
        u16(0x0100),
        new Uint8Array(10),
        matrix(),
        new Uint8Array(24),
        u32(2),
      ),
      box(
        "trak",
        fullBoxFlags(
          "tkhd",
          0,
          3, // enabled, in the movie
          u32(0),
          u32(0),
          u32(1),
          u32(0),
          u32(durationMs),
          new Uint8Array(8),
          u16(0),
          u16(0),
          u16(0),
          u16(0),
          matrix(),
          u32(track.width * 65536),
          u32(track.height * 65536),
        ),
        box(
          "mdia",
          fullBox("mdhd", 0, u32(0), u32(0), u32(track.fps), u32(count), u16(0x55c4), u16(0)),
          fullBox("hdlr", 0, u32(0), ascii("vide"), new Uint8Array(12), ascii("VideoHandler\0")),
          box(
            "minf",
            fullBox("vmhd", 0, u16(0), u16(0), u16(0), u16(0)),
            box("dinf", fullBox("dref", 0, u32(1), fullBoxFlags("url ", 0, 1))),
            box(
              "stbl",
              fullBox("stsd", 0, u32(1), avc1(track)),
              fullBox("stts", 0, u32(1), u32(count), u32(1)),
              fullBox("stss", 0, u32(track.sync.length), ...track.sync.map((index) => u32(index + 1))),
              fullBox("stsc", 0, u32(1), u32(1), u32(count), u32(1)),
              fullBox("stsz", 0, u32(0), u32(count), ...sampleSizes.map((size) => u32(size))),
              fullBox("stco", 0, u32(1), u32(chunkOffset)),
            ),
          ),
        ),
      ),
    );

  // The chunk offset is where mdat's payload starts, after moov, whose size does not depend on it.
  const moovSize = moovFor(0).length;
  const mdatPayload = sampleSizes.reduce((sum, size) => sum + size, 0);
  const moov = moovFor(ftyp.length + moovSize + 8);
  const mdat = new Uint8Array(8 + mdatPayload);
  const view = new DataView(mdat.buffer);
  view.setUint32(0, mdat.length);
  mdat.set(ascii("mdat"), 4);
  let at = 8;
  for (const sample of track.samples) {
    view.setUint32(at, sample.length);
    mdat.set(sample, at + 4);
    at += 4 + sample.length;
  }
  return concat(ftyp, moov, mdat);
}

/** The avc1 sample entry with its avcC (decoder configuration: profile, level, SPS, PPS). */
function avc1(track: AvcTrack): Uint8Array {
  const compressor = new Uint8Array(32);
  const name = ascii("actbatch simulator");
  compressor[0] = name.length;
  compressor.set(name, 1);
  const avcC = box(
    "avcC",
    new Uint8Array([1, track.sps[1] ?? 66, track.sps[2] ?? 0, track.sps[3] ?? 30, 0xff, 0xe1]),
    u16(track.sps.length),
    track.sps,
    new Uint8Array([1]),
    u16(track.pps.length),
    track.pps,
  );
  return box(
    "avc1",
    new Uint8Array(6), // reserved
    u16(1), // data_reference_index
    new Uint8Array(16), // pre_defined, reserved
    u16(track.width),
    u16(track.height),
    u32(0x00480000), // 72 dpi
    u32(0x00480000),
    u32(0),
    u16(1), // frame_count
    compressor,
    u16(0x0018), // depth
    u16(0xffff), // pre_defined: -1
    avcC,
  );
}

function fullBox(type: string, version: number, ...payload: Uint8Array[]): Uint8Array {
  return fullBoxFlags(type, version, 0, ...payload);
}

/** A full box: version, 24 bits of flags, payload. */
function fullBoxFlags(type: string, version: number, flags: number, ...payload: Uint8Array[]): Uint8Array {
  return box(
    type,
    new Uint8Array([version, (flags >> 16) & 0xff, (flags >> 8) & 0xff, flags & 0xff]),
    ...payload,
  );
}

function u16(value: number): Uint8Array {
  return new Uint8Array([(value >> 8) & 0xff, value & 0xff]);
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
