// The ApiClient port (src/api/types.ts) over one undici Agent. The only file that imports undici.
// Every request goes through one retry loop: classify the answer (classify.ts), retry what is
// retryable after a Retry-After or full-jitter backoff delay, under one retry budget for the whole
// client. Every message that leaves this file has been through the redactor.
import { setTimeout as delay } from "node:timers/promises";
import type { Readable } from "node:stream";
import { Agent, type Dispatcher } from "undici";
import { redactSecrets } from "../redact.js";
import type { RequestBody } from "../spec/types.js";
import { backoffDelay, serverDelay, type BackoffPolicy } from "./backoff.js";
import { classifyAnswer, classifyNetworkFailure, type RequestKind, type Verdict } from "./classify.js";
import { DEFAULT_RUNWAY_VERSION } from "./connection.js";
import { normalizeTask } from "./normalize.js";
import { createRetryBudget } from "./retry-budget.js";
import type {
  ApiClient,
  ApiClientOptions,
  ApiRequestCounts,
  CancelOutcome,
  CreateOutcome,
  DownloadOpen,
  GetOutcome,
  TaskState,
} from "./types.js";
import { describeUrl, urlProblem } from "./url-policy.js";

const DEFAULTS = {
  backoffBaseMs: 500,
  backoffCapMs: 20_000,
  maxRetryAfterMs: 60_000,
  visibilityGraceMs: 30_000,
  connectMs: 10_000,
  headersMs: 60_000,
  bodyMs: 60_000,
  maxAttempts: 4,
};
/** Scaled timeouts never drop below this: a busy 2-core test box must not turn a slow answer into an ambiguous create. */
const MIN_SCALED_TIMEOUT_MS = 2_000;
/** API answers are small JSON; anything bigger is cut (a misbehaving proxy must not fill memory). */
const MAX_API_BODY = 1024 * 1024;
const MAX_REDIRECTS = 5;
const MAX_MESSAGE = 800;
/**
 * Idle keep-alive sockets are dropped after 4 s, below common server idle timeouts (Node 5 s, nginx
 * 75 s): a POST written to a socket the server has just closed fails after sending, which would make
 * an otherwise clean create ambiguous. undici also honours a shorter Keep-Alive hint from the server.
 */
const KEEP_ALIVE_MS = 4_000;

/** Marks, through the request's `opaque`, whether undici handed the whole request to the socket. */
class SendTracker {
  sent = false;
}

/**
 * undici calls a handler's onRequestSent once the request (headers and body) is written to the
 * socket. A failure before that moment means the service cannot have received the request in full,
 * so even a create is safe to send again; after it, a create's outcome is unknown.
 */
const trackSending: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (options, handler) => {
  const tracker = (options as { opaque?: unknown }).opaque;
  if (tracker instanceof SendTracker) {
    const original = handler.onRequestSent?.bind(handler);
    handler.onRequestSent = () => {
      tracker.sent = true;
      original?.();
    };
  }
  return dispatch(options, handler);
};

type Headers = Record<string, string | string[] | undefined>;
interface ApiAnswer {
  status: number;
  headers: Headers;
  body: string;
}
type Once<R> = { kind: "verdict"; verdict: Verdict; result: R | null } | { kind: "aborted"; sent: boolean };
type RetryVerdict = Extract<Verdict, { kind: "retry" }>;
type Settled<R> =
  | { kind: "done"; verdict: Exclude<Verdict, RetryVerdict>; result: R | null }
  | { kind: "gave-up"; last: RetryVerdict; reason: string }
  | { kind: "aborted"; sent: boolean };

function errorCode(error: unknown): string | null {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : null;
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

/**
 * The body as text, cut at `limit` bytes (the stream is then destroyed). Read with events rather than
 * an async iterator: every API answer goes through here, and the iterator's promises and objects per
 * answer are a measurable share of a large run's garbage.
 */
function readText(body: Readable, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (): void => {
      if (settled) return;
      settled = true;
      resolve(Buffer.concat(chunks).toString("utf8"));
    };
    body.on("data", (chunk: Buffer | Uint8Array | string) => {
      if (settled) return;
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      size += buffer.length;
      if (size > limit) {
        body.destroy();
        finish();
        return;
      }
      chunks.push(buffer);
    });
    body.once("end", finish);
    body.once("error", (error) => {
      if (settled) return;
      settled = true;
      reject(error);
    });
    // Destroyed without an error (aborted): what came is all there is, as a loop would have ended.
    body.once("close", () => {
      if (!settled && !body.readableEnded) {
        settled = true;
        reject(new Error("the answer's body was closed before its end"));
      }
    });
  });
}

