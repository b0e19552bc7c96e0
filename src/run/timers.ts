// The clocks and timers a run schedules its background work with (checkpoints, progress snapshots),
// passed in so that a test can drive them by hand; a run uses the process's own.

export interface RunTimers {
  /** Wall clock, epoch ms: when a checkpoint may come next. */
  now(): number;
  /** Monotonic ms: how long a piece of work took. */
  elapsed(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(callback: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export const SYSTEM_TIMERS: RunTimers = {
  now: () => Date.now(),
  elapsed: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  setInterval: (callback, ms) => setInterval(callback, ms),
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
};
