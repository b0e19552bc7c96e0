// The client's HTTP: one undici Agent (the only import of undici in src/api), one request function.
// It knows the API's origin and its credentials: the key and the API version go with a request only
// when the caller asks for them and the request goes to that origin, never to a CDN, a storage host
// or an upload URL. It says whether a failed request had left whole (what makes a create ambiguous).
import { addAbortListener } from "node:events";
import { setTimeout as delay } from "node:timers/promises";
import type { Agent, Dispatcher } from "undici";
import { StreamedBody, type Headers, type ResponseBody, type StreamedOutcome } from "./streamed-body.js";

export type { Headers, ResponseBody } from "./streamed-body.js";

/**
 * Idle keep-alive sockets are dropped after 4 s, below common server idle timeouts (Node 5 s, nginx
 * 75 s): a POST written to a socket the server has just closed fails after sending, which would make
 * an otherwise clean create ambiguous. undici also honours a shorter Keep-Alive hint from the server.
 */
const KEEP_ALIVE_MS = 4_000;

export interface TransportOptions {
  /** The API's origin (https://api.example.com): the only origin that ever gets the key. */
  apiOrigin: string;
  apiKey: string;
  runwayVersion: string;
  /** Connections per origin. */
  connections: number;
  connectMs: number;
  headersMs: number;
  bodyMs: number;
}

export interface TransportRequest {
  origin: string;
  /** Path and query, sent as given (already encoded). */
  path: string;
  method: "GET" | "POST" | "DELETE";
  headers: Record<string, string>;
  body?: string | Buffer;
  signal?: AbortSignal | undefined;
  /** Send the key and the API version, if `origin` is the API's. */
  credentials: boolean;
  /** This request's headers and body timeouts, instead of the transport's. */
  timeoutMs?: number;
}

export type TransportResult =
  | { kind: "response"; status: number; headers: Headers; body: ResponseBody }
  | {
      kind: "failed";
      /** The error's code (ECONNREFUSED, UND_ERR_SOCKET, ...), when it had one. */
      code: string | null;
      message: string;
      /** Whether undici had handed the whole request to the socket when it failed. */
      sent: boolean;
      /** The caller's signal aborted it. */
      aborted: boolean;
    };

/**
 * A request whose whole answer is small text: its status, headers and body (cut at the limit), or
 * the failure before an answer (as `send` reports it), or the error that broke the body after the
 * headers came.
 */
export type TextResult =
  /** `cut`: the body went past the limit, so `text` is only its beginning. */
  | { kind: "response"; status: number; headers: Headers; text: string; cut: boolean }
  | { kind: "broken"; status: number; headers: Headers; error: unknown }
  | Extract<TransportResult, { kind: "failed" }>;

export interface Transport {
  readonly apiOrigin: string;
  send(request: TransportRequest): Promise<TransportResult>;
  /**
   * `send` for an answer read whole as text, cut at `limit` bytes like readText: the body is
   * collected as it arrives, with no stream per answer (every API request goes through here).
   */
  sendText(request: TransportRequest, limit: number): Promise<TextResult>;
  /** In-flight requests get a moment to finish; a stuck one must not keep the process alive. */
  close(): Promise<void>;
}

