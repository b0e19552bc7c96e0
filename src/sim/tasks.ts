// The task model. A task's whole timeline is computed when it is created (and recomputed when a
// cancel or a concurrency change frees slots), and its state at any instant is read off that
// timeline: no timers run per task, so ten thousand idle tasks cost nothing and a GET is cheap.

export type TaskStatus = "THROTTLED" | "PENDING" | "RUNNING" | "SUCCEEDED" | "FAILED" | "CANCELLED";

export type RouteFamily = "runway" | "comet";

export interface TaskFailure {
  code: string | null;
  text: string;
}

export interface SimTask {
  id: string;
  /** taskKeyOf(body): the identity of the request, shared with the planner. */
  key: string;
  /** 1 for the first create of this key, 2 for the next, ... */
  attempt: number;
  family: RouteFamily;
  body: Record<string, unknown>;
  /** Epoch ms (simulator clock). */
  createdAt: number;
  /** The state-change grid: every transition lands on createdAt + k * grid. */
  grid: number;
  pendingMs: number;
  renderMs: number;
  failure: TaskFailure | null;
  /** Share of renderMs after which a failing task fails. */
  failFraction: number;
  /** Set by the scheduler. */
  slotAt: number;
  runningAt: number;
  endAt: number;
  cancelledAt: number | null;
  deletedAt: number | null;
  /** Offset of the CometAPI wrapper's refresh ticks from createdAt. */
  wrapperPhase: number;
  /** Credits this task costs. */
  cost: number;
  /** The reference's length when read from its bytes (data: URI or upload): renders match it. */
  referenceSeconds: number | null;
}

export interface TaskSnapshot {
  status: TaskStatus;
  /** 0..1, only while RUNNING. */
  progress?: number;
}

/** Rounds t up onto the task's grid, so the service never changes a task between two ticks. */
function onGrid(task: SimTask, t: number): number {
  if (t <= task.createdAt) return task.createdAt;
  return task.createdAt + Math.ceil((t - task.createdAt) / task.grid - 1e-9) * task.grid;
}

/** The time at which the task stops holding a concurrency slot. */
function releaseAt(task: SimTask): number {
  return task.cancelledAt === null ? task.endAt : Math.min(task.endAt, task.cancelledAt);
}

export function snapshotAt(task: SimTask, t: number): TaskSnapshot {
  if (task.cancelledAt !== null && t >= task.cancelledAt) return { status: "CANCELLED" };
  if (t < task.slotAt) return { status: "THROTTLED" };
  if (t < task.runningAt) return { status: "PENDING" };
  if (t < task.endAt) {
    const tick = task.createdAt + Math.floor((t - task.createdAt) / task.grid + 1e-9) * task.grid;
    const raw = (tick - task.runningAt) / task.renderMs;
    return { status: "RUNNING", progress: Math.min(0.99, Math.max(0, Math.round(raw * 100) / 100)) };
  }
  return { status: task.failure ? "FAILED" : "SUCCEEDED" };
}

export function isTerminal(status: TaskStatus): boolean {
  return status === "SUCCEEDED" || status === "FAILED" || status === "CANCELLED";
}

/** When the task became (or will become) RUNNING, or null if a cancel came first. */
export function startedAt(task: SimTask): number | null {
  if (task.cancelledAt !== null && task.cancelledAt <= task.runningAt) return null;
  return task.runningAt;
}

/** When the task reached a terminal state (or will). */
export function finishedAt(task: SimTask): number {
  return releaseAt(task);
}

/**
 * FIFO slot assignment under the account concurrency: a task gets a slot when one is free,
 * otherwise it waits THROTTLED for the earliest release. Creates never fail for concurrency.
 */
export class TaskScheduler {
  /** Tasks that may still matter for slot assignment, in creation order. */
  private live: SimTask[] = [];
  /** Release times of the tasks holding (or scheduled to hold) slots, ascending. */
  private releases: number[] = [];

  constructor(private concurrency: number) {}

  get limit(): number {
    return this.concurrency;
  }

  add(task: SimTask): void {
    this.live.push(task);
    this.place(task, task.createdAt);
  }

  cancel(task: SimTask, now: number): void {
    if (task.cancelledAt !== null || now >= task.endAt) return;
    task.cancelledAt = now;
    this.reschedule(now);
  }

  setConcurrency(concurrency: number, now: number): void {
    this.concurrency = concurrency;
    this.reschedule(now);
  }

  /** Re-places every task that has no slot yet at `now`, keeping the ones already placed. */
  private reschedule(now: number): void {
    const waiting: SimTask[] = [];
    const keep: SimTask[] = [];
    this.releases = [];
    for (const task of this.live) {
      if (task.slotAt <= now) {
        const release = releaseAt(task);
        if (release > now) {
          this.releases.push(release);
          keep.push(task);
        }
      } else if (task.cancelledAt === null) {
        waiting.push(task);
        keep.push(task);
      }
    }
    this.releases.sort((a, b) => a - b);
    this.live = keep;
    // A task already seen THROTTLED cannot become PENDING in the past.
    for (const task of waiting) this.place(task, now);
  }

  private place(task: SimTask, earliest: number): void {
    let free = Math.max(earliest, task.createdAt);
    while (this.releases.length >= this.concurrency) free = Math.max(free, this.releases.shift() ?? free);
    task.slotAt = onGrid(task, free);
    task.runningAt = onGrid(task, task.slotAt + task.pendingMs);
    const runFor = task.failure ? task.renderMs * task.failFraction : task.renderMs;
    task.endAt = onGrid(task, task.runningAt + Math.max(runFor, 1));
    insertSorted(this.releases, task.endAt);
    if (this.live.length > 4 * this.concurrency + 64) this.prune(task.createdAt);
  }

  /** Drops finished tasks from the live list so it stays proportional to the work in flight. */
  private prune(now: number): void {
    this.live = this.live.filter((task) => task.slotAt > now || releaseAt(task) > now);
  }
}

function insertSorted(list: number[], value: number): void {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((list[mid] ?? 0) <= value) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, value);
}
