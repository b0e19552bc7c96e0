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
import { isDiskFull } from "../fs/errno.js";
import { DISK_FULL, OUTPUT_TOO_LARGE } from "../manifest/codes.js";
import { SYSTEM_TIMERS, type RunTimers } from "./timers.js";

const MIB = 1024 * 1024;
/** Largest output file accepted by default: an Act-Two render is tens of MB. */
export const DEFAULT_MAX_OUTPUT_MB = 1024;
/**
 * A download that gets no byte beyond the furthest it reached for this long is given up: twice the
 * transport's 60 s body timeout, so that a connection that froze is reconnected once first.
 */
const NO_PROGRESS_MS = 120_000;
/** A scaled deadline never drops below this: a busy test box must not give up a live download. */
const MIN_SCALED_NO_PROGRESS_MS = 4_000;

/** The no-progress deadline of a run whose clock goes `timeScale` times faster than real time. */
export function noProgressDeadlineMs(timeScale: number): number {
  return Math.max(MIN_SCALED_NO_PROGRESS_MS, NO_PROGRESS_MS / timeScale);
}

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
  /**
   * Longest time without a byte beyond the furthest one reached (bytes sent again after a restart are
   * not progress) before the download is given up. @defaultValue noProgressDeadlineMs(timeScale)
   */
  noProgressMs?: number;
  /** The timer of the no-progress deadline (tests drive it by hand). @defaultValue the process's own */
  timers?: Pick<RunTimers, "elapsed" | "setTimeout" | "clearTimeout">;
}

export type DownloadResult =
  | { kind: "ok"; bytes: number; sha256: string }
  /** `code`: actbatch's code for the task's error (manifest/codes.ts); DOWNLOAD_FAILED when absent. */
  | { kind: "failed"; message: string; retryable: boolean; code?: string };

type Received =
  | { kind: "complete"; bytes: number; sha256: string }
  | { kind: "incomplete"; message: string; onDisk: number }
  | { kind: "too-large"; message: string }
  | { kind: "disk-full"; message: string };

/** A body that went past the size limit: the sink refuses the chunk that would cross it. */
class OutputTooLarge extends Error {}

/**
 * The no-progress deadline of one download, across its connections, backoffs and refreshes: aborts
 * `signal` once `limitMs` pass without `progress()`. One timer, re-armed only when it fires.
 */
class ProgressWatch {
  private readonly controller = new AbortController();
  readonly signal = this.controller.signal;
  private last: number;
  private timer: unknown;

  constructor(
    private readonly timers: Pick<RunTimers, "elapsed" | "setTimeout" | "clearTimeout">,
    readonly limitMs: number,
  ) {
    this.last = timers.elapsed();
    this.timer = timers.setTimeout(() => this.check(), limitMs);
  }

  get stalled(): boolean {
    return this.signal.aborted;
  }

  progress(): void {
    this.last = this.timers.elapsed();
  }

  stop(): void {
    this.timers.clearTimeout(this.timer);
  }

  private check(): void {
    const idle = this.timers.elapsed() - this.last;
    if (idle >= this.limitMs) this.controller.abort(new Error("no progress"));
    else this.timer = this.timers.setTimeout(() => this.check(), this.limitMs - idle);
  }
}

