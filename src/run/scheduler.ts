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
export function createTaskSlots(concurrency: number): SlotLimiter {
  let limit = concurrency;
  let active = 0;
  const waiting: Array<() => void> = [];
  const run = <T>(fn: (release: () => void) => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const start = (): void => {
        let released = false;
        const release = (): void => {
          if (released) return;
          released = true;
          active--;
          const next = active < limit ? waiting.shift() : undefined;
          if (next) {
            active++;
            queueMicrotask(next);
          }
        };
        let work: Promise<T>;
        try {
          work = fn(release);
        } catch (error) {
          work = Promise.reject(error as Error);
        }
        work.then(
          (value) => {
            release();
            resolve(value);
          },
          (error: unknown) => {
            release();
            reject(error as Error);
          },
        );
      };
      // The slot is taken now; the work starts on a later microtask, like p-limit's.
      if (active < limit) {
        active++;
        queueMicrotask(start);
      } else waiting.push(start);
    });
  Object.defineProperties(run, {
    activeCount: { get: () => active },
    pendingCount: { get: () => waiting.length },
    limit: {
      get: () => limit,
      set: (value: number) => {
        limit = value;
        // A raised limit starts waiting work now; a lowered one lets the running work finish.
        while (active < limit && waiting.length > 0) {
          active++;
          queueMicrotask(waiting.shift() as () => void);
        }
      },
    },
  });
  return run as SlotLimiter;
}

/**
 * Task slots whose holder may give its slot back before it is done: a task that reached a terminal
 * state no longer counts against the account, so the next create need not wait for its journal record.
 */
export interface SlotLimiter {
  <T>(fn: (release: () => void) => Promise<T>): Promise<T>;
  readonly activeCount: number;
  readonly pendingCount: number;
  /** Slots in all; may change while work runs (e.g. to the account's tier). */
  limit: number;
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
