// Downloads one output file: streamed to a temporary file while hashing, checked against the sizes
// the server announced, fsync'd, then renamed into place. Memory stays flat whatever the file size.
// A file only ever appears under its final name complete and verified; a crash leaves at most a
// temporary file, which the next attempt starts over.
import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, rename, rm, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { setTimeout as delay } from "node:timers/promises";
import { backoffDelay } from "../api/backoff.js";
import type { ApiClient, DownloadOpen } from "../api/types.js";
import { crashPoint } from "../crash-points.js";
import { fsyncDirectory, writeFully } from "../fs/durable.js";
import { OUTPUT_TOO_LARGE } from "../manifest/codes.js";

const MIB = 1024 * 1024;
/** Largest output file accepted by default: an Act-Two render is tens of MB. */
export const DEFAULT_MAX_OUTPUT_MB = 1024;

export interface DownloadOptions {
  api: ApiClient;
  url: string;
  /** GETs the task again for a fresh signed URL (null when it has none). Called when the URL has expired. */
  refreshUrl: () => Promise<string | null>;
  finalPath: string;
  /** Must be unique to this output; its directory is created. */
  tempPath: string;
  /** Attempts that make no progress before giving up (default 5). An attempt that adds bytes does not count. */
  maxAttempts?: number;
  signal?: AbortSignal;
  /** Divides the backoff between attempts (benchmarks and tests at scaled time). Default 1. */
  timeScale?: number;
  /**
   * Largest file accepted, in bytes (default DEFAULT_MAX_OUTPUT_MB MiB): a larger announced size is
   * refused before the body is read, and a body that passes it is cut there; nothing is kept.
   */
  maxBytes?: number;
}

export type DownloadResult =
  | { kind: "ok"; bytes: number; sha256: string }
  /** `code`: actbatch's code for the task's error (manifest/codes.ts); DOWNLOAD_FAILED when absent. */
  | { kind: "failed"; message: string; retryable: boolean; code?: string };

type Received =
  | { kind: "complete"; bytes: number; sha256: string }
  | { kind: "incomplete"; message: string; onDisk: number; progressed: boolean }
  | { kind: "too-large"; message: string };

/** A body that went past the size limit: the sink refuses the chunk that would cross it. */
class OutputTooLarge extends Error {}

function describeLimit(maxBytes: number): string {
  const size = maxBytes % MIB === 0 ? `${maxBytes / MIB} MB` : `${maxBytes.toLocaleString("en-US")} bytes`;
  return `the limit of ${size} per output (--max-output-mb)`;
}

/**
 * Bytes a sink buffers while a write is in flight. Network chunks are 16-64 KiB; writing each with its
 * own call costs a thread-pool round trip per chunk, so chunks that arrive during a write are written
 * together by the next one (one `writev`), and the socket is read ahead by up to this much.
 */
const SINK_HIGH_WATER_MARK = 1024 * 1024;

/**
 * Write-behind: once this many bytes are written and not yet flushed, the sink starts an fdatasync in
 * the background while the body keeps streaming. Without it the kernel keeps a whole file in the page
 * cache (it starts writing back only at 10 % of memory) and the final fsync writes all of it while the
 * download's slot waits and the network idles; with it the disk works during the download, and the
 * final fsync flushes only the tail.
 */
const WRITE_BEHIND_BYTES = 16 * 1024 * 1024;

/**
 * Write-behind flushes in flight in the process. Each holds a libuv thread-pool thread (4 by default)
 * for as long as the disk takes: the cap leaves threads for the downloads' writes and the journal's
 * fsyncs. A sink that finds the cap reached flushes after a later write.
 */
const MAX_WRITE_BEHIND_FLUSHES = 2;
let writeBehindFlushes = 0;

/** A failed fsync: the bytes written may not be on disk, and a later fsync need not say so again. */
class SyncFailure extends Error {
  constructor(cause: unknown) {
    super(describeError(cause), { cause });
  }
}

/** Writes a response body at a position in the temporary file, hashing and counting what was written. */
class FileSink extends Writable {
  written = 0;
  private unflushed = 0;
  private flushing: Promise<void> | null = null;
  private syncFailure: SyncFailure | null = null;

  constructor(
    private readonly file: FileHandle,
    private position: number,
    private readonly hash: Hash,
    private readonly onChunkWritten: () => void,
    /** The file may not grow past this many bytes. */
    private readonly maxBytes: number,
  ) {
    super({ highWaterMark: SINK_HIGH_WATER_MARK });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.writeAll([chunk]).then(() => callback(), callback);
  }

  override _writev(
    chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>,
    callback: (error?: Error | null) => void,
  ): void {
    this.writeAll(chunks.map((entry) => entry.chunk)).then(() => callback(), callback);
  }

  /**
   * Waits for the write-behind flush in flight. Throws if a flush failed: the bytes on disk are then
   * in doubt, and no attempt may continue them.
   */
  async settle(): Promise<void> {
    await this.flushing;
    if (this.syncFailure) throw this.syncFailure;
  }

  /** Waits for the write-behind flush in flight, whatever its outcome (before the file is closed). */
  async quiesce(): Promise<void> {
    await this.flushing;
  }

