// What an answer (or a failure to get one) means for the request that got it. Pure: one table,
// tested as data. DESIGN.md sections 1 and 4 are the source; the comments give the reasons.
import type { ProviderName } from "./wire-types.js";
import type { AccountStopReason } from "./types.js";
import { describeErrorBody, type ErrorInfo } from "./error-body.js";
import { parseRetryAfter, type HeaderValue } from "./retry-after.js";

export type RequestKind = "create" | "get" | "cancel" | "download";

export type Verdict =
  | { kind: "ok" }
  /** Try again later. `timeout` marks a retry after a timeout (it costs the retry budget more). */
  | {
      kind: "retry";
      timeout: boolean;
      retryAfterMs: number | null;
      status: number | null;
      message: string;
      /** The network error's code when no answer came (ENOTFOUND, ECONNREFUSED, ...). */
      networkCode?: string;
    }
  | { kind: "account-stop"; reason: AccountStopReason; status: number; message: string }
  /** A definite refusal: retrying the same request would get the same answer. */
  | { kind: "rejected"; status: number; code: string | null; message: string }
  /** Create only: the service may have created the task, and no id came back. */
  | { kind: "ambiguous"; message: string }
  /** The task is not there (task_not_exist, 404): not visible yet, or gone. */
  | { kind: "not-found"; status: number; message: string }
  /** Download only: a signed output URL that no longer opens (401/403/404/410). */
  | { kind: "expired"; status: number };

export interface HttpAnswer {
  kind: RequestKind;
  provider: ProviderName;
  status: number;
  headers: Record<string, HeaderValue>;
  body: string;
  nowMs: number;
}

const NO_CREDITS_TEXT = /enough credits|insufficient (credits|balance|quota)/i;
const NO_CREDITS_CODES = new Set([
  "insufficient_user_quota",
  "pre_consume_token_quota_failed",
  "insufficient_quota",
]);
const DAILY_LIMIT_TEXT = /daily task limit/i;
const DAILY_LIMIT_CODES = new Set(["model_daily_usage_exceeded"]);

/**
 * Gateway timeouts: the gateway gave up waiting for the upstream, which may still have done the work.
 * 504 is the standard one; 524 is Cloudflare's "a timeout occurred" (CometAPI lists it).
 */
const GATEWAY_TIMEOUTS = new Set([504, 524]);

/**
 * Answers to a create after which a task may exist: gateway timeouts, and the 500/502 a proxy sends
 * when the upstream failed mid-request (CometAPI relays to Runway; the upstream may have accepted
 * and charged before the failure). Only 503 ("shedding load") and 429 say the request was refused.
 */
const CREATE_MAYBE_PROCESSED = new Set([500, 502, ...GATEWAY_TIMEOUTS]);

function withStatus(status: number, info: ErrorInfo): string {
  return info.message === "" ? `HTTP ${status}` : `HTTP ${status}: ${info.message}`;
}

/** Whether JSON text may hold `word` in a string: literally, or spelled with \u escapes. */
function mayContain(json: string, word: string): boolean {
  return json.includes(word) || json.includes("\\u");
}

function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599);
}

function classifyDownload(answer: HttpAnswer): Verdict {
  const { status } = answer;
  if (status >= 200 && status <= 299) return { kind: "ok" };
  // Signed URLs answer these once their signature has expired; a fresh GET of the task mints new ones.
  if (status === 401 || status === 403 || status === 404 || status === 410)
    return { kind: "expired", status };
  const info = describeErrorBody(answer.body);
  if (isRetryableStatus(status)) {
    const retryAfterMs = parseRetryAfter(answer.headers, answer.nowMs);
    return {
      kind: "retry",
      timeout: status === 504,
      retryAfterMs,
      status,
      message: withStatus(status, info),
    };
  }
  return { kind: "rejected", status, code: info.code, message: withStatus(status, info) };
}

