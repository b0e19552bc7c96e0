// The review server's file route: a file it was given by name, whole or by byte range, and only while
// it is really inside its folder (after links) and, for a reference, still holds its recorded bytes.
import { createReadStream } from "node:fs";
import { open, realpath, stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { isAbsolute, relative, sep } from "node:path";
import { fingerprintFile } from "../../job/read-local-files.js";
import { send } from "./reply.js";

/** A file the server may send: inside `root` (no link may lead out of it), or one exact file. */
export interface ServedFile {
  path: string;
  /** The folder the file must really be in (after links), or null for a file named on its own. */
  root: string | null;
  /** For a reference: the content it must still have. */
  sha256?: string;
}

/** Reference hashes by real path, kept across requests: a file is hashed again only when it changes. */
export type Verified = Map<string, { size: number; mtimeMs: number; sha256: string }>;

/** `folder` is the output folder's real path, resolved once rather than per request. */
export async function sendFile(
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
