import { finishedAt, isTerminal, snapshotAt, startedAt, type SimTask, type TaskStatus } from "./tasks.js";

/** One line of the task ledger. Times are epoch ms on the simulator clock; null until it happened. */
export interface SimTaskRecord {
  id: string;
  key: string;
  attempt: number;
  /** "runway" for a create on /v1, "comet" for one on /runwayml/v1. */
  family: "runway" | "comet";
  status: TaskStatus;
  deleted: boolean;
  createdAt: number;
  /** When the task left THROTTLED (got a concurrency slot). */
  slotAt: number | null;
  startedAt: number | null;
  finishedAt: number | null;
  cancelledAt: number | null;
  /** Time spent RUNNING (scaled by speed), known from the start. */
  renderMs: number;
  failureCode: string | null;
}

export interface SimStats {
  /** Clock of the snapshot, epoch ms. */
  now: number;
  /** Per "METHOD /route-template", per status ("200", "429", ..., "reset", "stall"). */
  requests: Record<string, Record<string, number>>;
  /** Accepted creates, total and per taskKeyOf(body). */
  creates: number;
  createsByKey: Record<string, number>;
  tasks: SimTaskRecord[];
  tasksByStatus: Record<string, number>;
  /** Most tasks ever non-terminal (THROTTLED, PENDING or RUNNING) at once. */
  peakActive: number;
  /** Most tasks ever RUNNING at once. */
  peakRunning: number;
  /** Output body bytes written (including the partial bodies of truncated downloads). */
  bytesServed: number;
  /** Downloads whose whole (ranged) body was sent. */
  downloadsCompleted: number;
  /** Body bytes of /assets/ answers written (probe-able assets). */
  assetBytesServed: number;
  getsByTaskId: Record<string, number>;
  /** Faults injected, per "scope:fault" (e.g. "get:503", "download:truncate", "task:fail"). */
  faults: Record<string, number>;
  account: { concurrency: number; dailyLimit: number | null; credits: number | null; creditsSpent: number };
}

export function taskRecordOf(task: SimTask, now: number): SimTaskRecord {
  const snap = snapshotAt(task, now);
  const started = startedAt(task);
  const finished = finishedAt(task);
  return {
    id: task.id,
    key: task.key,
    attempt: task.attempt,
    family: task.family,
    status: snap.status,
    deleted: task.deletedAt !== null && task.deletedAt <= now,
    createdAt: task.createdAt,
    slotAt: task.cancelledAt !== null && task.cancelledAt < task.slotAt ? null : atOrNull(task.slotAt, now),
    startedAt: started === null ? null : atOrNull(started, now),
    finishedAt: isTerminal(snap.status) ? finished : null,
    cancelledAt: task.cancelledAt,
    renderMs: task.endAt - task.runningAt,
    failureCode: task.failure ? task.failure.code : null,
  };
}

function atOrNull(t: number, now: number): number | null {
  return t <= now ? t : null;
}

/** Peak overlap of [start, end) intervals that began by `now`. */
export function peakOverlap(intervals: [number, number][], now: number): number {
  const events: [number, number][] = [];
  for (const [start, end] of intervals) {
    if (start > now || end <= start) continue;
    events.push([start, 1], [Math.min(end, now + 1), -1]);
  }
  // Ends before starts at the same instant: a slot handed over is not two tasks at once.
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let current = 0;
  let peak = 0;
  for (const [, delta] of events) {
    current += delta;
    if (current > peak) peak = current;
  }
  return peak;
}
