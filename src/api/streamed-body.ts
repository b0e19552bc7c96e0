// A response whose body is read by its caller, as it arrives: the dispatch handler behind `send`.
// The caller takes the chunks in batches; while unread bytes pile up past a mark, the connection is
// paused. No stream per response: a download's body goes from the socket to its file through here,
// and a large run downloads thousands of them.
import { addAbortListener } from "node:events";

export type Headers = Record<string, string | string[] | undefined>;

/** A response body, read in batches; the connection waits while the caller is busy. */
export interface ResponseBody {
  /**
   * Every chunk that arrived since the last call (waiting for one if none did), or null at the body's
   * end. Rejects with what broke the body: a reset, a timeout, the request's signal.
   */
  take(): Promise<Buffer[] | null>;
  /** Drops what is left of the body (and the connection under it, if the body has not ended). */
  discard(): void;
}

/** What undici hands a dispatch handler to steer its request (the part used here). */
interface Controller {
  pause(): void;
  resume(): void;
  abort(reason: Error): void;
}

/** How a request came out: its answer (the body still to read), or how it failed before the headers. */
export type StreamedOutcome =
  | { kind: "response"; status: number; headers: Headers; body: ResponseBody }
  | { kind: "failed"; error: unknown; sent: boolean; aborted: boolean };

/** Unread bytes past which the connection is paused until the caller takes them. */
const HIGH_WATER_MARK = 1024 * 1024;

export class StreamedBody implements ResponseBody {
  /** Set once the request has settled (answered or failed before its headers). */
  settled = false;
  private controller: Controller | null = null;
  private sent = false;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  private error: unknown = null;
  private waiter: { resolve: (chunks: Buffer[] | null) => void; reject: (error: unknown) => void } | null =
    null;
  private stopListening: Disposable | null = null;

  constructor(
    private readonly signal: AbortSignal | null,
    private readonly onOutcome: (outcome: StreamedOutcome) => void,
  ) {
    if (signal?.aborted) {
      this.failBeforeHeaders(signal.reason);
      return;
    }
    if (signal) this.stopListening = addAbortListener(signal, () => this.onAbort());
  }

  take(): Promise<Buffer[] | null> {
    if (this.chunks.length > 0) return Promise.resolve(this.drain());
    if (this.error !== null) return Promise.reject(this.error);
    if (this.ended) return Promise.resolve(null);
    if (this.waiter !== null) return Promise.reject(new Error("the body is already being read"));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  discard(): void {
    this.chunks = [];
    this.buffered = 0;
    if (this.ended || this.error !== null) return;
    this.error = new Error("the body was discarded");
    this.release();
    this.controller?.abort(this.error as Error);
  }

  // undici's dispatch handler.

  onRequestStart(controller: Controller): void {
    if (this.settled) {
      // Aborted while it waited for a connection: it is never written.
      controller.abort(this.abortReason());
      return;
    }
    this.controller = controller;
  }

  onRequestSent(): void {
    this.sent = true;
  }

  onResponseStart(_controller: Controller, statusCode: number, headers: Headers): void {
    if (statusCode < 200 || this.settled) return;
    this.settled = true;
    this.onOutcome({ kind: "response", status: statusCode, headers, body: this });
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    if (this.error !== null) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (this.waiter !== null) {
      const { resolve } = this.waiter;
      this.waiter = null;
      resolve(this.drain());
    } else if (this.buffered >= HIGH_WATER_MARK) controller.pause();
  }

  onResponseEnd(): void {
    this.ended = true;
    this.release();
    if (this.waiter !== null) {
      const { resolve } = this.waiter;
      this.waiter = null;
      resolve(null);
    }
  }

  onResponseError(_controller: Controller | null, error: Error): void {
    if (!this.settled) {
      this.failBeforeHeaders(error);
      return;
    }
    if (this.ended || this.error !== null) return;
    this.error = error;
    this.release();
    if (this.waiter !== null) {
      const { reject } = this.waiter;
      this.waiter = null;
      reject(error);
    }
  }

  private drain(): Buffer[] {
    const chunks = this.chunks;
    this.chunks = [];
    this.buffered = 0;
    this.controller?.resume();
    return chunks;
  }

  private onAbort(): void {
    // Started: undici stops it and reports the abort through onResponseError.
    if (this.controller) this.controller.abort(this.abortReason());
    else if (!this.settled) this.failBeforeHeaders(this.signal?.reason);
  }

  private abortReason(): Error {
    const reason: unknown = this.signal?.reason;
    return reason instanceof Error ? reason : new Error("aborted");
  }

  private failBeforeHeaders(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.release();
    this.onOutcome({ kind: "failed", error, sent: this.sent, aborted: this.signal?.aborted === true });
  }

  /** The request is over: its signal no longer concerns it. */
  private release(): void {
    this.stopListening?.[Symbol.dispose]();
    this.stopListening = null;
  }
}

/** The body as text, cut at `limit` bytes (the rest is dropped). */
export async function readText(body: ResponseBody, limit: number): Promise<string> {
  const kept: Buffer[] = [];
  let size = 0;
  for (let chunks = await body.take(); chunks !== null; chunks = await body.take()) {
    for (const chunk of chunks) {
      size += chunk.length;
      if (size > limit) {
        body.discard();
        return Buffer.concat(kept).toString("utf8");
      }
      kept.push(chunk);
    }
  }
  return Buffer.concat(kept).toString("utf8");
}