function taskIdOf(text: string): string | null {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof body !== "object" || body === null) return null;
  const record = body as Record<string, unknown>;
  const data = record.data;
  const candidates: unknown[] = [record.id, record.task_id];
  if (typeof data === "string") candidates.push(data);
  else if (typeof data === "object" && data !== null) {
    const inner = data as Record<string, unknown>;
    candidates.push(inner.task_id, inner.id);
  }
  for (const candidate of candidates) {
    if (typeof candidate === "string" && /^[\w.:-]{1,200}$/.test(candidate)) return candidate;
  }
  return null;
}

/** Content-Range: bytes start-end/total (total may be "*"). */
function parseContentRange(value: string | undefined): { start: number; total: number | null } | null {
  const match = value === undefined ? null : /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i.exec(value.trim());
  if (!match) return null;
  return { start: Number(match[1]), total: match[3] === "*" ? null : Number(match[3]) };
}

function headerString(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function lengthOf(headers: Headers): number | null {
  const value = headerString(headers, "content-length");
  return value !== undefined && /^\d+$/.test(value.trim()) ? Number(value) : null;
}

function discard(body: Readable): void {
  body.on("error", () => {});
  body.destroy();
}

export function createApiClient(options: ApiClientOptions): ApiClient {
  const scale = options.timeScale !== undefined && options.timeScale > 0 ? options.timeScale : 1;
  const scaledTimeout = (ms: number): number => Math.max(MIN_SCALED_TIMEOUT_MS, Math.round(ms / scale));
  const clock = options.clock ?? Date.now;
  const random = options.random ?? Math.random;
  const sleep =
    options.sleep ??
    ((ms: number, signal?: AbortSignal) => delay(ms, undefined, signal ? { signal } : undefined));
  const maxAttempts = Math.max(1, options.maxAttempts ?? DEFAULTS.maxAttempts);
  const policy: BackoffPolicy = {
    baseMs: DEFAULTS.backoffBaseMs / scale,
    capMs: DEFAULTS.backoffCapMs / scale,
  };
  const maxRetryAfterMs = DEFAULTS.maxRetryAfterMs / scale;
  const graceMs = options.visibilityGraceMs ?? DEFAULTS.visibilityGraceMs / scale;
  const budget = options.retryBudget ?? createRetryBudget();
  const secrets = [options.apiKey];

  const base = new URL(options.baseUrl);
  const apiOrigin = base.origin;
  const basePath = base.pathname.replace(/\/+$/, "");
  const runwayVersion = options.runwayVersion ?? DEFAULT_RUNWAY_VERSION;

  const agent = new Agent({
    connections: Math.max(1, Math.ceil(options.concurrency)) + 2,
    keepAliveTimeout: KEEP_ALIVE_MS,
    connectTimeout: options.timeouts?.connectMs ?? scaledTimeout(DEFAULTS.connectMs),
    headersTimeout: options.timeouts?.headersMs ?? scaledTimeout(DEFAULTS.headersMs),
    bodyTimeout: options.timeouts?.bodyMs ?? scaledTimeout(DEFAULTS.bodyMs),
    // One request per connection at a time: a slow answer must not hold up the ones behind it.
    pipelining: 1,
  });
  const dispatcher = agent.compose(trackSending);
  const counts: ApiRequestCounts = { create: 0, get: 0, cancel: 0, download: 0, retries: 0 };

  /** Every message handed to the caller: one line, bounded, and never containing the key. */
  const safe = (message: string): string => {
    const clipped = message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}…` : message;
    return redactSecrets(clipped, secrets);
  };

  function apiHeaders(withBody: boolean): Record<string, string> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${options.apiKey}`,
      "x-runway-version": runwayVersion,
      accept: "application/json",
      "user-agent": "actbatch",
    };
    if (withBody) headers["content-type"] = "application/json";
    return headers;
  }

  async function retrying<R>(
    signal: AbortSignal | undefined,
    once: () => Promise<Once<R>>,
  ): Promise<Settled<R>> {
    let lastRetryCost: number | null = null;
    for (let attempt = 1; ; attempt++) {
      const outcome = await once();
      if (outcome.kind === "aborted") return outcome;
      const { verdict, result } = outcome;
      if (verdict.kind !== "retry") {
        // The service answered on purpose: it is healthy enough to refill the budget a little.
        if (verdict.kind !== "ambiguous") budget.recordSuccess(lastRetryCost);
        return { kind: "done", verdict, result };
      }
      if (attempt >= maxAttempts) {
        return { kind: "gave-up", last: verdict, reason: `gave up after ${attempt} attempts` };
      }
      const cost = budget.acquire(verdict.timeout ? "timeout" : "error");
      if (cost === null) {
        return {
          kind: "gave-up",
          last: verdict,
          reason: "not retried: the retry budget is spent (too many errors)",
        };
      }
      lastRetryCost = cost;
      const wait =
        verdict.retryAfterMs !== null
          ? serverDelay(verdict.retryAfterMs, maxRetryAfterMs, random)
          : backoffDelay(policy, attempt - 1, random);
      try {
        await sleep(wait, signal);
      } catch {
        return { kind: "aborted", sent: false };
      }
      if (signal?.aborted) return { kind: "aborted", sent: false };
      counts.retries++;
    }
  }

  /** One API request (create, get, cancel) with its answer read and classified. */
  async function exchange(
    kind: Exclude<RequestKind, "download">,
    method: "GET" | "POST" | "DELETE",
    path: string,
    body: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Once<ApiAnswer>> {
    counts[kind]++;
    const tracker = new SendTracker();
    let response: Dispatcher.ResponseData<SendTracker>;
    try {
      response = await dispatcher.request({
        origin: apiOrigin,
        path: `${basePath}${path}`,
        method,
        headers: apiHeaders(body !== undefined),
        body: body ?? null,
        signal: signal ?? null,
        opaque: tracker,
      });
    } catch (error) {
      if (signal?.aborted) return { kind: "aborted", sent: tracker.sent };
      const verdict = classifyNetworkFailure({
        kind,
        code: errorCode(error),
        message: errorMessage(error),
        sent: tracker.sent,
      });
      return { kind: "verdict", verdict, result: null };
    }
    const { statusCode: status } = response;
    const headers = response.headers as Headers;
    let text: string;
    try {
      text = await readText(response.body, MAX_API_BODY);
    } catch (error) {
      if (signal?.aborted) return { kind: "aborted", sent: true };
      if (status >= 200 && status <= 299) {
        // A success whose body broke: for a create, the task exists and its id is lost.
        const verdict = classifyNetworkFailure({
          kind,
          code: errorCode(error),
          message: errorMessage(error),
          sent: true,
        });
        return { kind: "verdict", verdict, result: null };
      }
      text = ""; // an error status already says what happened; its body is a detail
    }
    const verdict = classifyAnswer({
      kind,
      provider: options.provider,
      status,
      headers,
      body: text,
      nowMs: clock(),
    });
    return { kind: "verdict", verdict, result: { status, headers, body: text } };
  }

  function gaveUpMessage(settled: Extract<Settled<unknown>, { kind: "gave-up" }>): string {
    return safe(`${settled.last.message} (${settled.reason})`);
  }

  async function createTask(body: RequestBody, signal?: AbortSignal): Promise<CreateOutcome> {
    try {
      const json = JSON.stringify(body);
      const settled = await retrying(signal, () =>
        exchange("create", "POST", "/v1/character_performance", json, signal),
      );
      if (settled.kind === "aborted") {
        return settled.sent
          ? {
              kind: "ambiguous",
              message: "interrupted after the request was sent (the service may have created the task)",
            }
          : { kind: "unavailable", message: "interrupted before the request was sent" };
      }
      if (settled.kind === "gave-up") return { kind: "unavailable", message: gaveUpMessage(settled) };
      const { verdict, result } = settled;
      switch (verdict.kind) {
        case "ok": {
          const taskId = result === null ? null : taskIdOf(result.body);
          if (taskId !== null && safe(taskId) === taskId) return { kind: "created", taskId };
          return {
            kind: "ambiguous",
            message: safe(
              `HTTP ${result?.status ?? "?"}: the service accepted the request but its answer has no task id`,
            ),
          };
        }
        case "account-stop":
          return {
            kind: "account-stop",
            reason: verdict.reason,
            status: verdict.status,
            message: safe(verdict.message),
          };
        case "ambiguous":
          return { kind: "ambiguous", message: safe(verdict.message) };
        case "rejected":
          return {
            kind: "rejected",
            status: verdict.status,
            code: verdict.code === null ? null : safe(verdict.code),
            message: safe(verdict.message),
          };
        case "not-found":
        case "expired":
          return {
            kind: "rejected",
            status: verdict.status,
            code: null,
            message: safe(`HTTP ${verdict.status}`),
          };
      }
    } catch (error) {
      // Nothing above should throw; if it does, no id came back and the request may have left.
      return { kind: "ambiguous", message: safe(`unexpected error: ${errorMessage(error)}`) };
    }
  }

  /** A failure text is the service's words, which may quote the request's headers back. */
  function redactState(state: TaskState): TaskState {
    if (state.status === "failed") {
      return { ...state, code: state.code === null ? null : safe(state.code), message: safe(state.message) };
    }
    return state;
  }

  function visibility(createdAtMs: number, message: string): TaskState {
    if (clock() - createdAtMs < graceMs) return { status: "not-visible" };
    return { status: "missing", message: safe(message) };
  }

  async function getTask(taskId: string, createdAtMs: number, signal?: AbortSignal): Promise<GetOutcome> {
    try {
      const path = `/v1/tasks/${encodeURIComponent(taskId)}`;
      const settled = await retrying(signal, () => exchange("get", "GET", path, undefined, signal));
      if (settled.kind === "aborted") return { kind: "error", message: "interrupted", status: null };
      if (settled.kind === "gave-up") {
        return { kind: "error", message: gaveUpMessage(settled), status: settled.last.status };
      }
      const { verdict, result } = settled;
      switch (verdict.kind) {
        case "ok": {
          let parsed: unknown;
          try {
            parsed = JSON.parse(result?.body ?? "");
          } catch {
            return { kind: "error", message: "the task answer is not JSON", status: result?.status ?? null };
          }
          const normalized = normalizeTask(parsed);
          if (normalized.kind === "state") return { kind: "state", state: redactState(normalized.state) };
          if (normalized.kind === "not-exist") {
            return {
              kind: "state",
              state: visibility(createdAtMs, "task_not_exist: the service does not know this task"),
            };
          }
          return { kind: "error", message: safe(normalized.message), status: result?.status ?? null };
        }
        case "not-found":
          return { kind: "state", state: visibility(createdAtMs, verdict.message) };
        case "account-stop":
          return {
            kind: "account-stop",
            reason: verdict.reason,
            status: verdict.status,
            message: safe(verdict.message),
          };
        case "rejected":
          return { kind: "error", message: safe(verdict.message), status: verdict.status };
        case "ambiguous":
          return { kind: "error", message: safe(verdict.message), status: null };
        case "expired":
          return { kind: "error", message: `HTTP ${verdict.status}`, status: verdict.status };
      }
    } catch (error) {
      return { kind: "error", message: safe(`unexpected error: ${errorMessage(error)}`), status: null };
    }
  }

  async function cancelTask(taskId: string): Promise<CancelOutcome> {
    try {
      const path = `/v1/tasks/${encodeURIComponent(taskId)}`;
      const settled = await retrying(undefined, () =>
        exchange("cancel", "DELETE", path, undefined, undefined),
      );
      if (settled.kind === "aborted") return { kind: "error", message: "interrupted" };
      if (settled.kind === "gave-up") return { kind: "error", message: gaveUpMessage(settled) };
      const { verdict } = settled;
      // A task the service no longer knows cannot run any more: that is what cancelling asked for.
      if (verdict.kind === "ok" || verdict.kind === "not-found") return { kind: "cancelled" };
      if (verdict.kind === "account-stop" || verdict.kind === "rejected" || verdict.kind === "ambiguous") {
        return { kind: "error", message: safe(verdict.message) };
      }
      return { kind: "error", message: `HTTP ${verdict.status}` };
    } catch (error) {
      return { kind: "error", message: safe(`unexpected error: ${errorMessage(error)}`) };
    }
  }

  interface OpenResponse {
    status: number;
    headers: Headers;
    body: Readable;
  }

  /**
   * One GET of an output URL, following redirects by hand so that the key is sent to the API's own
   * origin only, never to a CDN or storage host a redirect points at.
   */
  async function openOnce(
    url: string,
    offset: number,
    signal: AbortSignal | undefined,
  ): Promise<Once<OpenResponse>> {
    let target = url;
    for (let hop = 0; ; hop++) {
      const parsed = new URL(target);
      const problem = urlProblem(parsed);
      if (problem !== null) {
        const message = `output URL ${describeUrl(target)} refused: ${problem}`;
        return {
          kind: "verdict",
          verdict: { kind: "rejected", status: 0, code: null, message },
          result: null,
        };
      }
      const headers: Record<string, string> = {
        accept: "*/*",
        "accept-encoding": "identity",
        "user-agent": "actbatch",
      };
      if (offset > 0) headers.range = `bytes=${offset}-`;
      if (parsed.origin === apiOrigin) {
        headers.authorization = `Bearer ${options.apiKey}`;
        headers["x-runway-version"] = runwayVersion;
      }
      counts.download++;
      let response: Dispatcher.ResponseData;
      try {
        response = await dispatcher.request({
          origin: parsed.origin,
          path: `${parsed.pathname}${parsed.search}`,
          method: "GET",
          headers,
          signal: signal ?? null,
        });
      } catch (error) {
        if (signal?.aborted) return { kind: "aborted", sent: true };
        const verdict = classifyNetworkFailure({
          kind: "download",
          code: errorCode(error),
          message: errorMessage(error),
          sent: true,
        });
        return { kind: "verdict", verdict, result: null };
      }
      const status = response.statusCode;
      const responseHeaders = response.headers as Headers;
      const location = headerString(responseHeaders, "location");
      if (status >= 300 && status <= 399 && location !== undefined) {
        discard(response.body);
        if (hop >= MAX_REDIRECTS) {
          const message = `too many redirects from ${describeUrl(url)}`;
          return {
            kind: "verdict",
            verdict: { kind: "rejected", status, code: null, message },
            result: null,
          };
        }
        target = new URL(location, target).toString();
        continue;
      }
      if (status === 416 || status === 206) {
        const range = parseContentRange(headerString(responseHeaders, "content-range"));
        const asked = status === 206 && range !== null && range.start === offset;
        if (!asked && offset > 0) {
          // 416: what is on disk is not a prefix the server can continue; a 206 for another offset
          // cannot be appended. Either way, start this file over from its first byte.
          discard(response.body);
          offset = 0;
          hop--;
          continue;
        }
        if (!asked) {
          discard(response.body);
          const message = `${describeUrl(target)}: HTTP ${status} with a range that was not asked for`;
          return {
            kind: "verdict",
            verdict: { kind: "rejected", status, code: null, message },
            result: null,
          };
        }
      }
      let text = "";
      if (status < 200 || status > 299) {
        try {
          text = await readText(response.body, 64 * 1024);
        } catch {
          text = "";
        }
      }
      const verdict = classifyAnswer({
        kind: "download",
        provider: options.provider,
        status,
        headers: responseHeaders,
        body: text,
        nowMs: clock(),
      });
      if (verdict.kind !== "ok") discard(response.body);
      return { kind: "verdict", verdict, result: { status, headers: responseHeaders, body: response.body } };
    }
  }

  async function openDownload(url: string, offset: number, signal?: AbortSignal): Promise<DownloadOpen> {
    try {
      if (!URL.canParse(url))
        return { kind: "error", message: "the output URL is not a valid URL", retryable: false };
      const settled = await retrying(signal, () => openOnce(url, offset, signal));
      if (settled.kind === "aborted") return { kind: "error", message: "interrupted", retryable: true };
      if (settled.kind === "gave-up")
        return { kind: "error", message: gaveUpMessage(settled), retryable: true };
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
        discard(result.body);
        return {
          kind: "error",
          message: `${describeUrl(url)}: unexpected HTTP ${result.status}`,
          retryable: false,
        };
      }
      return { kind: "ok", status: 200, contentLength, totalSize: contentLength, body: result.body };
    } catch (error) {
      return { kind: "error", message: safe(`unexpected error: ${errorMessage(error)}`), retryable: true };
    }
  }

  return {
    createTask,
    getTask,
    cancelTask,
    openDownload,
    counts: () => ({ ...counts }),
    async close() {
      // In-flight requests get a moment to finish; a stuck one must not keep the process alive.
      const stop = new AbortController();
      const timer = delay(2_000, undefined, { signal: stop.signal, ref: false }).then(
        () => agent.destroy(),
        () => {},
      );
      await Promise.race([agent.close(), timer]);
      stop.abort();
    },
  };
}
