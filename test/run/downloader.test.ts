// The downloader over real loopback sockets: truncated bodies, Range resume, expired URLs, empty files.
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, readdir, rm, stat } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createApiClient } from "../../src/api/client.js";
import type { ApiClient } from "../../src/api/types.js";
import { downloadOutput, noProgressDeadlineMs } from "../../src/run/downloader.js";
import { manualTimers } from "../helpers/manual-timers.js";
import {
  startScriptedServer,
  type RecordedRequest,
  type ScriptedServer,
} from "../helpers/scripted-server.js";

const FILE = randomBytes(256 * 1024 + 17);
const SHA = createHash("sha256").update(FILE).digest("hex");

let dir: string;
const cleanups: Array<() => Promise<void>> = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "actbatch-download-"));
});

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
  await rm(dir, { recursive: true, force: true });
});

async function serve(
  handler: (req: RecordedRequest, res: ServerResponse, index: number) => void,
): Promise<ScriptedServer> {
  const server = await startScriptedServer((req, res, _raw, index) => handler(req, res, index));
  cleanups.push(() => server.close());
  return server;
}

function apiClient(): ApiClient {
  const client = createApiClient({
    provider: "cometapi",
    baseUrl: "http://127.0.0.1:9/runwayml",
    apiKey: "sk-test-key-for-downloads-0000000000",
    concurrency: 2,
    sleep: async () => {},
  });
  cleanups.push(() => client.close());
  return client;
}

/** Serves FILE, honouring `Range: bytes=N-` when `ranges` is true. */
/** Resolves once `path` holds `bytes` bytes (or after 5 s): the client has written what it was sent. */
async function untilFileHas(path: string, bytes: number): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    const size = await stat(path).then(
      (info) => info.size,
      () => 0,
    );
    if (size >= bytes) return;
    await delay(5);
  }
}

function sendFile(
  req: RecordedRequest,
  res: ServerResponse,
  ranges: boolean,
  cutAt?: number,
  beforeCut: () => Promise<unknown> = () => delay(10),
): void {
  const match = /^bytes=(\d+)-$/.exec(String(req.headers.range ?? ""));
  const start = ranges && match ? Number(match[1]) : 0;
  const headers: Record<string, string> = {
    "content-type": "video/mp4",
    "content-length": String(FILE.length - start),
  };
  if (ranges) headers["accept-ranges"] = "bytes";
  if (start > 0) headers["content-range"] = `bytes ${start}-${FILE.length - 1}/${FILE.length}`;
  res.writeHead(start > 0 ? 206 : 200, headers);
  if (cutAt === undefined) {
    res.end(FILE.subarray(start));
    return;
  }
  // Send part of the body, then drop the connection: a truncated download.
  res.write(FILE.subarray(start, cutAt), () => {
    void beforeCut().then(() => res.socket?.destroy());
  });
}

function paths(name = "out/hero/ei3-s1.mp4") {
  return {
    finalPath: join(dir, name),
    tempPath: join(dir, ".actbatch", "tmp", `${name.replaceAll("/", "_")}.part`),
  };
}

