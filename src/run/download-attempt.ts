// One attempt of a download: an opened response written into the temporary file while hashing
// (continuing the bytes already there after a 206), in batches with write-behind flushes, and what
// the attempt came to: complete, incomplete (how much is on disk), too large, or a full disk.
import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, rm, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import type { DownloadOpen } from "../api/types.js";
import type { ManifestOutputCheck } from "../manifest/types.js";
import { writeFully } from "../fs/durable.js";
import { hasErrnoCode, isDiskFull } from "../fs/errno.js";

const MIB = 1024 * 1024;

export type Received =
  | { kind: "complete"; bytes: number; sha256: string; checks?: ManifestOutputCheck[] }
  | { kind: "incomplete"; message: string; onDisk: number }
  | { kind: "too-large"; message: string }
  | { kind: "disk-full"; message: string };

/** A body that went past the size limit: the sink refuses the chunk that would cross it. */
class OutputTooLarge extends Error {}

function describeLimit(maxBytes: number): string {
  const size = maxBytes % MIB === 0 ? `${maxBytes / MIB} MB` : `${maxBytes.toLocaleString("en-US")} bytes`;
  return `the limit of ${size} per output (--max-output-mb)`;
}

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

export function diskFullText(error: unknown): string {
  return `not downloaded: no space left where the output folder is (${describeError(error)})`;
}

/** A failed fsync: the bytes written may not be on disk, and a later fsync need not say so again. */
class SyncFailure extends Error {
  constructor(cause: unknown) {
    super(describeError(cause), { cause });
  }
}

/**
 * Writes a response body at a position in the temporary file, hashing and counting what was written.
 * The chunks that arrive while a write is in flight are written together by the next one (one
 * `writev`): a thread-pool round trip per network chunk would cost more than the chunk.
 */
class FileSink {
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
  ) {}

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

  async write(chunks: Buffer[]): Promise<void> {
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
    if (this.unflushed < WRITE_BEHIND_BYTES || this.flushing !== null) return;
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

/**
 * Opens the temporary file: truncated when the body starts at byte 0 (so a file left by an earlier
 * run, which may belong to another render of this output, is never continued), for update when it
 * continues the bytes on disk; readable too, for the check of the complete file. Its folder is made
 * only when it is missing: one thread-pool round trip fewer per output in the common case.
 */
async function openTemporaryFile(tempPath: string, start: number): Promise<FileHandle> {
  if (start > 0) return open(tempPath, "r+");
  try {
    return await open(tempPath, "w+");
  } catch (error) {
    if (!hasErrnoCode(error, "ENOENT")) throw error;
    await mkdir(dirname(tempPath), { recursive: true });
    return open(tempPath, "w+");
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
export function describeError(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === "string" ? `${code}: ${message}` : message;
}

/**
 * Streams one opened response into the temporary file. A 206 continues the bytes already on disk
 * (whose hash is recomputed from the file, the only copy that is certain); a 200 starts over.
 */
export async function receive(
  opened: Extract<DownloadOpen, { kind: "ok" }>,
  onDisk: number,
  tempPath: string,
  expected: { total: number | null },
  signal: AbortSignal,
  onChunkWritten: (size: number) => void,
  maxBytes: number,
  /** Checks the complete file before it is closed. */
  check?: (file: FileHandle, size: number) => Promise<ManifestOutputCheck[]>,
): Promise<Received> {
  const start = opened.status === 206 ? onDisk : 0;
  const total = opened.totalSize ?? (opened.contentLength === null ? null : start + opened.contentLength);
  if (total !== null && total > maxBytes) {
    // The same URL will announce the same size: refused before a byte of the body is read.
    opened.body.discard();
    return {
      kind: "too-large",
      message: `the server announced ${total.toLocaleString("en-US")} bytes, over ${describeLimit(maxBytes)}; nothing was downloaded`,
    };
  }
  if (start > 0 && expected.total !== null && total !== null && total !== expected.total) {
    // The file behind the URL is not the one whose first bytes are on disk: start over.
    opened.body.discard();
    await rm(tempPath, { force: true });
    return {
      kind: "incomplete",
      message: `the file changed size between attempts (${expected.total} then ${total} bytes)`,
      onDisk: 0,
    };
  }
  if (total !== null) expected.total = total;

  const hash = createHash("sha256");
  let file: FileHandle;
  try {
    file = await openTemporaryFile(tempPath, start);
  } catch (error) {
    opened.body.discard();
    throw error;
  }
  let sink: FileSink | null = null;
  try {
    if (start > 0) await hashPrefix(tempPath, start, hash);
    sink = new FileSink(file, start, hash, onChunkWritten, maxBytes);
    let failure: string | null = null;
    try {
      for (let chunks = await opened.body.take(); chunks !== null; chunks = await opened.body.take()) {
        await sink.write(chunks);
        // The body is bound to the same signal; this stops a body that arrived whole before the abort.
        if (signal.aborted) throw signal.reason;
      }
    } catch (error) {
      opened.body.discard();
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
    const sha256 = hash.digest("hex");
    if (check === undefined) return { kind: "complete", bytes: size, sha256 };
    return { kind: "complete", bytes: size, sha256, checks: await check(file, size) };
  } finally {
    // A body left unread (the prefix could not be hashed, a failed check) must not hold its connection.
    opened.body.discard();
    await sink?.quiesce();
    await file.close();
  }
}