  private async writeAll(chunks: Buffer[]): Promise<void> {
    if (this.syncFailure) throw this.syncFailure;
    let size = 0;
    for (const chunk of chunks) size += chunk.length;
    if (this.position + size > this.maxBytes) throw new OutputTooLarge();
    // The write runs on the thread pool: hash these bytes meanwhile. A failed write leaves the hash
    // unused (the next attempt rehashes the prefix that is on disk).
    const writing = this.writeBuffers(chunks.filter((chunk) => chunk.length > 0));
    for (const chunk of chunks) this.hash.update(chunk);
    await writing;
    this.onChunkWritten();
    this.writeBehind();
  }

  private writeBehind(): void {
    if (this.unflushed < WRITE_BEHIND_BYTES || this.flushing !== null || this.destroyed) return;
    if (writeBehindFlushes >= MAX_WRITE_BEHIND_FLUSHES) return;
    writeBehindFlushes++;
    this.unflushed = 0;
    this.flushing = this.file
      .datasync()
      .catch((error: unknown) => {
        this.syncFailure ??= new SyncFailure(error);
      })
      .finally(() => {
        writeBehindFlushes--;
        this.flushing = null;
      });
  }

  private async writeBuffers(buffers: Buffer[]): Promise<void> {
    const written = await writeFully(this.file, buffers, this.position);
    this.position += written;
    this.written += written;
    this.unflushed += written;
  }
}

async function hashPrefix(path: string, length: number, hash: Hash): Promise<void> {
  if (length === 0) return;
  for await (const chunk of createReadStream(path, { start: 0, end: length - 1 }))
    hash.update(chunk as Buffer);
}

/**
 * Directory fsyncs, grouped: a caller that arrives while one is running waits for the next, which
 * starts after that one ends (so after the caller's rename) and serves every caller queued meanwhile.
 */
interface QueuedSync {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}
const directorySyncs = new Map<string, { queued: QueuedSync | null }>();

function queuedSync(): QueuedSync {
  const settle: Partial<Pick<QueuedSync, "resolve" | "reject">> = {};
  const promise = new Promise<void>((resolve, reject) => Object.assign(settle, { resolve, reject }));
  return {
    promise,
    resolve: settle.resolve as () => void,
    reject: settle.reject as (error: unknown) => void,
  };
}

/** Makes a rename durable: the directory entry is on disk only once the directory itself is fsync'd. */
function syncDirectory(path: string): Promise<void> {
  const state = directorySyncs.get(path);
  if (state === undefined) {
    directorySyncs.set(path, { queued: null });
    return runDirectorySync(path);
  }
  state.queued ??= queuedSync();
  return state.queued.promise;
}

async function runDirectorySync(path: string): Promise<void> {
  try {
    await fsyncDirectory(path);
  } finally {
    const state = directorySyncs.get(path);
    const next = state?.queued ?? null;
    if (state === undefined || next === null) directorySyncs.delete(path);
    else {
      state.queued = null;
      // The callers queued meanwhile share this fsync's outcome: a failure reaches each of them.
      runDirectorySync(path).then(next.resolve, next.reject);
    }
  }
}

function describeError(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === "string" ? `${code}: ${message}` : message;
}

/**
 * Streams one opened response into the temporary file. A 206 continues the bytes already on disk
 * (whose hash is recomputed from the file, the only copy that is certain); a 200 starts over.
 */
async function receive(
  opened: Extract<DownloadOpen, { kind: "ok" }>,
  onDisk: number,
  tempPath: string,
  expected: { total: number | null },
  signal: AbortSignal | undefined,
  onChunkWritten: () => void,
  maxBytes: number,
): Promise<Received> {
  const start = opened.status === 206 ? onDisk : 0;
  const total = opened.totalSize ?? (opened.contentLength === null ? null : start + opened.contentLength);
  if (total !== null && total > maxBytes) {
    // The same URL will announce the same size: refused before a byte of the body is read.
    opened.body.on("error", () => {}).destroy();
    return {
      kind: "too-large",
      message: `the server announced ${total.toLocaleString("en-US")} bytes, over ${describeLimit(maxBytes)}; nothing was downloaded`,
    };
  }
  if (start > 0 && expected.total !== null && total !== null && total !== expected.total) {
    // The file behind the URL is not the one whose first bytes are on disk: start over.
    opened.body.on("error", () => {}).destroy();
    await rm(tempPath, { force: true });
    return {
      kind: "incomplete",
      message: `the file changed size between attempts (${expected.total} then ${total} bytes)`,
      onDisk: 0,
      progressed: false,
    };
  }
  if (total !== null) expected.total = total;

  const hash = createHash("sha256");
  const file = await open(tempPath, start === 0 ? "w" : "r+");
  let sink: FileSink | null = null;
  try {
    if (start > 0) await hashPrefix(tempPath, start, hash);
    sink = new FileSink(file, start, hash, onChunkWritten, maxBytes);
    let failure: string | null = null;
    try {
      await pipeline(opened.body, sink, signal ? { signal } : {});
    } catch (error) {
      if (error instanceof OutputTooLarge)
        return {
          kind: "too-large",
          message: `the output went past ${describeLimit(maxBytes)}; the download was stopped there and nothing was kept`,
        };
      failure = describeError(error);
    }
    // A failed fsync is not a broken body: the bytes on disk are in doubt, so no attempt continues them.
    await sink.settle();
    const written = sink.written;
    const size = start + written;
    const progressed = written > 0;
    if (failure !== null)
      return { kind: "incomplete", message: `the download broke off: ${failure}`, onDisk: size, progressed };
    if (opened.contentLength !== null && written !== opened.contentLength) {
      return {
        kind: "incomplete",
        message: `got ${written} of ${opened.contentLength} bytes announced by Content-Length`,
        onDisk: size,
        progressed,
      };
    }
    if (total !== null && size !== total) {
      return { kind: "incomplete", message: `got ${size} of ${total} bytes`, onDisk: size, progressed };
    }
    if (size === 0)
      return { kind: "incomplete", message: "the server sent an empty file", onDisk: 0, progressed: false };
    await file.sync();
    return { kind: "complete", bytes: size, sha256: hash.digest("hex") };
  } finally {
    await sink?.quiesce();
    await file.close();
  }
}

