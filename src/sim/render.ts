// The simulator's renders: for each task a playable MP4 shaped like the ratio it asked for and as
// long as its reference, showing what it was asked (a hue for its expressionIntensity, stripes for
// its seed, a box moving as fast as the intensity) and, burnt in, its real values and its id: a
// contact sheet of a sweep shows distinct, labelled tiles, and no two tasks share a file.
import { PcmEncoder, type YuvPicture } from "../media/h264-pcm.js";
import { muxAvc } from "../media/mp4-avc.js";

/** Pictures per second of a render. */
const FPS = 12;
/** Every render is this many pixels on its short side (small: the simulator serves many). */
const SHORT_SIDE = 108;
/** A render never lasts longer than the service accepts references (30 s), whatever it is told. */
const MAX_SECONDS = 30;

export interface RenderRequest {
  /** "W:H" as the API takes it (1280:720, 960:960, ...). */
  ratio: string;
  expressionIntensity: number;
  seed: number;
  /** A second line of the label (the task's id). */
  label: string;
  seconds: number;
}

/** The picture size of a ratio: SHORT_SIDE on the short side, even sizes, the ratio kept. */
export function renderSize(ratio: string): { width: number; height: number } {
  const [w, h] = ratio.split(":").map(Number);
  const width = w !== undefined && w > 0 ? w : 16;
  const height = h !== undefined && h > 0 ? h : 9;
  return width >= height
    ? { width: even((SHORT_SIDE * width) / height), height: SHORT_SIDE }
    : { width: SHORT_SIDE, height: even((SHORT_SIDE * height) / width) };
}

/** The label burnt into a render, line by line. */
export function labelOf(request: Pick<RenderRequest, "expressionIntensity" | "seed" | "label">): string[] {
  return [`ei${intensityOf(request)} seed ${request.seed}`, request.label];
}

/**
 * The render's still picture (its first, without the moving box), at the coded size: what the
 * first sample of the file shows once decoded, cropped to `width` x `height`.
 */
export function renderPicture(request: RenderRequest): {
  picture: YuvPicture;
  width: number;
  height: number;
} {
  const { width, height } = renderSize(request.ratio);
  const encoder = new PcmEncoder(width, height);
  const picture = backdrop(encoder.codedWidth, encoder.codedHeight, intensityOf(request), request.seed);
  label(picture, labelOf(request), width, height);
  return { picture, width, height };
}

function even(n: number): number {
  return Math.max(2, 2 * Math.round(n / 2));
}

export function renderVideo(request: RenderRequest): Uint8Array {
  const { picture: base, width, height } = renderPicture(request);
  const encoder = new PcmEncoder(width, height);
  const frames = Math.max(1, Math.round(Math.min(MAX_SECONDS, Math.max(0, request.seconds)) * FPS));
  const ei = intensityOf(request);

  // The box crosses the top row of macroblocks, ei macroblocks a second: only the two it leaves
  // and enters are sent again, every other one is skipped (copied from the picture before).
  const columns = encoder.mbWidth;
  const boxAt = (frame: number): number => Math.floor((frame * ei) / FPS) % columns;
  // One picture per box position, made when first needed; a frame that sends nothing needs none.
  const boxed = new Map<number, YuvPicture>();
  const pictureAt = (at: number): YuvPicture => {
    let picture = boxed.get(at);
    if (picture === undefined) boxed.set(at, (picture = withBox(base, at)));
    return picture;
  };
  const samples: Uint8Array[] = [];
  let shown = boxAt(0);
  samples.push(encoder.keyPicture(pictureAt(shown)));
  for (let frame = 1; frame < frames; frame++) {
    const at = boxAt(frame);
    samples.push(
      at === shown ? encoder.deltaPicture(base, []) : encoder.deltaPicture(pictureAt(at), [shown, at]),
    );
    shown = at;
  }
  return muxAvc({
    width,
    height,
    fps: FPS,
    sps: encoder.sps(),
    pps: encoder.pps(),
    samples,
    sync: [0],
  });
}

function intensityOf(request: Pick<RenderRequest, "expressionIntensity">): number {
  return Math.min(5, Math.max(1, Math.round(request.expressionIntensity)));
}

// ---- pictures ---------------------------------------------------------------------------------

/** Hue by intensity, diagonal stripes by seed (their width and direction). */
function backdrop(width: number, height: number, ei: number, seed: number): YuvPicture {
  const [y0, u0, v0] = yuvOf(hueRgb((ei - 1) * 72));
  const period = 6 + (Math.abs(seed) % 5) * 3;
  const rising = Math.floor(Math.abs(seed) / 5) % 2 === 0;
  const y = new Uint8Array(width * height);
  for (let row = 0; row < height; row++)
    for (let col = 0; col < width; col++) {
      const phase = ((rising ? col + row : col - row + height) % period) / period;
      y[row * width + col] = clamp(y0 + (phase < 0.5 ? 28 : -28));
    }
  const chroma = (width / 2) * (height / 2);
  return { width, height, y, u: new Uint8Array(chroma).fill(u0), v: new Uint8Array(chroma).fill(v0) };
}