export function errorCode(error: unknown): string | null {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : null;
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

export function createTransport(options: TransportOptions): Transport {
  // undici is loaded with the first request: a rerun with nothing to send (the nightly run of an
  // unchanged job) does not pay for loading it, about a tenth of such a run.
  let agent: Promise<Agent> | null = null;
  const agentOf = (): Promise<Agent> =>
    (agent ??= import("undici").then(
      ({ Agent }) =>
        new Agent({
          connections: options.connections,
          keepAliveTimeout: KEEP_ALIVE_MS,
          connectTimeout: options.connectMs,
          headersTimeout: options.headersMs,
          bodyTimeout: options.bodyMs,
          // One request per connection at a time: a slow answer must not hold up the ones behind it.
          pipelining: 1,
        }),
    ));

  /** Hands a request to the agent; every failure, loading undici's included, reaches the handler. */
  function dispatch(request: TransportRequest, handler: StreamedBody | TextHandler): void {
    agentOf().then(
      (loaded) => {
        // Aborted while undici loaded: the handler has settled already.
        if (!handler.settled) loaded.dispatch(dispatchOptions(request), handler);
      },
      (error: unknown) =>
        handler.onResponseError(null, error instanceof Error ? error : new Error(String(error))),
    );
  }

  function headersOf(request: TransportRequest): Record<string, string> {
    const headers: Record<string, string> = { "user-agent": "actbatch", ...request.headers };
    if (request.credentials && request.origin === options.apiOrigin) {
      headers.authorization = `Bearer ${options.apiKey}`;
      headers["x-runway-version"] = options.runwayVersion;
    }
    return headers;
  }

  function dispatchOptions(request: TransportRequest): Dispatcher.DispatchOptions {
    return {
      origin: request.origin,
      path: request.path,
      method: request.method,
      headers: headersOf(request),
      body: request.body ?? null,
      ...(request.timeoutMs !== undefined && {
        headersTimeout: request.timeoutMs,
        bodyTimeout: request.timeoutMs,
      }),
    };
  }

  /**
   * undici calls a handler's onRequestSent once the request (headers and body) is written to the
   * socket. A failure before that moment means the service cannot have received the request in full,
   * so even a create is safe to send again; after it, a create's outcome is unknown.
   */
  function send(request: TransportRequest): Promise<TransportResult> {
    return new Promise((resolve) => {
      const handler = new StreamedBody(request.signal ?? null, (outcome) => resolve(resultOf(outcome)));
      if (handler.settled) return;
      // A dispatch that fails at once reports it through the handler's onResponseError.
      dispatch(request, handler);
    });
  }

  function sendText(request: TransportRequest, limit: number): Promise<TextResult> {
    return new Promise((resolve) => {
      const handler = new TextHandler(limit, request.signal ?? null, resolve);
      if (handler.settled) return;
      // A dispatch that fails at once reports it through the handler's onResponseError.
      dispatch(request, handler);
    });
  }

  return {
    apiOrigin: options.apiOrigin,
    send,
    sendText,
    async close() {
      if (agent === null) return;
      const loaded = await agent.catch(() => null);
      if (loaded === null) return;
      const stop = new AbortController();
      const timer = delay(2_000, undefined, { signal: stop.signal, ref: false }).then(
        () => loaded.destroy(),
        () => {},
      );
      await Promise.race([loaded.close(), timer]);
      stop.abort();
    },
  };
}

/**
 * Collects one answer for sendText. What it settles with matches `send` followed by readText: a
 * failure before the headers is `failed` (whether the request had left whole, whether the caller
 * aborted it), the body is the bytes before the chunk that would pass `limit` (the request is then
 * dropped), and an error after the headers (a reset, a timeout, the caller's abort) is `broken`.
 */
class TextHandler implements Dispatcher.DispatchHandler {
  settled = false;
  private controller: Dispatcher.DispatchController | null = null;
  private sent = false;
  private status = 0;
  private headers: Headers | null = null;
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private cut = false;
  private readonly stopListening: Disposable | null = null;

  constructor(
    private readonly limit: number,
    private readonly signal: AbortSignal | null,
    private readonly resolve: (result: TextResult) => void,
  ) {
    if (signal?.aborted) {
      this.fail(signal.reason, false);
      return;
    }
    if (signal) this.stopListening = addAbortListener(signal, () => this.onAbort());
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    if (this.settled) {
      // Aborted while it waited for a connection: it is never written.
      controller.abort(this.signal?.reason ?? new Error("aborted"));
      return;
    }
    this.controller = controller;
  }

  onRequestSent(): void {
    this.sent = true;
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (statusCode < 200) return;
    this.status = statusCode;
    this.headers = headers;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled) return;
    this.size += chunk.length;
    if (this.size > this.limit) {
      this.cut = true;
      this.finish();
      controller.abort(new Error(`the answer is longer than ${this.limit} bytes`));
      return;
    }
    this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    this.finish();
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, error: Error): void {
    if (this.settled) return;
    if (this.headers === null) this.fail(error, this.sent);
    else this.settle({ kind: "broken", status: this.status, headers: this.headers, error });
  }

  private onAbort(): void {
    const reason: unknown = this.signal?.reason;
    // Started: undici stops it and reports the abort through onResponseError.
    if (this.controller) this.controller.abort(reason instanceof Error ? reason : new Error("aborted"));
    else if (!this.settled) this.fail(reason, false);
  }

  private finish(): void {
    if (this.settled || this.headers === null) return;
    const text = Buffer.concat(this.chunks).toString("utf8");
    this.settle({ kind: "response", status: this.status, headers: this.headers, text, cut: this.cut });
  }

  private fail(error: unknown, sent: boolean): void {
    this.settle({
      kind: "failed",
      code: errorCode(error),
      message: errorMessage(error),
      sent,
      aborted: this.signal?.aborted === true,
    });
  }

  private settle(result: TextResult): void {
    if (this.settled) return;
    this.settled = true;
    this.stopListening?.[Symbol.dispose]();
    this.resolve(result);
  }
}

export function headerString(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function resultOf(outcome: StreamedOutcome): TransportResult {
  if (outcome.kind === "response") return outcome;
  return {
    kind: "failed",
    code: errorCode(outcome.error),
    message: errorMessage(outcome.error),
    sent: outcome.sent,
    aborted: outcome.aborted,
  };
}