describe("downloadOutput", () => {
  it("streams the file into place with its size and sha256, leaving no temporary file", async () => {
    const cdn = await serve((req, res) => sendFile(req, res, true));
    const target = paths();
    const result = await downloadOutput({
      api: apiClient(),
      url: `${cdn.origin}/o.mp4?_jwt=x`,
      refreshUrl: async () => null,
      ...target,
    });
    expect(result).toEqual({ kind: "ok", bytes: FILE.length, sha256: SHA });
    expect((await readFile(target.finalPath)).equals(FILE)).toBe(true);
    expect(existsSync(target.tempPath)).toBe(false);
  });

  it("a body cut short is resumed with Range from the bytes on disk", async () => {
    const half = 100_000;
    const target = paths();
    // The connection drops only once the client has the first half on disk, so the resume point is exact.
    const cdn = await serve((req, res, index) =>
      sendFile(req, res, true, index === 0 ? half : undefined, () => untilFileHas(target.tempPath, half)),
    );
    const result = await downloadOutput({
      api: apiClient(),
      url: `${cdn.origin}/o.mp4`,
      refreshUrl: async () => null,
      ...target,
    });
    expect(result).toEqual({ kind: "ok", bytes: FILE.length, sha256: SHA });
    expect((await readFile(target.finalPath)).equals(FILE)).toBe(true);
    expect(cdn.requests.map((r) => r.headers.range ?? null)).toEqual([null, `bytes=${half}-`]);
  });

  it("checks the complete file once, while it is open, after a resume too, and returns the checks", async () => {
    const half = 100_000;
    const target = paths();
    const cdn = await serve((req, res, index) =>
      sendFile(req, res, true, index === 0 ? half : undefined, () => untilFileHas(target.tempPath, half)),
    );
    const seen: string[] = [];
    const result = await downloadOutput({
      api: apiClient(),
      url: `${cdn.origin}/o.mp4`,
      refreshUrl: async () => null,
      ...target,
      check: async (file, size) => {
        const { buffer } = await file.read(Buffer.alloc(size), 0, size, 0);
        seen.push(createHash("sha256").update(buffer).digest("hex"));
        return [{ name: "mp4", ok: true }];
      },
    });
    expect(result).toEqual({
      kind: "ok",
      bytes: FILE.length,
      sha256: SHA,
      checks: [{ name: "mp4", ok: true }],
    });
    expect(seen).toEqual([SHA]);
  });

  it("a file of tens of MiB, cut and resumed past the background flushes, arrives whole", async () => {
    const big = randomBytes(40 * 1024 * 1024 + 3);
    const bigSha = createHash("sha256").update(big).digest("hex");
    const cut = 24 * 1024 * 1024 + 5;
    const target = paths();
    const cdn = await serve((req, res, index) => {
      const match = /^bytes=(\d+)-$/.exec(String(req.headers.range ?? ""));
      const start = match ? Number(match[1]) : 0;
      res.writeHead(start > 0 ? 206 : 200, {
        "content-length": String(big.length - start),
        "accept-ranges": "bytes",
        ...(start > 0 && { "content-range": `bytes ${start}-${big.length - 1}/${big.length}` }),
      });
      if (index > 0) {
        res.end(big.subarray(start));
        return;
      }
      res.write(big.subarray(0, cut), () => {
        void untilFileHas(target.tempPath, cut).then(() => res.socket?.destroy());
      });
    });
    const result = await downloadOutput({
      api: apiClient(),
      url: `${cdn.origin}/o.mp4`,
      refreshUrl: async () => null,
      ...target,
    });
    expect(result).toEqual({ kind: "ok", bytes: big.length, sha256: bigSha });
    expect((await readFile(target.finalPath)).equals(big)).toBe(true);
    expect(cdn.requests.map((r) => r.headers.range ?? null)).toEqual([null, `bytes=${cut}-`]);
  });

  it("a server without Range support starts over and still ends with the right bytes", async () => {
    const cdn = await serve((req, res, index) =>
      sendFile(req, res, false, index < 2 ? 50_000 * (index + 1) : undefined),
    );
    const target = paths();
    const result = await downloadOutput({
      api: apiClient(),
      url: `${cdn.origin}/o.mp4`,
      refreshUrl: async () => null,
      ...target,
    });
    expect(result).toEqual({ kind: "ok", bytes: FILE.length, sha256: SHA });
    expect((await readFile(target.finalPath)).equals(FILE)).toBe(true);
    expect(cdn.requests).toHaveLength(3);
  });

  it("a body shorter than its Content-Length that ends cleanly is not accepted", async () => {
    let calls = 0;
    const cdn = await serve((_req, res) => {
      calls++;
      // Announces the whole file, sends a tenth of it and closes: a lying or broken server.
      res.writeHead(200, { "content-length": String(FILE.length), connection: "close" });
      res.end(FILE.subarray(0, FILE.length / 10));
    });
    const target = paths();
    const result = await downloadOutput({
      api: apiClient(),
      url: `${cdn.origin}/o.mp4`,
      refreshUrl: async () => null,
      maxAttempts: 2,
      timeScale: 1000,
      ...target,
    });
    expect(result.kind).toBe("failed");
    expect(result.kind === "failed" && result.retryable).toBe(true);
    expect(existsSync(target.finalPath)).toBe(false);
    expect(calls).toBeGreaterThanOrEqual(2);
  });

  it("an expired URL is refreshed through the task and the fresh one is used", async () => {
    const cdn = await serve((req, res) => {
      if (req.url.includes("sig=old")) {
        res.writeHead(403, { "content-type": "application/xml" });
        res.end("<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>");
      } else sendFile(req, res, true);
    });
    const target = paths();
    let refreshes = 0;
    const result = await downloadOutput({
      api: apiClient(),
      url: `${cdn.origin}/o.mp4?sig=old`,
      refreshUrl: async () => {
        refreshes++;
        return `${cdn.origin}/o.mp4?sig=new`;
      },
      ...target,
    });
    expect(result).toEqual({ kind: "ok", bytes: FILE.length, sha256: SHA });
    expect(refreshes).toBe(1);
    expect(cdn.requests.map((r) => r.url)).toEqual(["/o.mp4?sig=old", "/o.mp4?sig=new"]);
  });

  it("an expired URL with no fresh one is a final failure, and nothing reaches the final path", async () => {
    const cdn = await serve((_req, res) => {
      res.writeHead(404);
      res.end();
    });
    const target = paths();
    const result = await downloadOutput({
      api: apiClient(),
      url: `${cdn.origin}/o.mp4`,
      refreshUrl: async () => null,
      ...target,
    });
    expect(result).toMatchObject({ kind: "failed", retryable: false });
    expect(existsSync(target.finalPath)).toBe(false);
  });

  it("a zero-byte answer never reaches the final path", async () => {
    const cdn = await serve((_req, res) => {
      res.writeHead(200, { "content-length": "0" });
      res.end();
    });
    const target = paths();
    const result = await downloadOutput({
      api: apiClient(),
      url: `${cdn.origin}/o.mp4`,
      refreshUrl: async () => null,
      maxAttempts: 2,
      timeScale: 1000,
      ...target,
    });
    expect(result.kind).toBe("failed");
    expect(result.kind === "failed" && result.message).toContain("empty file");
    expect(existsSync(target.finalPath)).toBe(false);
    expect(existsSync(target.tempPath)).toBe(false);
  });

  it("a persistent server error gives up, retryable, with the status in the message", async () => {
    const cdn = await serve((_req, res) => {
      res.writeHead(500);
      res.end("boom");
    });
    const target = paths();
    const result = await downloadOutput({
      api: apiClient(),
      url: `${cdn.origin}/o.mp4?sig=secret-token`,
      refreshUrl: async () => null,
      maxAttempts: 2,
      timeScale: 1000,
      ...target,
    });
    expect(result).toMatchObject({ kind: "failed", retryable: true });
    expect(result.kind === "failed" && result.message).toContain("HTTP 500");
    expect(result.kind === "failed" && result.message).not.toContain("secret-token");
    expect(existsSync(target.finalPath)).toBe(false);
  });

  it("never continues a temporary file left by an earlier run", async () => {
    const cdn = await serve((req, res) => sendFile(req, res, true));
    const target = paths();
    const { mkdir, writeFile } = await import("node:fs/promises");
    await mkdir(join(dir, ".actbatch", "tmp"), { recursive: true });
    // Another render's bytes, longer than this output: a file opened without truncating keeps a tail.
    await writeFile(target.tempPath, Buffer.alloc(FILE.length + 5000, 7));
    const result = await downloadOutput({
      api: apiClient(),
      url: `${cdn.origin}/o.mp4`,
      refreshUrl: async () => null,
      ...target,
    });
    expect(result).toEqual({ kind: "ok", bytes: FILE.length, sha256: SHA });
    expect(cdn.requests[0]?.headers.range).toBeUndefined();
    expect((await readFile(target.finalPath)).equals(FILE)).toBe(true);
  });

  it("an abort stops the download without a final file", async () => {
    const controller = new AbortController();
    const cdn = await serve((_req, res) => {
      res.writeHead(200, { "content-length": String(FILE.length) });
      res.write(FILE.subarray(0, 1000), () => controller.abort());
    });
    const target = paths();
    const result = await downloadOutput({
      api: apiClient(),
      url: `${cdn.origin}/o.mp4`,
      refreshUrl: async () => null,
      signal: controller.signal,
      ...target,
    });
    expect(result).toEqual({ kind: "failed", message: "interrupted", retryable: true });
    expect(existsSync(target.finalPath)).toBe(false);
  });

  it("creates the directories of both paths", async () => {
    const cdn = await serve((req, res) => sendFile(req, res, true));
    const target = paths("a/b/c/deep.mp4");
    const result = await downloadOutput({
      api: apiClient(),
      url: `${cdn.origin}/o.mp4`,
      refreshUrl: async () => null,
      ...target,
    });
    expect(result.kind).toBe("ok");
    expect(await readdir(join(dir, "a", "b", "c"))).toEqual(["deep.mp4"]);
  });
});

