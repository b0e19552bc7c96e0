// Downloads one output file: streamed to a temporary file while hashing, checked against the sizes
// the server announced, fsync'd, then renamed into place. Memory stays flat whatever the file size.
// A file only ever appears under its final name complete and verified; a crash leaves at most a
// temporary file, which the next attempt starts over.
import { addAbortListener } from "node:events";
import { mkdir, rename, rm, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { backoffDelay } from "../api/backoff.js";
import type { ApiClient } from "../api/types.js";
import { crashPoint } from "../crash-points.js";
import { fsyncDirectory } from "../fs/durable.js";
import { hasErrnoCode, isDiskFull } from "../fs/errno.js";
import { DISK_FULL, OUTPUT_TOO_LARGE } from "../manifest/codes.js";
import type { ManifestOutputCheck } from "../manifest/types.js";
import { describeError, diskFullText, receive } from "./download-attempt.js";
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
  /**
   * Must be unique to this output; its directory is created. Its folder must be one the caller empties
   * before it downloads again after a crash (the run's `.actbatch/partial/`): see the rename below.
   */
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
  /**
   * Checks the complete file while it is still open (the MP4 header against the request); the result
   * comes back with it. Runs once per output, on the bytes that are renamed into place.
   */
  check?: (file: FileHandle, size: number) => Promise<ManifestOutputCheck[]>;
  /** The timer of the no-progress deadline (tests drive it by hand). @defaultValue the process's own */
  timers?: Pick<RunTimers, "elapsed" | "setTimeout" | "clearTimeout">;
}

export type DownloadResult =
  | { kind: "ok"; bytes: number; sha256: string; checks?: ManifestOutputCheck[] }
  /** `code`: actbatch's code for the task's error (manifest/codes.ts); DOWNLOAD_FAILED when absent. */
  | { kind: "failed"; message: string; retryable: boolean; code?: string };

/**
 * The no-progress deadline of one download, across its connections, backoffs and refreshes: aborts
 * `signal` once `limitMs` pass without `progress()`, or when the caller's signal aborts. One timer,
 * re-armed only when it fires.
 */
class ProgressWatch {
  private readonly controller = new AbortController();
  /** Aborted by the deadline or by the caller's signal (one listener, not a signal combined per download). */
  readonly signal = this.controller.signal;
  private last: number;
  private timer: unknown;
  private stalledOut = false;
  private readonly stopListening: Disposable | null = null;

  constructor(
    private readonly timers: Pick<RunTimers, "elapsed" | "setTimeout" | "clearTimeout">,
    readonly limitMs: number,
    outer: AbortSignal | undefined,
  ) {
    this.last = timers.elapsed();
    this.timer = timers.setTimeout(() => this.check(), limitMs);
    if (outer?.aborted) this.controller.abort(outer.reason);
    else if (outer) this.stopListening = addAbortListener(outer, () => this.controller.abort(outer.reason));
  }

  /** The deadline passed (not the caller's abort). */
  get stalled(): boolean {
    return this.stalledOut;
  }

  progress(): void {
    this.last = this.timers.elapsed();
  }

  stop(): void {
    this.timers.clearTimeout(this.timer);
    this.stopListening?.[Symbol.dispose]();
  }

  private check(): void {
    const idle = this.timers.elapsed() - this.last;
    if (idle >= this.limitMs) {
      this.stalledOut = true;
      this.controller.abort(new Error("no progress"));
    } else this.timer = this.timers.setTimeout(() => this.check(), this.limitMs - idle);
  }
}

function interrupted(): DownloadResult {
  return { kind: "failed", message: "interrupted", retryable: true };
}

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(ms < 10_000 ? 1 : 0))} s`;
}

interface QueuedSync {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}
/**
 * Per directory: whether an fsync runs, and the one queued behind it. Entries stay (a run writes to a
 * few directories): a map that adds and deletes one per download reallocates its table again and again.
 */
const directorySyncs = new Map<string, { running: boolean; queued: QueuedSync | null }>();

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
  let state = directorySyncs.get(path);
  if (state === undefined) {
    state = { running: false, queued: null };
    directorySyncs.set(path, state);
  }
  if (!state.running) {
    state.running = true;
    return runDirectorySync(path, state);
  }
  state.queued ??= queuedSync();
  return state.queued.promise;
}

async function runDirectorySync(
  path: string,
  state: { running: boolean; queued: QueuedSync | null },
): Promise<void> {
  try {
    await fsyncDirectory(path);
  } finally {
    const next = state.queued;
    if (next === null) state.running = false;
    else {
      state.queued = null;
      // The callers queued meanwhile share this fsync's outcome: a failure reaches each of them.
      runDirectorySync(path, state).then(next.resolve, next.reject);
    }
  }
}

/** Renames the finished file into place, making its folder only when the rename finds it missing. */
async function moveIntoPlace(tempPath: string, finalPath: string): Promise<void> {
  try {
    await rename(tempPath, finalPath);
  } catch (error) {
    if (!hasErrnoCode(error, "ENOENT")) throw error;
    await mkdir(dirname(finalPath), { recursive: true });
    await rename(tempPath, finalPath);
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
    options.signal,
  );
  const signal = watch.signal;
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
    // A temporary file left by an earlier run may belong to another render of this output: the first
    // attempt truncates it (onDisk is 0). Resuming is for the attempts of this call, whose bytes are
    // known to be this file's.
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
        const received = await receive(
          opened,
          onDisk,
          tempPath,
          expected,
          signal,
          onChunkWritten,
          maxBytes,
          options.check,
        );
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
          await moveIntoPlace(tempPath, finalPath);
          // Only the new name must survive a crash. The old one's removal need not: a name that comes
          // back in the temporary folder is a second link to the output, and that folder is emptied
          // at the start of every run.
          await syncDirectory(dirname(finalPath));
          return {
            kind: "ok",
            bytes: received.bytes,
            sha256: received.sha256,
            ...(received.checks && { checks: received.checks }),
          };
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