/** The meaning of an HTTP answer from the API (create, get, cancel) or from an output URL (download). */
export function classifyAnswer(answer: HttpAnswer): Verdict {
  if (answer.kind === "download") return classifyDownload(answer);
  const { status, kind } = answer;
  if (status >= 200 && status <= 299) {
    // new-api can answer 200 with its error envelope (seen for task_not_exist). Only a body that can
    // hold that code is read for it: the caller parses every task answer anyway, once is enough.
    if (kind === "get" && mayContain(answer.body, "task_not_exist")) {
      const info = describeErrorBody(answer.body);
      if (info.code === "task_not_exist")
        return { kind: "not-found", status, message: withStatus(status, info) };
    }
    return { kind: "ok" };
  }
  const info = describeErrorBody(answer.body);
  const message = withStatus(status, info);

  // Account-wide conditions: every further request would fail the same way.
  if (status === 401) return { kind: "account-stop", reason: "bad-key", status, message };
  if (
    (status === 400 || status === 402 || status === 403) &&
    (NO_CREDITS_TEXT.test(info.message) || (info.code !== null && NO_CREDITS_CODES.has(info.code)))
  ) {
    return { kind: "account-stop", reason: "no-credits", status, message };
  }
  // Runway's daily limit, passed through verbatim or by a gateway; retrying for hours is pointless.
  // Runway has no request-rate limit (account concurrency is enforced by THROTTLED, not errors), so a
  // 429 on a create there is a usage limit whatever its wording. Any other 429 (CometAPI's upstream
  // saturation, or a 429 on a GET) is a plain "come back later", handled below.
  if (
    status === 429 &&
    (DAILY_LIMIT_TEXT.test(info.message) ||
      (info.code !== null && DAILY_LIMIT_CODES.has(info.code)) ||
      (answer.provider === "runway" && kind === "create"))
  ) {
    return { kind: "account-stop", reason: "daily-limit", status, message };
  }

  if (kind !== "create" && (info.code === "task_not_exist" || status === 404)) {
    return { kind: "not-found", status, message };
  }

  // CometAPI says a 500 with code invalid_request is its verdict on the request itself: not retryable.
  if (status >= 500 && info.code === "invalid_request") {
    return { kind: "rejected", status, code: info.code, message };
  }

  // A gateway timeout or upstream failure on a create: the upstream may have accepted the task and
  // charged for it. Retrying blindly could pay twice without anyone knowing, so the answer is
  // "unknown", like a reset after sending: the engine records it and applies the ambiguity policy
  // (default resubmit, reported as possibly charged twice). 503/429 are the service refusing the
  // request (load shedding, saturation): nothing was created, so those are retried.
  if (kind === "create" && CREATE_MAYBE_PROCESSED.has(status)) {
    return { kind: "ambiguous", message: `${message} (the service may have created the task)` };
  }

  if (isRetryableStatus(status)) {
    const retryAfterMs = parseRetryAfter(answer.headers, answer.nowMs);
    const timeout = status === 408 || GATEWAY_TIMEOUTS.has(status);
    return { kind: "retry", timeout, retryAfterMs, status, message };
  }

  if (status >= 300 && status <= 399) {
    const location = answer.headers.location;
    const where = typeof location === "string" ? ` to ${location.split("?")[0]}` : "";
    return {
      kind: "rejected",
      status,
      code: null,
      message: `HTTP ${status}: unexpected redirect${where} (is the base URL right?)`,
    };
  }

  return { kind: "rejected", status, code: info.code, message };
}

/** Error codes that can only happen before a request is on the wire (no connection yet). */
const BEFORE_SENDING = new Set([
  "ECONNREFUSED",
  "UND_ERR_CONNECT_TIMEOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EADDRNOTAVAIL",
]);

const TIMEOUTS = new Set([
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "ETIMEDOUT",
]);

export interface NetworkFailure {
  kind: RequestKind;
  /** The error's code (ECONNREFUSED, UND_ERR_SOCKET, ...), when it had one. */
  code: string | null;
  message: string;
  /** Whether the whole request had been handed to the socket when the failure happened. */
  sent: boolean;
}

/**
 * The meaning of a request that got no complete answer. A request that never fully left cannot have
 * been acted on, so it is retried whatever its method. Once a create was sent, the service may have
 * created a paid task: its outcome is unknown and it is never retried blindly (RFC 9110 §9.2.2).
 * GET and DELETE are idempotent and retried either way.
 */
export function classifyNetworkFailure(failure: NetworkFailure): Verdict {
  const label = failure.code ? `${failure.code}: ${failure.message}` : failure.message;
  const timeout = failure.code !== null && TIMEOUTS.has(failure.code);
  const beforeSending = !failure.sent || (failure.code !== null && BEFORE_SENDING.has(failure.code));
  if (failure.kind === "create" && !beforeSending) {
    return {
      kind: "ambiguous",
      message: `${label} after the request was sent (the service may have created the task)`,
    };
  }
  return {
    kind: "retry",
    timeout,
    retryAfterMs: null,
    status: null,
    message: label,
    ...(failure.code !== null && { networkCode: failure.code }),
  };
}
