// The review server: the sheet of one output folder on loopback, and one small write route for the
// reviewer's decisions. It answers only for the hosts it listens as (a page elsewhere that points a
// name at 127.0.0.1 gets nothing), serves only the files it was given by name (the folder's outputs,
// an earlier folder's changed outputs, the pairs' local reference files while they hold their
// recorded bytes), never follows a link out of the folder, and writes nothing but review.json.
import { createReadStream } from "node:fs";
import { open, realpath, stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { isAbsolute, relative, sep } from "node:path";
import { UserError } from "../../errors.js";
import { hasErrnoCode } from "../../fs/errno.js";
import { fingerprintFile } from "../../job/read-local-files.js";
import type { ParamValue } from "../../job/types.js";
import {
  applyDecision,
  parseDecisionChange,
  readReview,
  writeReview,
  type DecisionChange,
  type Review,
  type ReviewEntry,
} from "./decisions.js";

/** The largest decision a page may post: a key and a note of MAX_NOTE_LENGTH characters fit. */
export const MAX_BODY_BYTES = 4096;

export const DECISIONS_PATH = "/api/decisions";

/** A file the server may send: inside `root` (no link may lead out of it), or one exact file. */
export interface ServedFile {
  path: string;
  /** The folder the file must really be in (after links), or null for a file named on its own. */
  root: string | null;
  /** For a reference: the content it must still have. */
  sha256?: string;
}

export interface ReviewServerOptions {
  outputDir: string;
  job: string;
  /** The page for the current decisions. */
  page(review: Review): string;
  /** The page's Content-Security-Policy, also sent as a header. */
  csp: string;
  /** URL path (as the page writes it) -> file. */
  files: Map<string, ServedFile>;
  /** What a key stands for (a task of the manifest, or an orphan), for the decisions. */
  subjects: Map<string, { pair: string; params: Record<string, ParamValue>; label: string }>;
  review: Review;
  port?: number;
  host?: string;
  allowRemote?: boolean;
  now?: () => Date;
}

export interface ReviewServer {
  url: string;
  port: number;
  /** The decisions as last written. */
  review(): Review;
  close(): Promise<void>;
}

const LOOPBACK = /^(?:127(?:\.\d{1,3}){3}|::1|localhost)$/i;
const WILDCARD = new Set(["0.0.0.0", "::"]);

export async function startReviewServer(options: ReviewServerOptions): Promise<ReviewServer> {
  const host = options.host ?? "127.0.0.1";
  if (!LOOPBACK.test(host) && options.allowRemote !== true)
    throw new UserError(
      `the review server listens on loopback only, not "${host}"`,
      undefined,
      "pass --allow-remote to serve other hosts (anyone who reaches it can then change the decisions)",
    );
  const now = options.now ?? (() => new Date());
  let review = options.review;
  let writes: Promise<unknown> = Promise.resolve();
  const folder = await realpath(options.outputDir);
  // A reference is hashed when first asked for, and again only when its size or time changes.
  const verified: Verified = new Map();
  let port = 0;

  // The Host header a browser sends for this server: a page on another name (DNS rebinding) is refused.
  const hostAllowed = (header: string | undefined): boolean => {
    if (header === undefined) return false;
    const names = ["127.0.0.1", "localhost", "[::1]"];
    if (!LOOPBACK.test(host)) {
      if (WILDCARD.has(host)) return true;
      names.push(host.includes(":") ? `[${host}]` : host);
    }
    return names.some((name) => header.toLowerCase() === `${name.toLowerCase()}:${port}`);
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) send(response, 500, `internal error: ${describe(error)}`);
      else response.destroy();
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    response.setHeader("X-Content-Type-Options", "nosniff");
    response.setHeader("Referrer-Policy", "no-referrer");
    response.setHeader("Cache-Control", "no-store");
    if (!hostAllowed(request.headers.host)) {
      request.resume();
      send(response, 421, "this server answers only for its own address");
      return;
    }
    const path = pathOf(request.url);
    if (path === null) {
      request.resume();
      send(response, 400, "bad path");
      return;
    }
    if (path === DECISIONS_PATH) {
      if (request.method !== "POST") {
        request.resume();
        response.setHeader("Allow", "POST");
        send(response, 405, "POST only");
        return;
      }
      await postDecision(request, response);
      return;
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      request.resume();
      response.setHeader("Allow", "GET, HEAD");
      send(response, 405, "GET only");
      return;
    }
    if (path === "/") {
      const html = options.page(review);
      response.writeHead(200, {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Length": Buffer.byteLength(html),
        "Content-Security-Policy": `${options.csp}; frame-ancestors 'none'`,
      });
      response.end(request.method === "HEAD" ? undefined : html);
      return;
    }
    const file = options.files.get(path);
    if (!file) {
      send(response, 404, "not found");
      return;
    }
    await sendFile(request, response, file, folder, verified);
  }

  async function postDecision(request: IncomingMessage, response: ServerResponse): Promise<void> {
    // A form or a page elsewhere cannot post here: the browser names the page's origin, and a
    // JSON body from another origin needs a preflight this server never grants.
    const origin = request.headers.origin;
    if (
      origin === undefined ||
      !hostAllowed(origin.replace(/^http:\/\//i, "")) ||
      !/^http:\/\//i.test(origin)
    ) {
      request.resume();
      send(response, 403, "decisions are taken from this server's own page only");
      return;
    }
    if (!/^application\/json\s*(?:;|$)/i.test(request.headers["content-type"] ?? "")) {
      request.resume();
      send(response, 415, "expected application/json");
      return;
    }
    const body = await readBody(request, MAX_BODY_BYTES);
    if (body === null) {
      // The rest of the body is drained, not read, and the connection closed after the answer.
      response.setHeader("Connection", "close");
      send(response, 413, `a decision is at most ${MAX_BODY_BYTES} bytes`);
      request.resume();
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      send(response, 400, "not JSON");
      return;
    }
    const change = parseDecisionChange(value);
    if (typeof change === "string") {
      send(response, 400, change);
      return;
    }
    const write = writes.then(async () => {
      // Read again: another review of the same folder (or a hand edit) may have written since.
      const current = await readReview(options.outputDir, options.job);
      const known = options.subjects.get(change.key);
      const previous = current.decisions.get(change.key);
      const subject = known ?? previous;
      if (!subject) return null;
      const next = applyDecision(current, change, subject, now().toISOString());
      await writeReview(options.outputDir, next);
      review = next;
      return { entry: next.decisions.get(change.key) ?? null, label: known?.label ?? change.key };
    });
    writes = write.catch(() => undefined);
    let saved: { entry: ReviewEntry | null; label: string } | null;
    try {
      saved = await write;
    } catch (error) {
      send(response, error instanceof UserError ? 409 : 500, `not saved: ${describe(error)}`);
      return;
    }
    if (saved === null) {
      send(response, 404, `no task ${change.key} in this folder`);
      return;
    }
    const entry = saved.entry;
    const json = JSON.stringify({
      entry: entry && { decision: entry.decision, note: entry.note, at: entry.at },
      message: `${describeChange(change)}: ${saved.label}`,
    });
    response.writeHead(200, {
      "Content-Type": "application/json",
      "Content-Length": Buffer.byteLength(json),
    });
    response.end(json);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", (error) => {
      reject(
        hasErrnoCode(error, "EADDRINUSE")
          ? new UserError(`port ${options.port ?? 0} is in use`, undefined, "choose another with --port")
          : error,
      );
    });
    server.listen(options.port ?? 0, host, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const shown =
    LOOPBACK.test(host) || WILDCARD.has(host) ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}/`,
    port,
    review: () => review,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function describeChange(change: DecisionChange): string {
  const said: string[] = [];
  if (change.decision !== undefined)
    said.push(change.decision === "pick" ? "picked" : change.decision === "reject" ? "rejected" : "cleared");
  if (change.note !== undefined) said.push(change.note.trim() === "" ? "note removed" : "note saved");
  return said.join(", ");
}

/** The request's path, decoded segment by segment; null for one that could name anything else. */
export function pathOf(url: string | undefined): string | null {
  if (url === undefined || !url.startsWith("/")) return null;
  const raw = url.split(/[?#]/, 1)[0] ?? "";
  const segments: string[] = [];
  for (const segment of raw.split("/").slice(1)) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      return null;
    }
    if (decoded === "." || decoded === ".." || /[\\/\0]/.test(decoded)) return null;
    segments.push(encodeURIComponent(decoded));
  }
  return `/${segments.join("/")}`;
}

async function sendFile(
  request: IncomingMessage,
  response: ServerResponse,
  file: ServedFile,
  folder: string,
  verified: Verified,
): Promise<void> {
  let real: string;
  try {
    real = await realpath(file.path);
  } catch {
    send(response, 404, "not found");
    return;
  }
  if (file.root !== null) {
    const root = file.root === folder ? folder : await realpath(file.root).catch(() => null);
    const inside = root === null ? "" : relative(root, real);
    if (
      root === null ||
      inside === "" ||
      inside.startsWith(`..${sep}`) ||
      inside === ".." ||
      isAbsolute(inside)
    ) {
      send(response, 404, "not found");
      return;
    }
  }
  const handle = await open(real, "r");
  try {
    const info = await handle.stat();
    if (!info.isFile()) {
      send(response, 404, "not found");
      return;
    }
    if (
      file.sha256 !== undefined &&
      !(await stillHolds(verified, real, file.sha256, info.size, info.mtimeMs))
    ) {
      send(response, 404, "this reference file changed since the renders were made");
      return;
    }
    const size = info.size;
    const range = parseRange(request.headers.range, size);
    if (range === "invalid") {
      response.writeHead(416, { "Content-Range": `bytes */${size}` });
      response.end();
      return;
    }
    const start = range?.start ?? 0;
    const end = range?.end ?? size - 1;
    const headers: Record<string, string | number> = {
      "Content-Type": /\.mp4$/i.test(real)
        ? "video/mp4"
        : /\.mov$/i.test(real)
          ? "video/quicktime"
          : "application/octet-stream",
      "Accept-Ranges": "bytes",
      "Content-Length": Math.max(0, end - start + 1),
      "Cross-Origin-Resource-Policy": "same-origin",
    };
    if (range) headers["Content-Range"] = `bytes ${start}-${end}/${size}`;
    response.writeHead(range ? 206 : 200, headers);
    if (request.method === "HEAD" || size === 0) {
      response.end();
      return;
    }
    const stream = createReadStream("", { fd: handle, start, end, autoClose: false });
    await new Promise<void>((resolve) => {
      stream.on("error", () => {
        response.destroy();
        resolve();
      });
      response.on("close", () => {
        stream.destroy();
        resolve();
      });
      stream.pipe(response);
    });
  } finally {
    await handle.close();
  }
}

type Verified = Map<string, { size: number; mtimeMs: number; sha256: string }>;

async function stillHolds(
  verified: Verified,
  path: string,
  sha256: string,
  size: number,
  mtimeMs: number,
): Promise<boolean> {
  const known = verified.get(path);
  if (known && known.size === size && known.mtimeMs === mtimeMs) return known.sha256 === sha256;
  const print = fingerprintFile(path);
  verified.set(path, { size, mtimeMs, sha256: print.sha256 });
  const after = await stat(path);
  return print.sha256 === sha256 && after.size === size && after.mtimeMs === mtimeMs;
}

/** One `bytes=` range; null when there is none; "invalid" for one the file cannot satisfy. */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | null | "invalid" {
  if (header === undefined) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === "" && match[2] === "")) return "invalid";
  if (match[1] === "") {
    const suffix = Number(match[2]);
    if (suffix === 0) return "invalid";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || end < start) return "invalid";
  return { start, end };
}

/** The body, or null as soon as it passes `limit` bytes. */
function readBody(request: IncomingMessage, limit: number): Promise<string | null> {
  const declared = Number(request.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    request.on("data", (chunk: Buffer) => {
      length += chunk.length;
      if (length > limit) {
        request.removeAllListeners("data");
        resolve(null);
        return;
      }
      chunks.push(chunk);
    });
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

function send(response: ServerResponse, status: number, text: string): void {
  const body = `${text}\n`;
  response.writeHead(status, {
    "Content-Type": "text/plain; charset=utf-8",
    "Content-Length": Buffer.byteLength(body),
  });
  response.end(body);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
