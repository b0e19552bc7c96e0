// The run's named concurrency limits: task slots and download slots.

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
  // A run queues every task at its start: a waiting task is one small record, not a closure over a
  // promise executor's scope.
  const waiting: WaitingWork[] = [];
  const begin = (work: WaitingWork): void => {
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      active--;
      const next = active < limit ? waiting.shift() : undefined;
      if (next) {
        active++;
        queueMicrotask(() => begin(next));
      }
    };
    let running: Promise<unknown>;
    try {
      running = work.fn(release);
    } catch (error) {
      running = Promise.reject(error as Error);
    }
    running.then(
      (value) => {
        release();
        work.resolve(value);
      },
      (error: unknown) => {
        release();
        work.reject(error);
      },
    );
  };
  const run = <T>(fn: (release: () => void) => Promise<T>): Promise<T> => {
    const work = { fn } as WaitingWork;
    const promise = new Promise<T>((resolve, reject) => {
      work.resolve = resolve as (value: unknown) => void;
      work.reject = reject;
    });
    // The slot is taken now; the work starts on a later microtask.
    if (active < limit) {
      active++;
      queueMicrotask(() => begin(work));
    } else waiting.push(work);
    return promise;
  };
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
          const next = waiting.shift() as WaitingWork;
          queueMicrotask(() => begin(next));
        }
      },
    },
  });
  return run as SlotLimiter;
}

interface WaitingWork {
  fn: (release: () => void) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
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

/**
 * Downloads get their own, smaller limit: they must not hold task slots, nor saturate the disk or the
 * link. The same queue as the task slots (a fast run can queue thousands of downloads behind them).
 */
export function createDownloadSlots(concurrency: number): Limiter {
  const slots = createTaskSlots(downloadConcurrencyFor(concurrency));
  const run = <T>(fn: () => Promise<T>): Promise<T> => slots(() => fn());
  Object.defineProperties(run, {
    activeCount: { get: () => slots.activeCount },
    pendingCount: { get: () => slots.pendingCount },
  });
  return run as Limiter;
}

/** At most 4 downloads at once, fewer for small runs. */
export function downloadConcurrencyFor(taskConcurrency: number): number {
  return Math.max(1, Math.min(4, taskConcurrency));
}
