// Manifest checkpoints while a run makes progress: at most one at a time, at most one per interval,
// and spaced by their own cost too (a checkpoint rebuilds the whole manifest, so its cost grows with
// the job): they take at most 1/COST_SHARE of the run's time whatever the job's size.
import type { RunTimers } from "./timers.js";

/** Checkpoints are spaced by at least this many times their own duration (at most ~5% of the time). */
const COST_SHARE = 20;

export class CheckpointScheduler {
  private timer: unknown = null;
  private writing: Promise<void> | null = null;
  private dirty = false;
  private closed = false;
  private lastAt = 0;
  /** How long the last checkpoint took (building, serialising, writing), for spacing the next. */
  private lastMs = 0;

  constructor(
    private readonly intervalMs: number,
    /** Builds and writes one checkpoint; a failure only means the next one catches up. */
    private readonly write: () => Promise<void>,
    private readonly timers: RunTimers,
  ) {}

  /** Something changed: a checkpoint comes once the spacing allows. */
  request(): void {
    if (this.closed) return;
    this.dirty = true;
    if (this.timer !== null || this.writing) return;
    const interval = Math.max(this.intervalMs, this.lastMs * COST_SHARE);
    const wait = Math.max(0, this.lastAt + interval - this.timers.now());
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      if (this.closed) return;
      this.dirty = false;
      const started = this.timers.elapsed();
      this.lastAt = this.timers.now();
      this.writing = this.write()
        .catch(() => undefined)
        .finally(() => {
          this.lastMs = this.timers.elapsed() - started;
          this.writing = null;
          if (this.dirty) this.request();
        });
    }, wait);
  }

  /** No checkpoint after this; waits for the one being written, if any. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
    await this.writing;
  }
}
