// Output files and their signed URLs. A task's output is rendered for it (render.ts): a playable
// MP4 of its ratio and its reference's length, labelled with its values; benchmarks may ask for a
// synthetic payload of any size instead.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { renderVideo, type RenderRequest } from "./render.js";

/** The reference length a URL without simDuration gets (the create validation's default too). */
export const DEFAULT_ASSET_SECONDS = 10;
/** Renders kept for the downloads that follow (a Range resume asks for the same file again). */
const RENDERS_KEPT = 32;

/** A body the download route can serve in pieces, from any offset. */
export interface OutputSource {
  size: number;
  /** Bytes [offset, offset + length), as one or more buffers that must not be modified. */
  read(offset: number, length: number): Buffer[];
  etag: string;
}

export function bytesSource(bytes: Buffer, name: string): OutputSource {
  return {
    size: bytes.length,
    read: (offset, length) => [bytes.subarray(offset, offset + length)],
    etag: `"${name}-${bytes.length}"`,
  };
}

/** What a render of a task is made from. */
export interface RenderedTask {
  id: string;
  body: Record<string, unknown>;
  /** The reference's length when read from its bytes; else its URL's simDuration hook, else 10 s. */
  referenceSeconds: number | null;
}

const renders = new Map<string, Buffer>();

/**
 * The task's render: the ratio it asked for, as long as its reference, its expressionIntensity,
 * seed and id burnt in; `wrong` forces a ratio or a length on purpose (for output checks to catch).
 * Made again when asked again after the last few (the same bytes: it depends on the task alone).
 */
export function renderedSource(
  task: RenderedTask,
  wrong: { ratio?: string; seconds?: number } = {},
): OutputSource {
  const request: RenderRequest = {
    ratio: wrong.ratio ?? (typeof task.body["ratio"] === "string" ? task.body["ratio"] : "1280:720"),
    expressionIntensity: numberOr(task.body["expressionIntensity"], 1),
    seed: numberOr(task.body["seed"], 1),
    label: `id ${task.id.slice(0, 8)}`,
    seconds: wrong.seconds ?? referenceSecondsOf(task),
  };
  // Keyed by everything the bytes depend on: two simulators in one process hand out the same ids.
  const name = `render-${createHash("sha256").update(JSON.stringify(request)).digest("hex").slice(0, 16)}`;
  let bytes = renders.get(name);
  if (bytes === undefined) {
    bytes = Buffer.from(renderVideo(request));
    if (renders.size >= RENDERS_KEPT) renders.delete(renders.keys().next().value as string);
    renders.set(name, bytes);
  }
  return bytesSource(bytes, name);
}

/** A render lasts as long as its reference: read from its bytes, else its URL's simDuration, else 10 s. */
function referenceSecondsOf(task: RenderedTask): number {
  if (task.referenceSeconds !== null) return task.referenceSeconds;
  const reference = (task.body["reference"] as { uri?: unknown } | undefined)?.uri;
  if (typeof reference !== "string" || reference.startsWith("data:")) return DEFAULT_ASSET_SECONDS;
  const query = reference.indexOf("?");
  const hook = query < 0 ? null : new URLSearchParams(reference.slice(query + 1)).get("simDuration");
  const seconds = Number(hook);
  return hook !== null && Number.isFinite(seconds) && seconds > 0 ? seconds : DEFAULT_ASSET_SECONDS;
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === "number" && Number.isFinite(value) ? value : fallback;
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