/** Sends 64 KiB chunks for as long as the client reads them: a file with no end and no Content-Length. */
function sendForever(res: ServerResponse, sent: { bytes: number }): void {
  res.writeHead(200, { "content-type": "video/mp4" });
  const chunk = Buffer.alloc(64 * 1024, 7);
  const pump = (): void => {
    while (!res.destroyed) {
      sent.bytes += chunk.length;
      if (!res.write(chunk)) {
        res.once("drain", pump);
        return;
      }
    }
  };
  pump();
}

describe("downloadOutput: the size limit (--max-output-mb)", () => {
  const MB = 1024 * 1024;

  it("a body without Content-Length that runs past the limit is cut there: OUTPUT_TOO_LARGE naming the limit, nothing kept, not retried", async () => {
    const sent = { bytes: 0 };
    const cdn = await serve((_req, res) => sendForever(res, sent));
    const target = paths();
    const result = await downloadOutput({
      api: apiClient(),
      url: `${cdn.origin}/o.mp4`,
      refreshUrl: async () => null,
      maxBytes: 2 * MB,
      timeScale: 1000,
      ...target,
    });
    expect(result).toMatchObject({ kind: "failed", code: "OUTPUT_TOO_LARGE", retryable: false });
    expect(result.kind === "failed" && result.message).toContain(
      "the limit of 2 MB per output (--max-output-mb)",
    );
    expect(cdn.requests).toHaveLength(1);
    expect(existsSync(target.finalPath)).toBe(false);
    expect(existsSync(target.tempPath)).toBe(false);
    // The server's writes run ahead of what the client reads by its socket buffers, not by the file.
    expect(sent.bytes).toBeLessThan(64 * MB);
  });

  it("a Content-Length above the limit is refused before the body is read, with the announced size", async () => {
    const cdn = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "video/mp4", "content-length": "3400000000" });
      res.write(Buffer.alloc(1000, 7)); // and then nothing: only the headers may be waited for
    });
    const target = paths();
    const result = await downloadOutput({
      api: apiClient(),
      url: `${cdn.origin}/o.mp4`,
      refreshUrl: async () => null,
      maxBytes: 1024 * MB,
      ...target,
    });
    expect(result).toEqual({
      kind: "failed",
      code: "OUTPUT_TOO_LARGE",
      retryable: false,
      message:
        "the server announced 3,400,000,000 bytes, over the limit of 1024 MB per output (--max-output-mb); nothing was downloaded",
    });
    expect(cdn.requests).toHaveLength(1);
    expect(existsSync(target.tempPath)).toBe(false);
  });

  it("a file of exactly the limit is kept, one byte more is not", async () => {
    const cdn = await serve((req, res) => sendFile(req, res, true));
    const download = (maxBytes: number, name: string) =>
      downloadOutput({
        api: apiClient(),
        url: `${cdn.origin}/o.mp4`,
        refreshUrl: async () => null,
        maxBytes,
        ...paths(name),
      });
    expect(await download(FILE.length, "exact.mp4")).toEqual({ kind: "ok", bytes: FILE.length, sha256: SHA });
    expect(await download(FILE.length - 1, "over.mp4")).toMatchObject({
      kind: "failed",
      code: "OUTPUT_TOO_LARGE",
      message: expect.stringContaining(
        `the limit of ${(FILE.length - 1).toLocaleString("en-US")} bytes per output`,
      ),
    });
    expect(existsSync(paths("over.mp4").finalPath)).toBe(false);
  });
});

