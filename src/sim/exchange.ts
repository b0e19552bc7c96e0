// One HTTP exchange and the answers every route shares: counting, JSON, errors in the route family's
// own shape, reading a request body, and the one Range implementation of the routes that serve bytes
// (output downloads and probe-able assets).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Route } from "./routes.js";
import type { Counters } from "./stats.js";
import { cometError, runwayError } from "./wire.js";

const MAX_BODY_BYTES = 32 * 1024 * 1024;

/** One request as the simulator saw it. The Authorization header is never recorded. */
export interface SimRequestRecord {
  at: number;
  method: string;
  /** Path without the query string. */
  path: string;
  route: string;
  status: string;
  runwayVersion: string | null;
  retryCount: string | null;
  authorized: boolean;
  /** The parsed body of a create. */
  body?: unknown;
}

/** A body served as bytes: its size, and the validator If-Range is compared with. */
export interface ByteBody {
  size: number;
  etag: string;
}

export class Exchange {
  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly route: Route,
    readonly record: SimRequestRecord,
    readonly requestId: string,
    private readonly counters: Counters,
  ) {}

  /** Records the answer ("200", ..., "reset", "lost", "stall") in the request log and the counters. */
  count(status: string): void {
    this.record.status = status;
    this.counters.request(this.route.template, status);
  }

  sendJson(status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    this.count(String(status));
    if (this.res.headersSent || this.res.destroyed) return;
    this.res.writeHead(status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(text),
      ...headers,
    });
    this.res.end(text);
  }

  /** An error in the route family's own shape: Runway's on /v1, CometAPI's envelope on /runwayml. */
  sendError(
    status: number,
    runwayMessage: string,
    cometMessage: string,
    cometCode = "",
    headers: Record<string, string> = {},
    runwayExtra: Record<string, unknown> = {},
  ): void {
    const body =
      this.route.family === "comet"
        ? cometError(cometMessage, this.requestId, cometCode)
        : runwayError(runwayMessage, runwayExtra);
    this.sendJson(status, body, headers);
  }

  /** The 502 a gateway sends when its upstream answered badly (fault "502", and "lost5xx" after the create). */
  sendBadGateway(): void {
    this.sendError(502, "Bad gateway", "bad response status code 502", "bad_response_status_code");
  }

  /** Collects the request body; past MAX_BODY_BYTES answers 413 and never calls `then`. */
  readBody(then: (body: Buffer) => void): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    this.req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        if (!tooBig) {
          tooBig = true;
          this.sendError(413, "Request body too large", "request body too large");
        }
        return;
      }
      chunks.push(chunk);
    });
    this.req.on("end", () => {
      if (!tooBig) then(Buffer.concat(chunks));
    });
    this.req.on("error", () => undefined);
  }

  /**
   * Range, for every route that serves bytes: a single range (If-Range with a stale validator means
   * the whole body), 416 when it cannot be satisfied. Otherwise writes the 200 or 206 head (`headers`,
   * then Content-Length unless `noLength`, then Content-Range) and returns the bytes [start, end] to
   * send; null when nothing more is to be sent (the 416, or a HEAD).
   */
  answerRange(
    body: ByteBody,
    headers: Record<string, string | number>,
    options: { ignoreRange?: boolean; noLength?: boolean } = {},
  ): { start: number; end: number } | null {
    const { req, res } = this;
    const range = options.ignoreRange
      ? null
      : parseRange(req.headers.range, headerValue(req.headers["if-range"]) ?? undefined, body);
    if (range === "unsatisfiable") {
      this.count("416");
      res.writeHead(416, { "content-range": `bytes */${body.size}`, "content-length": 0 });
      res.end();
      return null;
    }
    const start = range?.start ?? 0;
    const end = range?.end ?? body.size - 1;
    if (!options.noLength) headers["content-length"] = end - start + 1;
    if (range) headers["content-range"] = `bytes ${start}-${end}/${body.size}`;
    const status = range ? 206 : 200;
    this.count(String(status));
    res.writeHead(status, headers);
    if (req.method === "HEAD") {
      res.end();
      return null;
    }
    return { start, end };
  }
}

/** Resolves when the response can take more data, or is gone. */
export function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

export function headerValue(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? (value[0] ?? null) : value;
}

/** A single byte range, null for the whole body, or "unsatisfiable" for a 416. */
function parseRange(
  header: string | undefined,
  ifRange: string | undefined,
  source: ByteBody,
): { start: number; end: number } | null | "unsatisfiable" {
  if (header === undefined) return null;
  // If-Range with a stale validator means "send me the whole new thing".
  if (ifRange !== undefined && ifRange !== source.etag) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return null;
  const [, first = "", last = ""] = match;
  const size = source.size;
  if (first === "" && last === "") return null;
  let start: number;
  let end: number;
  if (first === "") {
    const suffix = Number(last);
    if (suffix === 0) return "unsatisfiable";
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(first);
    end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  }
  if (start >= size || start > end) return "unsatisfiable";
  return { start, end };
}
