// When to poll a task next: a pure function of what is known about it, tested as numbers.
//
// Runway refreshes a task no faster than every ~5 s and a render takes 1-3 minutes, so a fixed 5 s
// poll spends most of its GETs on tasks that cannot be done yet. Instead: estimate when the task will
// finish (from its progress rate when RUNNING, else from render times learned in this run), wait
// half the remaining time while far from it, and poll at the update cadence once it is near.
import type { TaskState } from "../api/types.js";
import type { RunTiming } from "./timing.js";

export interface ProgressSample {
  atMs: number;
  progress: number;
}

export interface PollSituation {
  now: number;
  /**
   * When the task was created (for a task resumed from an earlier run, when its id was recorded), or
   * when it was last seen THROTTLED: its render starts after that.
   */
  createdAtMs: number;
  /** The last state seen; null before the first GET. */
  state: TaskState["status"] | "error" | null;
  /** First and latest RUNNING progress samples, when the service reports progress. */
  firstProgress: ProgressSample | null;
  lastProgress: ProgressSample | null;
  /** Expected time from creation (or the end of THROTTLED) to a terminal state, learned from this run's finished tasks. */
  expectedRenderMs: number;
}

/** Fraction of the estimated remaining time to wait while far from completion. */
const FAR_FRACTION = 0.5;
/** Once past the expected time, wait this fraction of the overrun (a late task is probably a long one). */
const OVERDUE_FRACTION = 0.25;

export function nextPollDelay(s: PollSituation, timing: RunTiming): number {
  const clamp = (ms: number): number =>
    Math.round(Math.min(timing.maxPollIntervalMs, Math.max(timing.updateIntervalMs, ms)));
  switch (s.state) {
    case "not-visible":
      return timing.notVisibleDelayMs;
    case "error":
      return timing.pollErrorDelayMs;
    case "throttled":
      // Waiting for the account's concurrency: it will not start before another task ends.
      return clamp(FAR_FRACTION * s.expectedRenderMs);
    default: {
      const remaining = estimateRemainingMs(s);
      return remaining > 0 ? clamp(FAR_FRACTION * remaining) : clamp(-remaining * OVERDUE_FRACTION);
    }
  }
}

/** Estimated time until the task ends (negative when it is overdue). */
export function estimateRemainingMs(s: PollSituation): number {
  const a = s.firstProgress;
  const b = s.lastProgress;
  if (s.state === "running" && a && b && b.progress > a.progress && b.atMs > a.atMs && b.progress < 1) {
    const rate = (b.progress - a.progress) / (b.atMs - a.atMs);
    return (1 - b.progress) / rate - (s.now - b.atMs);
  }
  return s.expectedRenderMs - (s.now - s.createdAtMs);
}

/**
 * Learns the render time (creation to terminal, as observed) from tasks of this run. It answers a low
 * quantile rather than the mean: polling a little early costs one GET, noticing late costs a whole
 * slot's worth of waiting.
 */
export class RenderTimeEstimator {
  // Kept sorted on insert (binary search + splice): the quantile is read on every poll, so sorting
  // there made a run O(N^2 log N); an insert is O(N) memmove, and the read is O(1).
  private readonly sorted: number[] = [];
  private sum = 0;

  constructor(
    private readonly initialMs: number,
    private readonly quantile = 0.25,
  ) {}

  record(durationMs: number): void {
    if (!(Number.isFinite(durationMs) && durationMs > 0)) return;
    const sorted = this.sorted;
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((sorted[mid] as number) <= durationMs) lo = mid + 1;
      else hi = mid;
    }
    sorted.splice(lo, 0, durationMs);
    this.sum += durationMs;
  }

  get count(): number {
    return this.sorted.length;
  }

  expectedMs(): number {
    const sorted = this.sorted;
    if (sorted.length === 0) return this.initialMs;
    return sorted[Math.min(sorted.length - 1, Math.floor(this.quantile * sorted.length))] ?? this.initialMs;
  }

  meanMs(): number | null {
    if (this.sorted.length === 0) return null;
    return this.sum / this.sorted.length;
  }
}
