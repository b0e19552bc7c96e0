// Output files and their signed URLs.
//
// The clips are committed MP4 fixtures in src/sim/media/ (made by make-clips.sh). The build copies
// only .ts files to dist/, so they are loaded from the source tree relative to this module:
// "../../src/sim/media/" resolves to src/sim/media/ both from dist/sim/outputs.js and, under
// vitest, from src/sim/outputs.ts. A published package must therefore ship src/sim/media/*.mp4.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { UserError } from "../errors.js";

export const MEDIA_DIR = new URL("../../src/sim/media/", import.meta.url);

const INTENSITIES = 5;
const SEED_VARIANTS = 4;

/**
 * Folder of each ratio's clip set (shaped like that ratio, so output checks on a simulated render see
 * the ratio that was asked for); 16:9 and any ratio without a set use the clips at the top.
 */
const RATIO_FOLDERS: Readonly<Record<string, string>> = {
  "720:1280": "108x192/",
  "960:960": "108x108/",
  "1104:832": "144x108/",
  "832:1104": "108x144/",
  "1584:672": "254x108/",
};

/** Name of the clip a request body renders to: its ratio's set, then expressionIntensity and seed modulo 4. */
export function clipNameOf(body: Record<string, unknown>): string {
  const intensity = typeof body["expressionIntensity"] === "number" ? body["expressionIntensity"] : 3;
  const seed = typeof body["seed"] === "number" ? body["seed"] : 0;
  const ei = Math.min(INTENSITIES, Math.max(1, Math.round(intensity)));
  const folder = typeof body["ratio"] === "string" ? (RATIO_FOLDERS[body["ratio"]] ?? "") : "";
  return `${folder}ei${ei}-s${Math.abs(Math.trunc(seed)) % SEED_VARIANTS}.mp4`;
}

let clipCache: Map<string, Buffer> | undefined;

/** Every clip, read once per process (about 1.5 MB in all). */
export function loadClips(): Map<string, Buffer> {
  if (clipCache) return clipCache;
  const clips = new Map<string, Buffer>();
  for (const folder of ["", ...Object.values(RATIO_FOLDERS)])
    for (let ei = 1; ei <= INTENSITIES; ei++)
      for (let s = 0; s < SEED_VARIANTS; s++) {
        const name = `${folder}ei${ei}-s${s}.mp4`;
        const file = new URL(name, MEDIA_DIR);
        try {
          clips.set(name, readFileSync(file));
        } catch {
          throw new UserError(
            `the simulator's output clip ${fileURLToPath(file)} is missing`,
            undefined,
            "the clips live in src/sim/media/ beside dist/ (or pass outputBytes / --output-bytes for synthetic outputs)",
          );
        }
      }
  clipCache = clips;
  return clips;
}

/** A body the download route can serve in pieces, from any offset. */
export interface OutputSource {
  size: number;
  /** Bytes [offset, offset + length), as one or more buffers that must not be modified. */
  read(offset: number, length: number): Buffer[];
  etag: string;
}

export function clipSource(clip: Buffer, name: string): OutputSource {
  return {
    size: clip.length,
    read: (offset, length) => [clip.subarray(offset, offset + length)],
    etag: `"${name}-${clip.length}"`,
  };
}

const BLOCK = 64 * 1024;
const INDEX_BYTES = 8;

/**
 * A deterministic pseudo-random payload of `size` bytes for throughput benchmarks, generated on
 * the fly and never held whole: block k (64 KiB) is k as 8 little-endian bytes followed by the
 * rest of a per-task block. Reads hand out slices of that shared block, so serving costs no copy.
 */
export function syntheticSource(taskId: string, size: number): OutputSource {
  const base = baseBlock(taskId);
  return {
    size,
    etag: `"syn-${taskId}-${size}"`,
    read(offset, length) {
      const end = Math.min(size, offset + length);
      const parts: Buffer[] = [];
      let pos = offset;
      while (pos < end) {
        const index = Math.floor(pos / BLOCK);
        const blockStart = index * BLOCK;
        const blockEnd = Math.min(blockStart + BLOCK, end);
        if (pos < blockStart + INDEX_BYTES) {
          const header = Buffer.alloc(INDEX_BYTES);
          header.writeBigUInt64LE(BigInt(index), 0);
          const upTo = Math.min(blockStart + INDEX_BYTES, blockEnd);
          parts.push(header.subarray(pos - blockStart, upTo - blockStart));
          pos = upTo;
        }
        if (pos < blockEnd) {
          parts.push(base.subarray(pos - blockStart, blockEnd - blockStart));
          pos = blockEnd;
        }
      }
      return parts;
    },
  };
}

function baseBlock(taskId: string): Buffer {
  const block = Buffer.alloc(BLOCK);
  let state = createHash("sha256").update(`actbatch-sim-output:${taskId}`).digest();
  for (let pos = 0; pos < BLOCK; pos += state.length) {
    state.copy(block, pos);
    state = createHash("sha256").update(state).digest();
  }
  return block;
}

/** sha256 of a synthetic payload, for benchmarks that check what they downloaded. */
export function syntheticSha256(taskId: string, size: number): string {
  const source = syntheticSource(taskId, size);
  const hash = createHash("sha256");
  for (let pos = 0; pos < size; pos += BLOCK) for (const part of source.read(pos, BLOCK)) hash.update(part);
  return hash.digest("hex");
}

/** Signs output URLs: HMAC over the path, the expiry and a nonce, so every GET mints a new URL. */
export class UrlSigner {
  private nonce = 0;
  constructor(private readonly secret: Buffer) {}

  /** Query string for a fresh URL of `path` valid until `expiresAt` (epoch ms). */
  sign(path: string, expiresAt: number): string {
    const nonce = (++this.nonce).toString(36);
    const exp = Math.floor(expiresAt);
    return `exp=${exp}&n=${nonce}&sig=${this.mac(path, exp, nonce)}`;
  }

  /** "ok", "expired" (a genuine URL past its time) or "invalid" (tampered or unsigned). */
  check(path: string, query: URLSearchParams, now: number): "ok" | "expired" | "invalid" {
    const exp = Number(query.get("exp"));
    const nonce = query.get("n") ?? "";
    const sig = query.get("sig") ?? "";
    if (!Number.isSafeInteger(exp) || nonce === "") return "invalid";
    const expected = Buffer.from(this.mac(path, exp, nonce));
    const given = Buffer.from(sig);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return "invalid";
    return now > exp ? "expired" : "ok";
  }

  private mac(path: string, exp: number, nonce: string): string {
    return createHmac("sha256", this.secret)
      .update(`${path}\n${exp}\n${nonce}`)
      .digest("base64url")
      .slice(0, 32);
  }
}
