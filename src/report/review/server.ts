// The review server: the sheet of one output folder on loopback, and one small write route for the
// reviewer's decisions. It answers only for the hosts it listens as (a page elsewhere that points a
// name at 127.0.0.1 gets nothing), serves only the files it was given by name (the folder's outputs,
// an earlier folder's changed outputs, the pairs' local reference files while they hold their
// recorded bytes), never follows a link out of the folder, and writes nothing but review.json.
import { realpath } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { UserError } from "../../errors.js";
import { hasErrnoCode } from "../../fs/errno.js";
import type { ParamValue } from "../../job/types.js";
import { DECISIONS_ROUTE } from "../html/render.js";
import { decisionRoute } from "./decision-route.js";
import type { Review } from "./decisions.js";
import { describe, send } from "./reply.js";
import { sendFile, type ServedFile, type Verified } from "./serve-file.js";

export type { ServedFile } from "./serve-file.js";

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

  const postDecision = decisionRoute({
    outputDir: options.outputDir,
    job: options.job,
    subjects: options.subjects,
    now,
    hostAllowed,
    saved: (next) => {
      review = next;
    },
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
    if (path === DECISIONS_ROUTE) {
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
