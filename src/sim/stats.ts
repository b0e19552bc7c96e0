// What stats() reports (also GET /__sim/stats): the task ledger read at an instant, and the counters
// the server keeps as it answers.
import type { FaultScope } from "./faults.js";
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

/** What the server counts as it answers. */
export class Counters {
  /** Per route template, per status. */
  readonly requests = new Map<string, Map<string, number>>();
  readonly getsByTaskId = new Map<string, number>();
  /** Per "scope:fault". */
  readonly faults = new Map<string, number>();
  bytesServed = 0;
  downloadsCompleted = 0;
  assetBytesServed = 0;

  request(template: string, status: string): void {
    let byStatus = this.requests.get(template);
    if (!byStatus) {
      byStatus = new Map();
      this.requests.set(template, byStatus);
    }
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
  }

  fault(scope: FaultScope | "task", fault: string): void {
    bump(this.faults, `${scope}:${fault}`);
  }

  taskGet(taskId: string): void {
    bump(this.getsByTaskId, taskId);
  }
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/** The stats snapshot at `now`: the ledger (every task created, in order), the counters, the account. */
export function statsOf(
  now: number,
  ledger: readonly SimTask[],
  counters: Counters,
  account: SimStats["account"],
): SimStats {
  const tasks = ledger.map((task) => taskRecordOf(task, now));
  const tasksByStatus: Record<string, number> = {};
  for (const record of tasks) tasksByStatus[record.status] = (tasksByStatus[record.status] ?? 0) + 1;
  const createsByKey: Record<string, number> = {};
  for (const task of ledger) createsByKey[task.key] = (createsByKey[task.key] ?? 0) + 1;
  const active: [number, number][] = [];
  const running: [number, number][] = [];
  for (const task of ledger) {
    const end = task.cancelledAt === null ? task.endAt : Math.min(task.endAt, task.cancelledAt);
    active.push([task.createdAt, end]);
    running.push([task.runningAt, end]);
  }
  const requests: Record<string, Record<string, number>> = {};
  for (const [route, byStatus] of counters.requests) requests[route] = Object.fromEntries(byStatus);
  return {
    now,
    requests,
    creates: ledger.length,
    createsByKey,
    tasks,
    tasksByStatus,
    peakActive: peakOverlap(active, now),
    peakRunning: peakOverlap(running, now),
    bytesServed: counters.bytesServed,
    downloadsCompleted: counters.downloadsCompleted,
    assetBytesServed: counters.assetBytesServed,
    getsByTaskId: Object.fromEntries(counters.getsByTaskId),
    faults: Object.fromEntries(counters.faults),
    account,
  };
}
