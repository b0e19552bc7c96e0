// The run's named concurrency limits (the only file importing p-limit).
import pLimit from "p-limit";

export interface Limiter {
  <T>(fn: () => Promise<T>): Promise<T>;
  readonly activeCount: number;
  readonly pendingCount: number;
}

/**
 * Task slots: one slot covers a task from its create to its terminal state (the account's concurrency
 * counts exactly those), and is freed the moment the task ends, before its outputs are downloaded.
 */
export function createTaskSlots(concurrency: number): Limiter {
  return wrap(pLimit(concurrency));
}

/** Downloads get their own, smaller limit: they must not hold task slots, nor saturate the disk or the link. */
export function createDownloadSlots(concurrency: number): Limiter {
  return wrap(pLimit(downloadConcurrencyFor(concurrency)));
}

/** At most 4 downloads at once, fewer for small runs. */
export function downloadConcurrencyFor(taskConcurrency: number): number {
  return Math.max(1, Math.min(4, taskConcurrency));
}

function wrap(limit: ReturnType<typeof pLimit>): Limiter {
  const run = <T>(fn: () => Promise<T>): Promise<T> => limit(fn);
  Object.defineProperties(run, {
    activeCount: { get: () => limit.activeCount },
    pendingCount: { get: () => limit.pendingCount },
  });
  return run as Limiter;
}
