// Preload module (`node --import ./bench/baselines/scale-timers.ts ...`): runs the process on a clock
// that goes BENCH_TIME_FACTOR times faster, so an unmodified client library can be benchmarked against
// a simulator whose render times are divided by the same factor.
//
// What it scales, and why that covers the official @runwayml/sdk (4.x) completely:
//   - setTimeout / setInterval delays are divided by the factor. The SDK sleeps through global
//     setTimeout everywhere: the 6 s ± 1.5 s poll sleep of waitForTaskOutput (src/lib/polling.ts),
//     the retry backoff and Retry-After sleeps (src/internal/utils/sleep.ts), and the 60 s per-request
//     timeout (setTimeout(abort, ms) in src/client.ts).
//   - Date.now runs factor times faster from the moment this module loads. The SDK measures
//     waitForTaskOutput's 10 min timeout with Date.now() differences, and Retry-After HTTP dates
//     against Date.now().
// performance.now() and performance.timeOrigin are left real, and the real Date.now is published for
// the instants the baseline records (the simulator's ledger is on the same system clock).
// The counts of scaled timers (and of poll-sized sleeps, 4.5 s to 7.5 s) are published on globalThis so
// the baseline can report that the SDK's sleeps really went through here.

import { setTimeout as sleepFor } from "node:timers/promises";
import { promisify } from "node:util";

const raw = process.env["BENCH_TIME_FACTOR"] ?? "1";
const factor = Number(raw);
if (!(factor > 0) || !Number.isFinite(factor))
  throw new Error(`BENCH_TIME_FACTOR must be a positive number, got "${raw}"`);

export interface TimerScaleCounters {
  factor: number;
  timeouts: number;
  intervals: number;
  pollSleeps: number;
}

const counters: TimerScaleCounters = { factor, timeouts: 0, intervals: 0, pollSleeps: 0 };
/** Where the counters are published, for the process being measured to report them. */
export const TIMER_SCALE_SLOT = Symbol.for("actbatch.bench.timerScale");
(globalThis as Record<symbol, unknown>)[TIMER_SCALE_SLOT] = counters;

function scaled(delay: unknown): number {
  const ms = typeof delay === "number" && Number.isFinite(delay) && delay > 0 ? delay : 0;
  return ms / factor;
}

const realSetTimeout = globalThis.setTimeout;
const realSetInterval = globalThis.setInterval;

function scaledSetTimeout(callback: (...args: unknown[]) => void, delay?: number, ...args: unknown[]) {
  counters.timeouts += 1;
  if (typeof delay === "number" && delay >= 4500 && delay < 7500) counters.pollSleeps += 1;
  return realSetTimeout(callback, scaled(delay), ...args);
}

function scaledSetInterval(callback: (...args: unknown[]) => void, delay?: number, ...args: unknown[]) {
  counters.intervals += 1;
  return realSetInterval(callback, scaled(delay), ...args);
}

// util.promisify(setTimeout) goes through this symbol; keep it on the scaled clock too.
Object.defineProperty(scaledSetTimeout, promisify.custom, {
  value: (delay?: number, value?: unknown, options?: Parameters<typeof sleepFor>[2]) => {
    counters.timeouts += 1;
    return sleepFor(scaled(delay), value, options);
  },
});
globalThis.setTimeout = scaledSetTimeout as typeof globalThis.setTimeout;
globalThis.setInterval = scaledSetInterval as typeof globalThis.setInterval;

const realDateNow = Date.now.bind(Date);
/** Where the unscaled Date.now is published: the baseline records its instants on the system clock, as the simulator does. */
export const REAL_DATE_NOW_SLOT = Symbol.for("actbatch.bench.realDateNow");
(globalThis as Record<symbol, unknown>)[REAL_DATE_NOW_SLOT] = realDateNow;
const epoch = realDateNow();
Date.now = () => Math.round(epoch + (realDateNow() - epoch) * factor);