/** A copy of the picture with a white macroblock at column `at` of the top row. */
function withBox(picture: YuvPicture, at: number): YuvPicture {
  const y = picture.y.slice();
  const u = picture.u.slice();
  const v = picture.v.slice();
  for (let row = 2; row < 14; row++)
    y.fill(235, row * picture.width + at * 16 + 2, row * picture.width + at * 16 + 14);
  const chromaWidth = picture.width / 2;
  for (let row = 1; row < 7; row++) {
    u.fill(128, row * chromaWidth + at * 8 + 1, row * chromaWidth + at * 8 + 7);
    v.fill(128, row * chromaWidth + at * 8 + 1, row * chromaWidth + at * 8 + 7);
  }
  return { ...picture, y, u, v };
}

/** White text on a black band at the bottom left, as large as fits. */
function label(picture: YuvPicture, lines: readonly string[], width: number, height: number): void {
  const longest = Math.max(...lines.map((line) => line.length));
  const scale = longest * GLYPH_ADVANCE * 2 + 8 <= width ? 2 : 1;
  const lineHeight = (GLYPH_HEIGHT + 2) * scale;
  const bandHeight = lines.length * lineHeight + 4;
  const top = height - bandHeight - 2;
  const right = Math.min(width, longest * GLYPH_ADVANCE * scale + 8);
  for (let row = top; row < top + bandHeight; row++) {
    picture.y.fill(16, row * picture.width, row * picture.width + right);
    const chromaRow = Math.floor(row / 2) * (picture.width / 2);
    picture.u.fill(128, chromaRow, chromaRow + Math.ceil(right / 2));
    picture.v.fill(128, chromaRow, chromaRow + Math.ceil(right / 2));
  }
  lines.forEach((line, index) => {
    [...line].forEach((char, position) => {
      const glyph = FONT[char] ?? FONT["?"]!;
      const x0 = 4 + position * GLYPH_ADVANCE * scale;
      const y0 = top + 3 + index * lineHeight;
      for (let gy = 0; gy < GLYPH_HEIGHT; gy++)
        for (let gx = 0; gx < GLYPH_WIDTH; gx++) {
          if (glyph[gy]?.[gx] !== "#") continue;
          for (let sy = 0; sy < scale; sy++)
            for (let sx = 0; sx < scale; sx++) {
              const x = x0 + gx * scale + sx;
              const y = y0 + gy * scale + sy;
              if (x < width && y < height) picture.y[y * picture.width + x] = 235;
            }
        }
    });
  });
}

function hueRgb(degrees: number): [number, number, number] {
  const h = (((degrees % 360) + 360) % 360) / 60;
  const s = 0.55;
  const v = 0.75;
  const c = v * s;
  const x = c * (1 - Math.abs((h % 2) - 1));
  const [r, g, b] =
    h < 1
      ? [c, x, 0]
      : h < 2
        ? [x, c, 0]
        : h < 3
          ? [0, c, x]
          : h < 4
            ? [0, x, c]
            : h < 5
              ? [x, 0, c]
              : [c, 0, x];
  const m = v - c;
  return [(r + m) * 255, (g + m) * 255, (b + m) * 255];
}

/** BT.601, video range. */
function yuvOf([r, g, b]: [number, number, number]): [number, number, number] {
  return [
    clamp(16 + (65.738 * r + 129.057 * g + 25.064 * b) / 256),
    clamp(128 + (-37.945 * r - 74.494 * g + 112.439 * b) / 256),
    clamp(128 + (112.439 * r - 94.154 * g - 18.285 * b) / 256),
  ];
}

/** Within video range, and never 0 (a PCM sample of 0 once was forbidden: some decoders still mind). */
function clamp(value: number): number {
  return Math.min(235, Math.max(16, Math.round(value)));
}

// ---- a 5x7 font for the labels -----------------------------------------------------------------

const GLYPH_WIDTH = 5;
const GLYPH_HEIGHT = 7;
const GLYPH_ADVANCE = 6;

const FONT: Readonly<Record<string, readonly string[]>> = {
  " ": [".....", ".....", ".....", ".....", ".....", ".....", "....."],
  "?": [".###.", "#...#", "...#.", "..#..", "..#..", ".....", "..#.."],
  "0": [".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."],
  "1": ["..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."],
  "2": [".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"],
  "3": ["####.", "....#", "....#", ".###.", "....#", "....#", "####."],
  "4": ["...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."],
  "5": ["#####", "#....", "####.", "....#", "....#", "#...#", ".###."],
  "6": [".###.", "#....", "#....", "####.", "#...#", "#...#", ".###."],
  "7": ["#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."],
  "8": [".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."],
  "9": [".###.", "#...#", "#...#", ".####", "....#", "....#", ".###."],
  a: [".....", ".....", ".###.", "....#", ".####", "#...#", ".####"],
  b: ["#....", "#....", "####.", "#...#", "#...#", "#...#", "####."],
  c: [".....", ".....", ".###.", "#....", "#....", "#....", ".###."],
  d: ["....#", "....#", ".####", "#...#", "#...#", "#...#", ".####"],
  e: [".....", ".....", ".###.", "#...#", "#####", "#....", ".###."],
  f: ["..##.", ".#...", "####.", ".#...", ".#...", ".#...", ".#..."],
  i: ["..#..", ".....", ".##..", "..#..", "..#..", "..#..", ".###."],
  k: ["#....", "#....", "#..#.", "#.#..", "##...", "#.#..", "#..#."],
  s: [".....", ".....", ".####", "#....", ".###.", "....#", "####."],
  y: [".....", ".....", "#...#", "#...#", ".####", "....#", ".###."],
};