/** Resolves once `path` holds exactly `bytes` bytes (a restarted file passing through that size). */
async function untilFileIs(path: string, bytes: number): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    const size = await stat(path).then(
      (info) => info.size,
      () => -1,
    );
    if (size === bytes) return;
    await delay(5);
  }
}

/** Announces the whole FILE with a 200 whatever Range asked, sends its first `bytes` bytes, then `after`. */
function sendHead(res: ServerResponse, bytes: number, after: () => void = () => {}): void {
  res.writeHead(200, { "content-type": "video/mp4", "content-length": String(FILE.length) });
  res.write(FILE.subarray(0, bytes), after);
}

describe("downloadOutput: a download that makes no progress", () => {
  it("a server that sends 1,000 bytes and then nothing is given up after the no-progress deadline, which says so", async () => {
    const timers = manualTimers();
    const cdn = await serve((_req, res) => sendHead(res, 1000));
    const target = paths();
    const pending = downloadOutput({
      api: apiClient(),
      url: `${cdn.origin}/o.mp4`,
      refreshUrl: async () => null,
      timers,
      ...target,
    });
    let settled = false;
    void pending.finally(() => (settled = true));
    await untilFileHas(target.tempPath, 1000);
    await timers.advance(119_999);
    expect(settled).toBe(false);
    // The 1,000th byte's write may be counted a moment after the file shows it: at most one more period.
    await timers.advance(1);
    if (!settled) await timers.advance(120_000);
    expect(await pending).toEqual({
      kind: "failed",
      message: `the download stalled at byte 1000 of ${FILE.length}: no progress for 120 s`,
      retryable: true,
    });
    expect(existsSync(target.finalPath)).toBe(false);
    expect(existsSync(target.tempPath)).toBe(false);
    expect(timers.pending()).toBe(0);
  });

  it("a server that ignores Range and stalls: the bytes it sends again are not progress, and the message says what it does", async () => {
    const timers = manualTimers();
    const target = paths();
    const cdn = await serve((_req, res, index) => {
      // The first connection breaks off after 1,000 bytes (as a body timeout would end it); the next
      // one answers the Range request from byte 0 and stalls before reaching byte 1,000 again.
      if (index === 0)
        sendHead(res, 1000, () => void untilFileHas(target.tempPath, 1000).then(() => res.socket?.destroy()));
      else sendHead(res, 600);
    });
    const pending = downloadOutput({
      api: apiClient(),
      url: `${cdn.origin}/o.mp4`,
      refreshUrl: async () => null,
      timers,
      ...target,
    });
    await untilFileIs(target.tempPath, 600);
    await timers.advance(120_000);
    const result = await pending;
    expect(result).toMatchObject({ kind: "failed", retryable: true });
    expect(result.kind === "failed" && result.message).toMatch(
      /^the server ignores Range \(each attempt starts over at byte 0\) and stalls at byte 1000: no progress for 120 s; last attempt: the download broke off/,
    );
    expect(cdn.requests.map((r) => r.headers.range ?? null)).toEqual([null, "bytes=1000-"]);
  });

  it("a server that ignores Range and breaks off at the same byte each time is given up after maxAttempts connections, not 20 times as many", async () => {
    const target = paths();
    const cdn = await serve((_req, res) =>
      sendHead(res, 1000, () => void untilFileHas(target.tempPath, 1000).then(() => res.socket?.destroy())),
    );
    const result = await downloadOutput({
      api: apiClient(),
      url: `${cdn.origin}/o.mp4`,
      refreshUrl: async () => null,
      maxAttempts: 3,
      timeScale: 1000,
      ...target,
    });
    expect(result).toMatchObject({ kind: "failed", retryable: true });
    const message = result.kind === "failed" ? result.message : "";
    expect(message).toMatch(
      /^the server ignores Range \(each attempt starts over at byte 0\) and stalls at byte 1000; last attempt: /,
    );
    expect(message).toMatch(/\(gave up after 3 attempts without progress\)$/);
    // One connection that made progress, then three that did not.
    expect(cdn.requests).toHaveLength(4);
    expect(cdn.requests[1]?.headers.range).toBe("bytes=1000-");
    expect(existsSync(target.tempPath)).toBe(false);
  });

  it("a file sent slowly but steadily is not given up, however long it takes in all", async () => {
    const timers = manualTimers();
    const target = paths();
    const step = 50_000;
    const cdn = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "video/mp4", "content-length": String(FILE.length) });
      // Each piece comes 50 s (by the test's clock) after the one before: under the deadline each time
      // (even if a piece's write is counted one step late), 300 s in all.
      const send = (from: number): void => {
        res.write(FILE.subarray(from, from + step), () => {
          if (from + step >= FILE.length) return void res.end();
          void untilFileHas(target.tempPath, from + step)
            .then(() => timers.advance(50_000))
            .then(() => send(from + step));
        });
      };
      send(0);
    });
    const result = await downloadOutput({
      api: apiClient(),
      url: `${cdn.origin}/o.mp4`,
      refreshUrl: async () => null,
      timers,
      ...target,
    });
    expect(result).toEqual({ kind: "ok", bytes: FILE.length, sha256: SHA });
  });

  it("the deadline follows the run's time scale, with a floor for busy machines", () => {
    expect([1, 10, 100, 1000].map(noProgressDeadlineMs)).toEqual([120_000, 12_000, 4_000, 4_000]);
  });
});

