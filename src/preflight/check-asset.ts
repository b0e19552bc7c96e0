// Checks one asset the way the service will fetch it (DESIGN.md section 1): the URL rules, a HEAD
// that must answer 200 without a redirect, with a Content-Type of the right media type and a
// Content-Length within the limit, and, for a reference video, a duration of 3-30 s read from the
// MP4 header with a few small Range requests.
import { describeUrl, isLoopbackHost } from "../api/url-policy.js";
import { Mp4Error, parseMp4, probeMp4 } from "../media/index.js";
import { assetUriProblem } from "../job/uris.js";
import type { PlanAsset, ProviderName } from "../job/types.js";
import { checkLocalFile } from "./check-local-files.js";
import { formatMegabytes, MAX_URL_ASSET_BYTES, REFERENCE_SECONDS } from "../service-limits.js";
import { lookupProbe, rememberProbe, type ProbeCache } from "./cache.js";
import { ProbeHttpError, type ProbeCounters, type ProbeHttp } from "./http.js";

/** Limits for assets fetched by URL (research/runway-api.md, "Asset rules"). */
export { MAX_URL_ASSET_BYTES, REFERENCE_SECONDS } from "../service-limits.js";
/** First ranged read: ftyp, and the moov of a short "fast start" file. */
export const FIRST_READ_BYTES = 16 * 1024;
/** A server that ignores Range is read from the start at most this far. */
export const MAX_UNRANGED_BYTES = 1024 * 1024;
/** A duration hint further than this from the file's own duration is reported. */
const HINT_TOLERANCE_SEC = 0.5;

/** What the preflight learned about one asset. */
export interface AssetProbe {
  asset: PlanAsset;
  /** ok: every check passed; problem: the service would refuse it; unchecked: it could not be probed (runway://). */
  verdict: "ok" | "problem" | "unchecked";
  problems: string[];
  warnings: string[];
  contentType?: string;
  contentLength?: number;
  etag?: string;
  /** Seconds, from the MP4 header (probed, cached, or decoded from a data: URI). */
  durationSec?: number;
  video?: { width: number; height: number } | null;
  /** The duration came from the cache (no ranged reads). */
  cached: boolean;
  requests: number;
  /** Response body bytes received. */
  bytes: number;
}

export interface CheckAssetContext {
  http: ProbeHttp;
  cache: ProbeCache;
  /** Probe loopback URLs only; others are left unchecked (a simulated run has no network). */
  loopbackOnly?: boolean;
  /** How local files would be sent depends on it (default cometapi: data: URIs only). */
  provider?: ProviderName;
}

export async function checkAsset(asset: PlanAsset, context: CheckAssetContext): Promise<AssetProbe> {
  const counters: ProbeCounters = { requests: 0, bytes: 0 };
  const probe: AssetProbe = {
    asset,
    verdict: "ok",
    problems: [],
    warnings: [],
    cached: false,
    requests: 0,
    bytes: 0,
  };
  try {
    await runChecks(asset, probe, context, counters);
  } finally {
    probe.requests = counters.requests;
    probe.bytes = counters.bytes;
  }
  if (probe.problems.length > 0) probe.verdict = "problem";
  if (probe.durationSec !== undefined && asset.durationHint !== undefined) {
    if (Math.abs(probe.durationSec - asset.durationHint) > HINT_TOLERANCE_SEC)
      probe.warnings.push(
        `duration: ${formatSeconds(asset.durationHint)} is written, but the file lasts ${formatSeconds(probe.durationSec)}`,
      );
  }
  return probe;
}

const needsDuration = (asset: PlanAsset) => asset.type === "video" && asset.roles.includes("reference");