function interrupted(): DownloadResult {
  return { kind: "failed", message: "interrupted", retryable: true };
}

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(ms < 10_000 ? 1 : 0))} s`;
}

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
function diskFullText(error: unknown): string {
  return `not downloaded: no space left where the output folder is (${describeError(error)})`;
}

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
    /** Called with the file's size after each write. */
    private readonly onChunkWritten: (size: number) => void,
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
    this.onChunkWritten(this.position);
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
  signal: AbortSignal,
  onChunkWritten: (size: number) => void,
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
      await pipeline(opened.body, sink, { signal });
    } catch (error) {
      if (error instanceof OutputTooLarge)
        return {
          kind: "too-large",
          message: `the output went past ${describeLimit(maxBytes)}; the download was stopped there and nothing was kept`,
        };
      if (isDiskFull(error)) return { kind: "disk-full", message: diskFullText(error) };
      failure = describeError(error);
    }
    // A failed fsync is not a broken body: the bytes on disk are in doubt, so no attempt continues them.
    await sink.settle();
    const written = sink.written;
    const size = start + written;
    if (failure !== null)
      return { kind: "incomplete", message: `the download broke off: ${failure}`, onDisk: size };
    if (opened.contentLength !== null && written !== opened.contentLength) {
      return {
        kind: "incomplete",
        message: `got ${written} of ${opened.contentLength} bytes announced by Content-Length`,
        onDisk: size,
      };
    }
    if (total !== null && size !== total) {
      return { kind: "incomplete", message: `got ${size} of ${total} bytes`, onDisk: size };
    }
    if (size === 0) return { kind: "incomplete", message: "the server sent an empty file", onDisk: 0 };
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
 * `refreshUrl`, and renames into place only a complete, non-empty, fsync'd file. Gives up after
 * `maxAttempts` attempts that reach no byte beyond the furthest one so far, or `noProgressMs` without
 * such a byte, saying why.
 */
export async function downloadOutput(options: DownloadOptions): Promise<DownloadResult> {
  const { api, tempPath, finalPath } = options;
  const maxAttempts = Math.max(1, options.maxAttempts ?? 5);
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_OUTPUT_MB * MIB;
  const scale = options.timeScale !== undefined && options.timeScale > 0 ? options.timeScale : 1;
  const policy = { baseMs: 500 / scale, capMs: 10_000 / scale, floorMs: 250 / scale };
  const watch = new ProgressWatch(
    options.timers ?? SYSTEM_TIMERS,
    options.noProgressMs ?? noProgressDeadlineMs(scale),
  );
  const signal = options.signal ? AbortSignal.any([options.signal, watch.signal]) : watch.signal;
  // Opens are bounded too, so a server that adds a few bytes per connection cannot loop forever.
  const maxOpens = maxAttempts * 20;
  let url = options.url;
  let failures = 0;
  let opens = 0;
  let lastMessage: string | null = null;
  let firstChunk = true;
  // The furthest byte any attempt reached: a server that starts over sends nothing new until past it.
  let furthest = 0;
  // The last Range request was answered from byte 0.
  let rangeIgnored = false;
  const expected: { total: number | null } = { total: null };
  const onChunkWritten = (size: number): void => {
    if (firstChunk) {
      firstChunk = false;
      crashPoint("mid-download");
    }
    if (size > furthest) {
      furthest = size;
      watch.progress();
    }
  };
  /** Why the download made no progress, in the words of what the server did. */
  const stuck = (): string => {
    if (rangeIgnored)
      return `the server ignores Range (each attempt starts over at byte 0) and stalls at byte ${furthest}`;
    if (furthest === 0) return "no byte of the file arrived";
    const of = expected.total === null ? "" : ` of ${expected.total}`;
    return `the download stalled at byte ${furthest}${of}`;
  };
  // No later call continues these bytes (see the rm below): a download given up keeps nothing.
  const gaveUp = async (why: string): Promise<DownloadResult> => {
    await rm(tempPath, { force: true });
    return { kind: "failed", message: why, retryable: true };
  };
  const stalled = (): Promise<DownloadResult> => {
    const last = lastMessage === null ? "" : `; last attempt: ${lastMessage}`;
    return gaveUp(`${stuck()}: no progress for ${formatSeconds(watch.limitMs)}${last}`);
  };

  let onDisk = 0;
  try {
    await mkdir(dirname(tempPath), { recursive: true });
    // A temporary file left by an earlier run may belong to another render of this output: never
    // continue it. Resuming is for the attempts of this call, whose bytes are known to be this file's.
    await rm(tempPath, { force: true });
    for (; failures < maxAttempts && opens < maxOpens; opens++) {
      if (options.signal?.aborted) return interrupted();
      if (watch.stalled) return await stalled();
      const opened = await api.openDownload(url, onDisk, signal);
      if (options.signal?.aborted) return interrupted();
      if (watch.stalled) return await stalled();
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
        if (onDisk > 0) rangeIgnored = opened.status === 200;
        if (opened.status === 200) onDisk = 0;
        const before = furthest;
        const received = await receive(opened, onDisk, tempPath, expected, signal, onChunkWritten, maxBytes);
        if (received.kind === "disk-full") {
          // Not retried: writing again fills the same disk. The run stops; a rerun with space fetches it.
          await rm(tempPath, { force: true });
          return { kind: "failed", code: DISK_FULL, message: received.message, retryable: false };
        }
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
        if (options.signal?.aborted) return interrupted();
        if (watch.stalled) return await stalled();
        lastMessage = received.message;
        // A body that broke off past the furthest byte so far is continued at once; any other waits.
        if (furthest > before) continue;
        failures++;
      }
      if (failures < maxAttempts) {
        try {
          await delay(backoffDelay(policy, failures - 1, Math.random), undefined, { signal });
        } catch {
          if (options.signal?.aborted) return interrupted();
          return await stalled();
        }
      }
    }
    const why = rangeIgnored || furthest > 0 ? `${stuck()}; last attempt: ${lastMessage}` : `${lastMessage}`;
    return await gaveUp(
      failures >= maxAttempts
        ? `${why} (gave up after ${failures} attempts without progress)`
        : `${why} (gave up after ${opens} connections without completing the file)`,
    );
  } catch (error) {
    if (isDiskFull(error)) {
      await rm(tempPath, { force: true });
      return { kind: "failed", code: DISK_FULL, message: diskFullText(error), retryable: false };
    }
    return { kind: "failed", message: `download failed: ${describeError(error)}`, retryable: true };
  } finally {
    watch.stop();
  }
}
