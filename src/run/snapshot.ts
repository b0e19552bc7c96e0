// The live view's picture of a run at a moment: tasks by phase, requests, GETs per task and an ETA
// (pure: the engine hands in what it counts).
import type { LivePhase, PairPhases, RequestCounts, RunSnapshot, TaskRef } from "./events.js";

export interface SnapshotInput {
  job: string;
  elapsedMs: number;
  /** The phase of each task of this run. */
  phases: Iterable<{ task: Pick<TaskRef, "pair">; phase: LivePhase }>;
  requests: RequestCounts;
  polledTasks: number;
  taskGets: number;
  /** Mean creation-to-terminal time so far, null before any task finished. */
  meanRenderMs: number | null;
  /** Tasks in flight at once. */
  slots: number;
  /** Submission stopped: no ETA for work that will not be done. */
  stopped: boolean;
}

export function snapshotOf(input: SnapshotInput): RunSnapshot {
  const phases = noPhases();
  const pairs = new Map<string, PairPhases>();
  let total = 0;
  for (const { task, phase } of input.phases) {
    phases[phase]++;
    total++;
    let pair = pairs.get(task.pair);
    if (!pair) pairs.set(task.pair, (pair = { pair: task.pair, phases: noPhases() }));
    pair.phases[phase]++;
  }
  const remaining = phases.queued + phases.submitting + phases.pending + phases.running;
  const mean = input.meanRenderMs;
  return {
    job: input.job,
    elapsedMs: input.elapsedMs,
    phases,
    total,
    requests: { ...input.requests },
    getsPerTask: input.polledTasks > 0 ? input.taskGets / input.polledTasks : null,
    etaMs: mean === null || input.stopped ? null : Math.round((remaining / input.slots) * mean),
    pairs: [...pairs.values()],
  };
}

function noPhases(): Record<LivePhase, number> {
  return {
    queued: 0,
    submitting: 0,
    pending: 0,
    running: 0,
    downloading: 0,
    succeeded: 0,
    failed: 0,
    held: 0,
    "not-submitted": 0,
  };
}