async function runChecks(
  asset: PlanAsset,
  probe: AssetProbe,
  context: CheckAssetContext,
  counters: ProbeCounters,
): Promise<void> {
  if (asset.path !== undefined) {
    // A local file: the same rules, read from disk (its header only), no network.
    const local = await checkLocalFile(asset.path, asset.type, {
      provider: context.provider ?? "cometapi",
      isReference: needsDuration(asset),
    });
    probe.problems.push(...local.problems);
    if (local.mediaType !== null) probe.contentType = local.mediaType;
    probe.contentLength = local.size;
    if (local.durationSec !== undefined) probe.durationSec = local.durationSec;
    return;
  }
  const uriProblem = assetUriProblem(asset.uri, asset.type);
  if (uriProblem !== undefined) {
    probe.problems.push(uriProblem);
    return;
  }
  const scheme = asset.uri.slice(0, asset.uri.indexOf(":")).toLowerCase();
  if (scheme === "runway") {
    probe.verdict = "unchecked";
    probe.warnings.push("not probed: a runway:// upload is checked by the service when a task uses it");
    return;
  }
  if (scheme === "data") {
    if (needsDuration(asset)) readDataUri(asset.uri, probe);
    return;
  }
  const url = new URL(asset.uri);
  if (context.loopbackOnly === true && !isLoopbackHost(url.hostname)) {
    probe.verdict = "unchecked";
    probe.warnings.push("not probed: only loopback URLs are fetched in a simulated run");
    return;
  }
  let head;
  try {
    head = await context.http.head(url, counters);
  } catch (error) {
    probe.problems.push(`cannot be fetched: ${networkReason(error)}`);
    return;
  }
  if (head.status >= 300 && head.status < 400) {
    const location = head.headers.location;
    const target = location === undefined ? "" : ` to ${describeUrl(new URL(location, url).href)}`;
    probe.problems.push(
      `HEAD answered ${head.status}, a redirect${target}; the service follows no redirects: use the final URL`,
    );
    return;
  }
  if (head.status !== 200) {
    probe.problems.push(`HEAD answered ${head.status}; the service needs 200`);
    return;
  }
  const contentType = head.headers["content-type"]?.split(";")[0]?.trim().toLowerCase();
  if (contentType !== undefined && contentType !== "") probe.contentType = contentType;
  if (head.headers.etag !== undefined) probe.etag = head.headers.etag;
  const expected = `${asset.type}/*`;
  if (probe.contentType === undefined)
    probe.problems.push(`no Content-Type header; the service needs ${expected}`);
  else if (probe.contentType === "application/octet-stream")
    probe.problems.push(
      `Content-Type is application/octet-stream, which the service refuses; serve it as ${expected}`,
    );
  else if (!probe.contentType.startsWith(`${asset.type}/`))
    probe.problems.push(
      `Content-Type is ${probe.contentType}, but the asset is ${article(asset.type)}: expected ${expected}`,
    );

  const lengthHeader = head.headers["content-length"];
  const length = lengthHeader === undefined ? Number.NaN : Number(lengthHeader);
  const limit = MAX_URL_ASSET_BYTES[asset.type];
  if (lengthHeader === undefined) probe.problems.push("no Content-Length header; the service needs one");
  else if (!Number.isSafeInteger(length) || length < 0)
    probe.problems.push(`bad Content-Length "${lengthHeader}"`);
  else {
    probe.contentLength = length;
    if (length > limit)
      probe.problems.push(
        `${formatMegabytes(length)} is over the service's limit of ${formatMegabytes(limit)} for ${asset.type}s by URL`,
      );
  }
  if (probe.problems.length > 0 || !needsDuration(asset) || probe.contentLength === undefined) return;

  const cached =
    probe.etag === undefined
      ? undefined
      : lookupProbe(context.cache, asset.uri, probe.etag, probe.contentLength);
  if (cached !== undefined) {
    probe.cached = true;
    applyDuration(probe, cached.durationSec, cached.video);
    return;
  }
  try {
    const info = await probeMp4(
      (start, size) => context.http.range(url, start, size, counters, MAX_UNRANGED_BYTES),
      probe.contentLength,
      { chunkBytes: FIRST_READ_BYTES },
    );
    applyDuration(probe, info.durationSec, info.video);
    if (probe.etag !== undefined)
      rememberProbe(context.cache, asset.uri, {
        etag: probe.etag,
        contentLength: probe.contentLength,
        durationSec: info.durationSec,
        video: info.video && { width: info.video.width, height: info.video.height },
      });
  } catch (error) {
    if (error instanceof Mp4Error) probe.problems.push(`not a readable MP4 video: ${error.message}`);
    else if (error instanceof ProbeHttpError)
      probe.warnings.push(`duration not checked: the server ${error.message}`);
    else probe.problems.push(`reading its header failed: ${networkReason(error)}`);
  }
}

function applyDuration(
  probe: AssetProbe,
  durationSec: number,
  video: { width: number; height: number } | null,
): void {
  probe.durationSec = durationSec;
  probe.video = video && { width: video.width, height: video.height };
  if (video === null) probe.problems.push("the MP4 has no video track");
  if (durationSec < REFERENCE_SECONDS.min || durationSec > REFERENCE_SECONDS.max)
    probe.problems.push(
      `the reference lasts ${formatSeconds(durationSec)}; the service takes ${REFERENCE_SECONDS.min}-${REFERENCE_SECONDS.max} s`,
    );
}

function readDataUri(uri: string, probe: AssetProbe): void {
  const comma = uri.indexOf(",");
  const header = uri.slice(0, comma);
  if (!header.endsWith(";base64")) {
    probe.warnings.push("duration not checked: a video data: URI should be base64");
    return;
  }
  const bytes = Buffer.from(uri.slice(comma + 1), "base64");
  try {
    const info = parseMp4(bytes);
    applyDuration(probe, info.durationSec, info.video);
  } catch (error) {
    if (!(error instanceof Mp4Error)) throw error;
    probe.problems.push(`not a readable MP4 video: ${error.message}`);
  }
}

function networkReason(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === "string" ? `${code} (${message})` : message;
}

function article(type: "image" | "video"): string {
  return type === "image" ? "an image" : "a video";
}

export function formatSeconds(seconds: number): string {
  return `${Number(seconds.toFixed(2))} s`;
}
