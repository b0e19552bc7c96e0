// The simulator's renders, as a person opening the files finds them: playable MP4s as long as the
// reference and shaped like the ratio, one file per task, labelled with the task's real values.
// ffprobe/ffmpeg decode them where they are installed; the file's structure is checked everywhere.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { buildMp4 } from "../../src/media/mp4-build.js";
import { parseMp4, readBoxHeader } from "../../src/media/mp4.js";
import { labelOf, renderPicture, renderVideo, type RenderRequest } from "../../src/sim/render.js";
import { captureIo } from "../helpers/capture-io.js";

const ffmpeg = (() => {
  try {
    execFileSync("ffprobe", ["-version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

const request = (over: Partial<RenderRequest> = {}): RenderRequest => ({
  ratio: "1280:720",
  expressionIntensity: 5,
  seed: 42,
  label: "id 1a2b3c4d",
  seconds: 5,
  ...over,
});

describe("a render", () => {
  it.each([
    ["1280:720", 5, 192, 108],
    ["960:960", 3.5, 108, 108],
    ["720:1280", 30, 108, 192],
    ["1584:672", 10, 254, 108],
    ["832:1104", 7, 108, 144],
  ])(
    "%s for a %s s reference: an H.264 track of that shape and length, every sample in place",
    (ratio, seconds, width, height) => {
      const file = renderVideo(request({ ratio, seconds }));
      expect(parseMp4(file)).toMatchObject({ durationSec: seconds, video: { width, height } });
      const track = samplesOf(file);
      expect(track.codec).toBe("avc1");
      expect(track.samples).toHaveLength(Math.round(seconds * 12));
      // Each sample is one NAL unit: an IDR picture first, then P pictures.
      expect(track.samples.map((sample) => sample[4]! & 0x1f)).toEqual([
        5,
        ...track.samples.slice(1).map(() => 1),
      ]);
      for (const sample of track.samples)
        expect(new DataView(sample.buffer, sample.byteOffset).getUint32(0)).toBe(sample.length - 4);
    },
  );

  it.skipIf(!ffmpeg)(
    "plays: ffprobe sees an h264 stream of that length and ffmpeg decodes every frame without an error",
    async () => {
      const dir = await mkdtemp(join(tmpdir(), "actbatch-render-"));
      try {
        const path = join(dir, "render.mp4");
        await writeFile(path, renderVideo(request({ ratio: "1584:672", seconds: 5 })));
        const probe = execFileSync(
          "ffprobe",
          [
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name,width,height,nb_frames:format=duration",
            "-of",
            "json",
            path,
          ],
          { encoding: "utf8" },
        );
        expect(JSON.parse(probe)).toMatchObject({
          streams: [{ codec_name: "h264", width: 254, height: 108, nb_frames: "60" }],
          format: { duration: "5.000000" },
        });
        const errors = execFileSync("ffmpeg", ["-v", "error", "-i", path, "-f", "null", "-"], {
          encoding: "utf8",
        });
        expect(errors).toBe("");
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );

  it("shows its real seed and intensity: the first picture in the file is the labelled one", () => {
    expect(labelOf(request())).toEqual(["ei5 seed 42", "id 1a2b3c4d"]);
    const file = renderVideo(request());
    const shown = firstPicture(file);
    const { picture, width, height } = renderPicture(request());
    expect(shown.width).toBe(picture.width);
    // Below the moving box's row, the decoded picture is the labelled still, sample for sample.
    for (let row = 16; row < height; row++) {
      const at = row * picture.width;
      expect(shown.y.subarray(at, at + width)).toEqual(picture.y.subarray(at, at + width));
    }
    // Seeds 42 and 2 once shared a clip labelled "s2": now their pictures differ, in the label.
    const other = renderPicture(request({ seed: 2 })).picture;
    expect(Buffer.compare(Buffer.from(other.y), Buffer.from(picture.y))).not.toBe(0);
  });

  it.skipIf(!ffmpeg)("decodes, with ffmpeg, to the labelled picture, sample for sample", async () => {
    const dir = await mkdtemp(join(tmpdir(), "actbatch-render-"));
    try {
      const path = join(dir, "render.mp4");
      await writeFile(path, renderVideo(request()));
      // The Y plane of the first frame as decoded (no conversion: yuv420p is what was coded).
      const yuv = execFileSync("ffmpeg", [
        "-v",
        "error",
        "-i",
        path,
        "-frames:v",
        "1",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "yuv420p",
        "-",
      ]);
      const { picture, width, height } = renderPicture(request());
      const gray = yuv.subarray(0, width * height);
      expect(gray.length).toBe(width * height);
      for (let row = 16; row < height; row++)
        expect(gray.subarray(row * width, (row + 1) * width)).toEqual(
          Buffer.from(picture.y.subarray(row * picture.width, row * picture.width + width)),
        );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("a simulated run with a local reference", () => {
  let dir: string;
  const run = { code: -1, stderr: "", files: [] as string[] };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "actbatch-local-renders-"));
    // A 1x1 PNG.
    await writeFile(
      join(dir, "hero.png"),
      Buffer.from(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
        "base64",
      ),
    );
    // A 5 s reference: the service reads its length from the file and renders as long.
    await writeFile(join(dir, "take.mp4"), buildMp4({ durationSec: 5, width: 320, height: 180 }));
    await writeFile(
      join(dir, "job.yaml"),
      [
        "version: 1",
        "name: local",
        "assets:",
        "  hero: { type: image, path: hero.png }",
        "  take: { type: video, path: take.mp4 }",
        "pairs:",
        "  - { id: hero-take, character: hero, reference: take }",
        "sweep:",
        "  seed: [7, 42]",
        "",
      ].join("\n"),
    );
    const captured = captureIo(dir, { ACTBATCH_TIME_SCALE: "1000" });
    run.code = await main(["run", "job.yaml", "--simulate", "--out", "out"], captured.io);
    run.stderr = captured.stderr();
    const folder = join(dir, "out", "hero-take");
    run.files = (await readdir(folder))
      .filter((name) => name.endsWith(".mp4"))
      .map((name) => join(folder, name));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("gets playable MP4s of the reference's 5 s, one file per task", async () => {
    expect(run.code === 0 ? "exit 0" : run.stderr).toBe("exit 0");
    expect(run.files).toHaveLength(2);
    const digests = new Set<string>();
    for (const path of run.files) {
      const bytes = new Uint8Array(await readFile(path));
      digests.add(createHash("sha256").update(bytes).digest("hex"));
      expect(parseMp4(bytes)).toMatchObject({ durationSec: 5, video: { width: 192, height: 108 } });
      expect(samplesOf(bytes)).toMatchObject({ codec: "avc1" });
    }
    expect(digests.size).toBe(2);
  });

  it.skipIf(!ffmpeg)("gets files ffprobe reads as one h264 video stream of 5 s", () => {
    for (const path of run.files) {
      const probe = execFileSync(
        "ffprobe",
        ["-v", "error", "-show_entries", "stream=codec_type,codec_name:format=duration", "-of", "json", path],
        { encoding: "utf8" },
      );
      expect(JSON.parse(probe)).toEqual({
        programs: [],
        streams: [{ codec_name: "h264", codec_type: "video" }],
        format: { duration: "5.000000" },
      });
    }
  });
});

// ---- reading the files back -------------------------------------------------------------------

/** The video track's codec and its samples (each a 4-byte length and a NAL unit), from stbl. */
function samplesOf(file: Uint8Array): { codec: string; samples: Uint8Array[] } {
  const stbl = findBox(file, ["moov", "trak", "mdia", "minf", "stbl"]);
  const view = new DataView(file.buffer, file.byteOffset);
  const child = (type: string): number => {
    const found = findBox(file, [type], stbl.start + 8, stbl.end);
    return found.start + 8;
  };
  const codec = String.fromCharCode(...file.subarray(child("stsd") + 12, child("stsd") + 16));
  const stsz = child("stsz");
  const count = view.getUint32(stsz + 8);
  const sizes = Array.from({ length: count }, (_, i) => view.getUint32(stsz + 12 + 4 * i));
  let offset = view.getUint32(child("stco") + 8);
  const samples = sizes.map((size) => {
    const sample = file.subarray(offset, offset + size);
    offset += size;
    return sample;
  });
  const mdat = findBox(file, ["mdat"]);
  expect(offset).toBe(mdat.end);
  return { codec, samples };
}

/** The box at `path` (each type a child of the one before), searched within [from, to). */
function findBox(
  file: Uint8Array,
  path: string[],
  from = 0,
  to = file.length,
): { start: number; end: number } {
  let range = { start: from, end: to };
  let found: { start: number; end: number } | null = null;
  for (const type of path) {
    found = null;
    for (let at = range.start; at < range.end;) {
      const header = readBoxHeader(file, at);
      if (header === null) break;
      if (header.type === type) {
        found = { start: at, end: at + header.size };
        break;
      }
      at += header.size;
    }
    if (found === null) throw new Error(`no ${type} box`);
    range = { start: found.start + 8, end: found.end };
  }
  return found!;
}

/** The luma of the file's first picture, read from its I_PCM macroblocks (the encoder's own form). */
function firstPicture(file: Uint8Array): { width: number; y: Uint8Array } {
  const info = parseMp4(file);
  const mbWidth = Math.ceil((info.video?.width ?? 0) / 16);
  const mbHeight = Math.ceil((info.video?.height ?? 0) / 16);
  const nal = samplesOf(file).samples[0]!.subarray(4);
  // Emulation prevention out: 00 00 03 is 00 00.
  const rbsp: number[] = [];
  for (let i = 1; i < nal.length; i++) {
    if (
      i >= 3 &&
      nal[i] === 3 &&
      nal[i - 1] === 0 &&
      nal[i - 2] === 0 &&
      rbsp.at(-1) === 0 &&
      rbsp.at(-2) === 0
    )
      continue;
    rbsp.push(nal[i]!);
  }
  const bits = new BitReader(Uint8Array.from(rbsp));
  bits.ue(); // first_mb_in_slice
  expect(bits.ue()).toBe(7); // I slice
  bits.ue(); // pic_parameter_set_id
  bits.u(16); // frame_num
  bits.ue(); // idr_pic_id
  bits.u(2); // no_output_of_prior_pics_flag, long_term_reference_flag
  bits.ue(); // slice_qp_delta (se, 0)
  bits.ue(); // disable_deblocking_filter_idc
  const width = mbWidth * 16;
  const y = new Uint8Array(width * mbHeight * 16);
  for (let mb = 0; mb < mbWidth * mbHeight; mb++) {
    expect(bits.ue()).toBe(25); // I_PCM
    bits.align();
    const x0 = (mb % mbWidth) * 16;
    const y0 = Math.floor(mb / mbWidth) * 16;
    for (let row = 0; row < 16; row++) y.set(bits.bytes(16), (y0 + row) * width + x0);
    bits.bytes(128); // chroma
  }
  return { width, y };
}

class BitReader {
  private at = 0;
  constructor(private readonly data: Uint8Array) {}
  u(count: number): number {
    let value = 0;
    for (let i = 0; i < count; i++, this.at++)
      value = value * 2 + ((this.data[this.at >> 3]! >> (7 - (this.at & 7))) & 1);
    return value;
  }
  ue(): number {
    let zeros = 0;
    while (this.u(1) === 0) zeros++;
    return 2 ** zeros - 1 + this.u(zeros);
  }
  align(): void {
    this.at = Math.ceil(this.at / 8) * 8;
  }
  bytes(count: number): Uint8Array {
    const start = this.at / 8;
    this.at += count * 8;
    return this.data.subarray(start, start + count);
  }
}
