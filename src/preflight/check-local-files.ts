// Local files as assets: what they are (by their bytes, not their name), how they can reach the
// service (a data: URI within its limits, else Runway's uploads; CometAPI has no uploads), and the
// same probe rules as for URLs (media type, size, a reference's 3-30 s), with no network.
import { open } from "node:fs/promises";
import { Mp4Error, probeMp4 } from "../media/index.js";
import type { PlanAsset, ProviderName } from "../job/types.js";
import { formatMegabytes, MAX_DATA_URI_BYTES, REFERENCE_SECONDS, UPLOAD_BYTES } from "../service-limits.js";
import { describeFsError } from "../fs/errno.js";

/** Data URI limits (the decoded file), and Runway's upload limits. */
export { MAX_DATA_URI_BYTES as MAX_DATA_URI_FILE_BYTES, UPLOAD_BYTES } from "../service-limits.js";

export type LocalRoute = { kind: "data-uri" } | { kind: "upload" } | { kind: "refused"; message: string };

/** How a local file of `size` bytes goes to the service: inline while small enough, else uploaded (runway only). */
export function routeLocalFile(provider: ProviderName, type: "image" | "video", size: number): LocalRoute {
  const inlineLimit = MAX_DATA_URI_BYTES[type];
  if (size <= inlineLimit) return { kind: "data-uri" };
  if (provider === "runway") {
    if (size > UPLOAD_BYTES.max)
      return { kind: "refused", message: `${formatMegabytes(size)} is over Runway's upload limit of 200 MB` };
    return { kind: "upload" };
  }
  return {
    kind: "refused",
    message:
      `${formatMegabytes(size)} is over the ${formatMegabytes(inlineLimit)} a ${type} may have as a data: URI, and cometapi has no uploads: ` +
      `host the file on an https:// URL (a bucket or CDN that answers HEAD with Content-Type and Content-Length, no redirect) and use uri: instead of path:, or use provider runway`,
  };
}

/** The media type the bytes hold (MP4/MOV, PNG, JPEG, WebP), or null. */
export function sniffMediaType(head: Uint8Array): string | null {
  const ascii = (from: number, to: number) => String.fromCharCode(...head.subarray(from, to));
  if (head.length >= 8 && head[0] === 0x89 && ascii(1, 4) === "PNG") return "image/png";
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return "image/jpeg";
  if (head.length >= 12 && ascii(0, 4) === "RIFF" && ascii(8, 12) === "WEBP") return "image/webp";
  if (head.length >= 12 && ascii(4, 8) === "ftyp")
    return ascii(8, 12) === "qt  " ? "video/quicktime" : "video/mp4";
  return null;
}

export function toDataUri(bytes: Uint8Array, mediaType: string): string {
  return `data:${mediaType};base64,${Buffer.from(bytes).toString("base64")}`;
}

export interface LocalFileCheck {
  problems: string[];
  size: number;
  mediaType: string | null;
  route: LocalRoute;
  /** A reference video's duration, read from its header. */
  durationSec?: number;
}

/** The preflight rules for a local file; reads its header only. */
export async function checkLocalFile(
  path: string,
  type: "image" | "video",
  options: { provider: ProviderName; isReference: boolean },
): Promise<LocalFileCheck> {
  let handle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    return {
      problems: [`cannot read the file: ${describeFsError(error)}`],
      size: 0,
      mediaType: null,
      route: { kind: "data-uri" },
    };
  }
  try {
    const size = (await handle.stat()).size;
    const read = async (start: number, length: number) => {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, start);
      return buffer.subarray(0, bytesRead);
    };
    const mediaType = sniffMediaType(await read(0, 16));
    const route = routeLocalFile(options.provider, type, size);
    const check: LocalFileCheck = { problems: [], size, mediaType, route };
    if (route.kind === "refused") check.problems.push(route.message);
    if (route.kind === "upload" && size < UPLOAD_BYTES.min)
      check.problems.push("a file under 512 bytes cannot be uploaded");
    if (mediaType === null)
      check.problems.push(`not a ${type} actbatch recognises (PNG, JPEG, WebP, MP4 or MOV)`);
    else if (!mediaType.startsWith(`${type}/`))
      check.problems.push(
        `the file holds ${mediaType}, but the asset is ${type === "image" ? "an image" : "a video"}`,
      );
    if (check.problems.length === 0 && type === "video" && options.isReference) {
      try {
        const info = await probeMp4(read, size);
        check.durationSec = info.durationSec;
        if (info.durationSec < REFERENCE_SECONDS.min || info.durationSec > REFERENCE_SECONDS.max)
          check.problems.push(
            `the reference lasts ${Number(info.durationSec.toFixed(2))} s; the service takes ${REFERENCE_SECONDS.min}-${REFERENCE_SECONDS.max} s`,
          );
      } catch (error) {
        if (!(error instanceof Mp4Error)) throw error;
        check.problems.push(`not a readable MP4 video: ${error.message}`);
      }
    }
    return check;
  } finally {
    await handle.close();
  }
}

/**
 * Seconds per local reference video of a plan, read from the files' headers (no network): what
 * `plan` prices with before any preflight. Files that cannot be read are left out (unknown).
 */
export async function localReferenceDurations(assets: readonly PlanAsset[]): Promise<Map<string, number>> {
  const durations = new Map<string, number>();
  for (const asset of assets) {
    if (asset.path === undefined || asset.type !== "video" || !asset.roles.includes("reference")) continue;
    const check = await checkLocalFile(asset.path, "video", { provider: "runway", isReference: true });
    if (check.durationSec !== undefined) durations.set(asset.uri, check.durationSec);
  }
  return durations;
}
