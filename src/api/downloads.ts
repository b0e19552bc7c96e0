// Opening an output URL: one GET (with a Range from the bytes already on disk), redirects followed by
// hand so that every hop's URL is checked, a 416 or a 206 for another offset turned into a fresh start,
// through the client's retry loop. The body is handed to the caller unread. No download carries the
// key, whatever origin its URL or a redirect names: an output URL comes from the service's answer, so
// one on the API's origin (or a redirect to it) could aim the key at any path of that origin.
import { classifyAnswer, classifyNetworkFailure } from "./classify.js";
import type { ExchangeContext } from "./exchange.js";
import { gaveUpMessage, type Redact } from "./outcomes.js";
import { retrying, type Attempt, type RetryPolicy } from "./retry.js";
import { readText } from "./streamed-body.js";
import { headerString, type Headers, type ResponseBody } from "./transport.js";
import type { DownloadOpen } from "./types.js";
import { describeUrl, urlProblem } from "./url-policy.js";

const MAX_REDIRECTS = 5;
/** An error answer of an output URL is read this far, for its message. */
const MAX_ERROR_BODY = 64 * 1024;

export interface DownloadContext extends ExchangeContext {
  retry: RetryPolicy;
  safe: Redact;
  /** Called for every GET sent (redirects and retries included). */
  onRequest: () => void;
}

interface OpenResponse {
  status: number;
  headers: Headers;
  body: ResponseBody;
}

/** Content-Range: bytes start-end/total (total may be "*"). */
export function parseContentRange(value: string | undefined): { start: number; total: number | null } | null {
  const match = value === undefined ? null : /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i.exec(value.trim());
  if (!match) return null;
  return { start: Number(match[1]), total: match[3] === "*" ? null : Number(match[3]) };
}

function lengthOf(headers: Headers): number | null {
  const value = headerString(headers, "content-length");
  return value !== undefined && /^\d+$/.test(value.trim()) ? Number(value) : null;
}

function refused(status: number, message: string): Attempt<OpenResponse> {
  return { kind: "verdict", verdict: { kind: "rejected", status, code: null, message }, result: null };
}

/** One GET of an output URL, redirects and range restarts included. */
async function openOnce(
  context: DownloadContext,
  url: string,
  from: number,
  signal: AbortSignal | undefined,
): Promise<Attempt<OpenResponse>> {
  let target = url;
  let offset = from;
  for (let hop = 0; ; hop++) {
    const parsed = new URL(target);
    const problem = urlProblem(parsed);
    if (problem !== null) {
      // The caller puts the output URL first; a redirect's target is named after it.
      const what = hop === 0 ? "not allowed" : `redirects to ${describeUrl(target)}, which is not allowed`;
      return refused(0, `${what}: ${problem}`);
    }
    const headers: Record<string, string> = { accept: "*/*", "accept-encoding": "identity" };
    if (offset > 0) headers.range = `bytes=${offset}-`;
    context.onRequest();
    const sent = await context.transport.send({
      origin: parsed.origin,
      path: `${parsed.pathname}${parsed.search}`,
      method: "GET",
      headers,
      signal,
      credentials: false,
    });
    if (sent.kind === "failed") {
      if (sent.aborted) return { kind: "aborted", sent: true };
      const verdict = classifyNetworkFailure({
        kind: "download",
        code: sent.code,
        message: sent.message,
        sent: true,
      });
      return { kind: "verdict", verdict, result: null };
    }
    const { status, headers: responseHeaders, body } = sent;
    const location = headerString(responseHeaders, "location");
    if (status >= 300 && status <= 399 && location !== undefined) {
      body.discard();
      if (hop >= MAX_REDIRECTS) return refused(status, `more than ${MAX_REDIRECTS} redirects`);
      target = new URL(location, target).toString();
      continue;
    }
    if (status === 416 || status === 206) {
      const range = parseContentRange(headerString(responseHeaders, "content-range"));
      const asked = status === 206 && range !== null && range.start === offset;
      if (!asked && offset > 0) {
        // 416: what is on disk is not a prefix the server can continue; a 206 for another offset
        // cannot be appended. Either way, start this file over from its first byte.
        body.discard();
        offset = 0;
        hop--;
        continue;
      }
      if (!asked) {
        body.discard();
        return refused(status, `${describeUrl(target)}: HTTP ${status} with a range that was not asked for`);
      }
    }
    let text = "";
    if (status < 200 || status > 299) {
      try {
        text = await readText(body, MAX_ERROR_BODY);
      } catch {
        text = "";
      }
    }
    const verdict = classifyAnswer({
      kind: "download",
      provider: context.provider,
      status,
      headers: responseHeaders,
      body: text,
      nowMs: context.clock(),
    });
    if (verdict.kind !== "ok") body.discard();
    return { kind: "verdict", verdict, result: { status, headers: responseHeaders, body } };
  }
}

/** Opens an output URL, from byte `offset` (Range) when > 0. */
export async function openDownload(
  context: DownloadContext,
  url: string,
  offset: number,
  signal?: AbortSignal,
): Promise<DownloadOpen> {
  const { safe } = context;
  if (!URL.canParse(url))
    return { kind: "error", message: "the output URL is not a valid URL", retryable: false };
  const settled = await retrying(context.retry, signal, () => openOnce(context, url, offset, signal));
  if (settled.kind === "aborted") return { kind: "error", message: "interrupted", retryable: true };
  if (settled.kind === "gave-up")
    return { kind: "error", message: gaveUpMessage(settled, safe), retryable: true };
  const { verdict, result } = settled;
  if (verdict.kind === "expired") return { kind: "expired", status: verdict.status };
  if (verdict.kind !== "ok" || result === null) {
    const message = "message" in verdict ? verdict.message : `HTTP ${result?.status ?? "?"}`;
    return { kind: "error", message: safe(`${describeUrl(url)}: ${message}`), retryable: false };
  }
  const contentLength = lengthOf(result.headers);
  if (result.status === 206) {
    const range = parseContentRange(headerString(result.headers, "content-range"));
    return { kind: "ok", status: 206, contentLength, totalSize: range?.total ?? null, body: result.body };
  }
  if (result.status !== 200) {
    result.body.discard();
    return {
      kind: "error",
      message: `${describeUrl(url)}: unexpected HTTP ${result.status}`,
      retryable: false,
    };
  }
  return { kind: "ok", status: 200, contentLength, totalSize: contentLength, body: result.body };
}
