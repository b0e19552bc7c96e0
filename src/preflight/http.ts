// The preflight's HTTP: HEAD without following redirects, and ranged GETs that never read more
// than asked for, each counted (requests, body bytes) so the report can say what a probe cost.
import type { Agent, Dispatcher } from "undici";

export interface ProbeCounters {
  requests: number;
  /** Response body bytes received. */
  bytes: number;
}

export interface HeadAnswer {
  status: number;
  headers: Record<string, string>;
}

export interface ProbeHttpOptions {
  /** Per request: connecting, and waiting for headers or body bytes (default 15 s). */
  timeoutMs?: number;
  /** Connections per origin (default 4). */
  connections?: number;
}

/** A small HTTP client for probing assets. `close()` when done. */
export class ProbeHttp {
  // undici is loaded with the first probe: a run whose assets are all cached probes nothing.
  private agent: Promise<Agent> | null = null;
  private readonly timeoutMs: number;
  private readonly connections: number;

  constructor(options: ProbeHttpOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.connections = options.connections ?? 4;
  }

  private agentOf(): Promise<Agent> {
    return (this.agent ??= import("undici").then(
      ({ Agent }) =>
        new Agent({
          connections: this.connections,
          connectTimeout: this.timeoutMs,
          headersTimeout: this.timeoutMs,
          bodyTimeout: this.timeoutMs,
        }),
    ));
  }

  async head(url: URL, counters: ProbeCounters): Promise<HeadAnswer> {
    counters.requests++;
    const response = await (
      await this.agentOf()
    ).request({
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: "HEAD",
      headers: { "user-agent": "actbatch-preflight" },
    });
    await response.body.dump();
    return { status: response.statusCode, headers: flatHeaders(response.headers) };
  }

  /**
   * Bytes [start, start + length) of the file, or fewer at its end. A server that ignores Range
   * (answers 200) is read from the start, up to `maxUnrangedBytes`, then the connection is dropped.
   */
  async range(
    url: URL,
    start: number,
    length: number,
    counters: ProbeCounters,
    maxUnrangedBytes: number,
  ): Promise<Uint8Array> {
    counters.requests++;
    const response = await (
      await this.agentOf()
    ).request({
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: "GET",
      headers: { "user-agent": "actbatch-preflight", range: `bytes=${start}-${start + length - 1}` },
    });
    const { statusCode: status } = response;
    if (status === 206) {
      const from = /^bytes (\d+)-/.exec(flatHeaders(response.headers)["content-range"] ?? "")?.[1];
      if (from !== undefined && Number(from) !== start) {
        await response.body.dump();
        throw new ProbeHttpError(`answered a Range request for byte ${start} with byte ${from}`);
      }
      return readUpTo(response.body, length, counters);
    }
    if (status === 200) {
      if (start + length > maxUnrangedBytes) {
        response.body.destroy();
        throw new ProbeHttpError(
          "ignores Range requests, and reading the duration would mean downloading most of the file",
        );
      }
      const bytes = await readUpTo(response.body, start + length, counters);
      return bytes.subarray(start);
    }
    await response.body.dump();
    throw new ProbeHttpError(`answered ${status} to a Range request`);
  }

  async close(): Promise<void> {
    await (await this.agent)?.close();
  }
}

export class ProbeHttpError extends Error {
  override readonly name = "ProbeHttpError";
}

/** Reads at most `limit` bytes of a body, then drops the rest of it (and the connection if need be). */
async function readUpTo(
  body: Dispatcher.ResponseData["body"],
  limit: number,
  counters: ProbeCounters,
): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let have = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    counters.bytes += chunk.length;
    chunks.push(chunk);
    have += chunk.length;
    if (have >= limit) break;
  }
  if (!body.destroyed) body.destroy();
  return new Uint8Array(Buffer.concat(chunks).subarray(0, limit));
}

function flatHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
  }
  return flat;
}
