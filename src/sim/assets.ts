// Probe-able assets: `GET`/`HEAD /assets/<name>` serves an image or a header-valid MP4 whose
// properties come from the same query hooks the create validation reads, so one URL means the
// same thing to a preflight probe and to a create. Bodies are generated, never stored: an MP4 of
// any size is its header, filler bytes computed on demand, and (moov at the end) its moov.
import { createHash } from "node:crypto";
import { concat, fillerByte, mp4Parts } from "../media/mp4-build.js";
import { clipSource, type OutputSource } from "./outputs.js";

/** The reference length a URL without simDuration gets (the create validation's default too). */
export const DEFAULT_ASSET_SECONDS = 10;
/** Media-data bytes of an MP4 asset without simSize: more than a probe's first read. */
const DEFAULT_MDAT_BYTES = 256 * 1024;

/** What to answer for an asset URL. */
export type AssetAnswer =
  | { kind: "status"; status: number }
  | { kind: "redirect"; location: string }
  | {
      kind: "body";
      contentType: string;
      etag: string;
      size: number;
      /** Leave out Content-Length (the body is sent chunked). */
      noLength: boolean;
      /** Ignore Range headers (answer 200 with the whole body). */
      noRange: boolean;
      read(start: number, length: number): Uint8Array;
    };

const TYPES: Record<string, string> = {
  mp4: "video/mp4",
  mov: "video/quicktime",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  webp: "image/webp",
};

/** A 1x1 PNG, padded with a trailing chunk-free tail when simSize asks for more. */
const PNG = Buffer.from(
  "89504e470d0a1a0a0000000d4948445200000001000000010806000000" +
    "1f15c4890000000d49444154789c63f8cfc0f01f0005000201a0d5c2f60000000049454e44ae426082",
  "hex",
);

/**
 * Hooks (query parameters): `simDuration=N` (MP4 length, default 10 s), `simSize=N` (total bytes),
 * `simMoov=end`, `simType=<media type>` (Content-Type override), `simRedirect=1` (302 to the same
 * URL without the hook), `simNoLength=1` (no Content-Length), `simNoRange=1` (Range ignored),
 * `simFetchStatus=N` (that status).
 */
export function answerAsset(path: string, query: string): AssetAnswer {
  const params = new URLSearchParams(query);
  const status = Number(params.get("simFetchStatus"));
  if (params.has("simFetchStatus") && Number.isInteger(status) && status >= 200 && status <= 599)
    return { kind: "status", status };
  if (params.has("simRedirect")) {
    params.delete("simRedirect");
    const rest = params.toString();
    return { kind: "redirect", location: rest === "" ? path : `${path}?${rest}` };
  }
  const extension = /\.([a-z0-9]+)$/i.exec(path)?.[1]?.toLowerCase() ?? "";
  const contentType = params.get("simType") ?? TYPES[extension] ?? "application/octet-stream";
  const etag = `"${createHash("sha256").update(`${path}?${query}`).digest("hex").slice(0, 16)}"`;
  const requestedSize = Number(params.get("simSize"));
  const common = {
    kind: "body" as const,
    contentType,
    etag,
    noLength: params.has("simNoLength"),
    noRange: params.has("simNoRange"),
  };
  if (extension !== "mp4" && extension !== "mov") {
    const size =
      Number.isSafeInteger(requestedSize) && requestedSize > PNG.length ? requestedSize : PNG.length;
    return {
      ...common,
      size,
      read: (start, length) => {
        const out = new Uint8Array(Math.max(0, Math.min(length, size - start)));
        for (let i = 0; i < out.length; i++) out[i] = PNG[start + i] ?? 0;
        return out;
      },
    };
  }
  const duration = Number(params.get("simDuration") ?? DEFAULT_ASSET_SECONDS);
  const shape = {
    durationSec: Number.isFinite(duration) && duration >= 0 ? duration : DEFAULT_ASSET_SECONDS,
    moovAtEnd: params.get("simMoov") === "end",
  };
  const bare = mp4Parts({ ...shape, mdatBytes: 0 });
  const fixed = bare.head.length + bare.tail.length;
  const mdatBytes =
    Number.isSafeInteger(requestedSize) && requestedSize >= fixed
      ? requestedSize - fixed
      : DEFAULT_MDAT_BYTES;
  const { head, fillerBytes, tail } = mp4Parts({ ...shape, mdatBytes });
  const size = head.length + fillerBytes + tail.length;
  return {
    ...common,
    size,
    read: (start, length) => {
      const out = new Uint8Array(Math.max(0, Math.min(length, size - start)));
      const tailAt = head.length + fillerBytes;
      for (let i = 0; i < out.length; i++) {
        const at = start + i;
        out[i] =
          at < head.length ? head[at]! : at < tailAt ? fillerByte(at - head.length) : tail[at - tailAt]!;
      }
      return out;
    },
  };
}

/**
 * A task's output as a real render would be: the requested ratio's size, the reference's length
 * (its simDuration hook, else 10 s). Header-valid, not playable.
 */
export function matchingOutputSource(task: {
  id: string;
  body: Record<string, unknown>;
  referenceSeconds?: number | null;
}): OutputSource {
  const [width, height] = String(task.body["ratio"] ?? "1280:720")
    .split(":")
    .map(Number);
  const reference = (task.body["reference"] as { uri?: unknown } | undefined)?.uri;
  let seconds = task.referenceSeconds ?? DEFAULT_ASSET_SECONDS;
  if (task.referenceSeconds == null && typeof reference === "string" && !reference.startsWith("data:")) {
    const query = reference.indexOf("?");
    const hook = query < 0 ? null : new URLSearchParams(reference.slice(query + 1)).get("simDuration");
    if (hook !== null && Number.isFinite(Number(hook)) && Number(hook) > 0) seconds = Number(hook);
  }
  const parts = mp4Parts({
    durationSec: seconds,
    width: width || 1280,
    height: height || 720,
    mdatBytes: 4096,
  });
  const filler = new Uint8Array(parts.fillerBytes);
  for (let i = 0; i < filler.length; i++) filler[i] = fillerByte(i);
  return clipSource(Buffer.from(concat(parts.head, filler, parts.tail)), `match-${task.id}`);
}
