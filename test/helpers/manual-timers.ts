// Timers whose clock moves only when a test says so, firing what falls due: no real time is waited on.
import type { RunTimers } from "../../src/run/timers.js";

export type ManualTimers = RunTimers & {
  /** Moves the clock on, runs every timer that falls due, then lets the promises they started settle. */
  advance(ms: number): Promise<void>;
  /** Timers set and not yet fired or cleared. */
  pending(): number;
};

export function manualTimers(): ManualTimers {
  let now = 1_000_000;
  let nextId = 0;
  const due = new Map<number, { at: number; callback: () => void }>();
  return {
    now: () => now,
    elapsed: () => now,
    setTimeout(callback, ms) {
      due.set(++nextId, { at: now + ms, callback });
      return nextId;
    },
    clearTimeout: (handle) => void due.delete(handle as number),
    setInterval: () => 0,
    clearInterval: () => undefined,
    async advance(ms) {
      now += ms;
      for (const [id, timer] of [...due].toSorted(([, a], [, b]) => a.at - b.at))
        if (timer.at <= now) {
          due.delete(id);
          timer.callback();
        }
      // Let the write that a timer started settle (every pending promise callback runs before this).
      await new Promise<void>((resolve) => setImmediate(resolve));
    },
    pending: () => due.size,
  };
}