/**
 * Downloads `url` to `finalPath` through `tempPath`: retries broken or short bodies (continuing with
 * a Range request where the server supports it), refreshes an expired signed URL through
 * `refreshUrl`, and renames into place only a complete, non-empty, fsync'd file.
 */
export async function downloadOutput(options: DownloadOptions): Promise<DownloadResult> {
  const { api, tempPath, finalPath, signal } = options;
  const maxAttempts = Math.max(1, options.maxAttempts ?? 5);
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_OUTPUT_MB * MIB;
  const scale = options.timeScale !== undefined && options.timeScale > 0 ? options.timeScale : 1;
  const policy = { baseMs: 500 / scale, capMs: 10_000 / scale };
  // Opens are bounded too, so a server that trickles a few bytes per connection cannot loop forever.
  const maxOpens = maxAttempts * 20;
  let url = options.url;
  let failures = 0;
  let lastMessage = "no attempt was made";
  let firstChunk = true;
  const expected: { total: number | null } = { total: null };
  const onChunkWritten = (): void => {
    if (firstChunk) {
      firstChunk = false;
      crashPoint("mid-download");
    }
  };

  try {
    await mkdir(dirname(tempPath), { recursive: true });
    // A temporary file left by an earlier run may belong to another render of this output: never
    // continue it. Resuming is for the attempts of this call, whose bytes are known to be this file's.
    await rm(tempPath, { force: true });
    let onDisk = 0;
    for (let opens = 0; failures < maxAttempts && opens < maxOpens; opens++) {
      if (signal?.aborted) return { kind: "failed", message: "interrupted", retryable: true };
      const opened = await api.openDownload(url, onDisk, signal);
      if (opened.kind === "expired") {
        failures++;
        const fresh = await options.refreshUrl();
        if (fresh === null) {
          return {
            kind: "failed",
            message: `the output URL has expired (HTTP ${opened.status}) and the task offers no fresh one`,
            retryable: false,
          };
        }
        lastMessage = `the output URL expired (HTTP ${opened.status})`;
        url = fresh;
        continue;
      }
      if (opened.kind === "error") {
        lastMessage = opened.message;
        if (!opened.retryable) return { kind: "failed", message: opened.message, retryable: false };
        failures++;
      } else {
        if (opened.status === 200) onDisk = 0;
        const received = await receive(opened, onDisk, tempPath, expected, signal, onChunkWritten, maxBytes);
        if (received.kind === "too-large") {
          // Not retried: the same URL sends the same file.
          await rm(tempPath, { force: true });
          return { kind: "failed", code: OUTPUT_TOO_LARGE, message: received.message, retryable: false };
        }
        if (received.kind === "complete") {
          crashPoint("before-rename");
          await mkdir(dirname(finalPath), { recursive: true });
          await rename(tempPath, finalPath);
          await syncDirectory(dirname(finalPath));
          if (dirname(tempPath) !== dirname(finalPath)) await syncDirectory(dirname(tempPath));
          return { kind: "ok", bytes: received.bytes, sha256: received.sha256 };
        }
        onDisk = received.onDisk;
        lastMessage = received.message;
        if (signal?.aborted) return { kind: "failed", message: "interrupted", retryable: true };
        // A body that broke off after adding bytes is continued at once; one that added nothing waits.
        if (received.progressed) continue;
        failures++;
      }
      if (failures < maxAttempts) {
        try {
          await delay(
            backoffDelay(policy, failures - 1, Math.random),
            undefined,
            signal ? { signal } : undefined,
          );
        } catch {
          return { kind: "failed", message: "interrupted", retryable: true };
        }
      }
    }
    if (onDisk === 0) await rm(tempPath, { force: true });
    return {
      kind: "failed",
      message: `${lastMessage} (gave up after ${failures} failed attempts)`,
      retryable: true,
    };
  } catch (error) {
    return { kind: "failed", message: `download failed: ${describeError(error)}`, retryable: true };
  }
}
