// Every fixed duration and rate of the run engine, in one place. Real use runs at timeScale 1;
// tests and benchmarks run the simulator faster (its speed factor) and divide every duration by the
// same factor, so the engine behaves identically in scaled time.

export interface RunTiming {
  /** Runway refreshes a task no faster than this: polling more often sees the same snapshot. */
  updateIntervalMs: number;
  /** Render time assumed (submission to terminal) until tasks of this run have finished. */
  initialRenderEstimateMs: number;
  /** Longest wait between two polls of one task, however far from completion it is. */
  maxPollIntervalMs: number;
  /** Wait after task_not_exist (just created, not yet visible). */
  notVisibleDelayMs: number;
  /** Wait after a GET that failed (network, 5xx after the client's own retries). */
  pollErrorDelayMs: number;
  /** Task GETs per second across the whole run (a shared token bucket), and its burst. */
  getRatePerSecond: number;
  getBurst: number;
  /** Manifest checkpoints while a run makes progress: at most one per interval. */
  checkpointIntervalMs: number;
  /** Plain (CI) progress: one summary line per interval. */
  summaryLineIntervalMs: number;
  /**
   * Grace period after creation during which task_not_exist / 404 means "not visible yet". Generous:
   * CometAPI's view of a task can lag ~15 s, and a task that is really gone is only noticed later.
   */
  visibilityGraceMs: number;
  /**
   * Longest time a task may go without a valid answer to its GETs before polling leaves it (in flight,
   * resumable) and says why: well past a render's length, short of an hour of silence.
   */
  maxSilenceMs: number;
}

export const REAL_TIMING: RunTiming = {
  updateIntervalMs: 5_000,
  initialRenderEstimateMs: 60_000,
  maxPollIntervalMs: 30_000,
  notVisibleDelayMs: 2_000,
  pollErrorDelayMs: 5_000,
  getRatePerSecond: 10,
  getBurst: 10,
  checkpointIntervalMs: 5_000,
  summaryLineIntervalMs: 30_000,
  visibilityGraceMs: 60_000,
  maxSilenceMs: 10 * 60_000,
};

/** The timing of a run whose clock goes `timeScale` times faster than real time. */
export function scaleTiming(timeScale: number, base: RunTiming = REAL_TIMING): RunTiming {
  if (!(timeScale > 0) || !Number.isFinite(timeScale))
    throw new RangeError(`timeScale must be > 0, got ${timeScale}`);
  const d = (ms: number): number => ms / timeScale;
  return {
    updateIntervalMs: d(base.updateIntervalMs),
    initialRenderEstimateMs: d(base.initialRenderEstimateMs),
    maxPollIntervalMs: d(base.maxPollIntervalMs),
    notVisibleDelayMs: d(base.notVisibleDelayMs),
    pollErrorDelayMs: d(base.pollErrorDelayMs),
    getRatePerSecond: base.getRatePerSecond * timeScale,
    getBurst: base.getBurst,
    // Checkpoints and progress lines are for humans and disks, which do not speed up with the simulator,
    // but a scaled test must still see them: scale them, with a floor.
    checkpointIntervalMs: Math.max(1_000, d(base.checkpointIntervalMs)),
    summaryLineIntervalMs: Math.max(1_000, d(base.summaryLineIntervalMs)),
    visibilityGraceMs: d(base.visibilityGraceMs),
    maxSilenceMs: d(base.maxSilenceMs),
  };
}