// Spawns the built downloader (dist/) in its own process, killed at a named crash point.
const downloaderModule = new URL("../../dist/run/downloader.js", import.meta.url).href;
const clientModule = new URL("../../dist/api/client.js", import.meta.url).href;

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function downloadInChild(url: string, finalPath: string, tempPath: string, crashAt: string) {
  const script = `
    const { downloadOutput } = await import(${JSON.stringify(downloaderModule)});
    const { createApiClient } = await import(${JSON.stringify(clientModule)});
    const api = createApiClient({ provider: "cometapi", baseUrl: "http://127.0.0.1:9", apiKey: "k", concurrency: 1 });
    const result = await downloadOutput({ api, url: ${JSON.stringify(url)}, refreshUrl: async () => null,
      finalPath: ${JSON.stringify(finalPath)}, tempPath: ${JSON.stringify(tempPath)} });
    console.log(JSON.stringify(result));
    await api.close();
  `;
  return new Promise<ChildResult>((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      env: { ...process.env, ACTBATCH_CRASH_AT: crashAt },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

describe("downloadOutput killed at a crash point", () => {
  it("mid-download: only a partial temporary file is left, and the next attempt completes", async () => {
    // Trickle the body so the kill lands while most of it is still to come.
    const cdn = await serve((_req, res) => {
      res.writeHead(200, { "content-length": String(FILE.length) });
      res.write(FILE.subarray(0, 4096));
      const timer = setTimeout(() => res.end(FILE.subarray(4096)), 2_000);
      res.on("close", () => clearTimeout(timer));
    });
    const target = paths();
    const child = await downloadInChild(
      `${cdn.origin}/o.mp4`,
      target.finalPath,
      target.tempPath,
      "mid-download",
    );
    expect(child.signal).toBe("SIGKILL");
    expect(existsSync(target.finalPath)).toBe(false);
    const partial = await readFile(target.tempPath);
    expect(partial.length).toBeGreaterThan(0);
    expect(partial.length).toBeLessThan(FILE.length);

    const again = await downloadOutput({
      api: apiClient(),
      url: `${cdn.origin}/o.mp4`,
      refreshUrl: async () => null,
      ...target,
    });
    expect(again).toEqual({ kind: "ok", bytes: FILE.length, sha256: SHA });
    expect((await readFile(target.finalPath)).equals(FILE)).toBe(true);
  });

  it("before-rename: the complete file is in the temporary file only, never half in place", async () => {
    const cdn = await serve((req, res) => sendFile(req, res, true));
    const target = paths();
    const child = await downloadInChild(
      `${cdn.origin}/o.mp4`,
      target.finalPath,
      target.tempPath,
      "before-rename",
    );
    expect(child.signal).toBe("SIGKILL");
    expect(existsSync(target.finalPath)).toBe(false);
    expect((await readFile(target.tempPath)).equals(FILE)).toBe(true);
  });

  it("without a crash point the child completes (the harness itself works)", async () => {
    const cdn = await serve((req, res) => sendFile(req, res, true));
    const target = paths();
    const child = await downloadInChild(`${cdn.origin}/o.mp4`, target.finalPath, target.tempPath, "");
    expect(child.stderr).toBe("");
    expect(child.code).toBe(0);
    expect(JSON.parse(child.stdout)).toEqual({ kind: "ok", bytes: FILE.length, sha256: SHA });
  });
});
