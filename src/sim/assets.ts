// Probe-able assets: `GET`/`HEAD /assets/<name>` serves an image or a header-valid MP4 whose
// properties come from the same query hooks the create validation reads, so one URL means the
// same thing to a preflight probe and to a create. Bodies are generated, never stored: an MP4 of
// any size is its header, filler bytes computed on demand, and (moov at the end) its moov.
import { createHash } from "node:crypto";
import { fillerByte, mp4Parts } from "../media/mp4-build.js";
import { DEFAULT_ASSET_SECONDS } from "./outputs.js";

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
