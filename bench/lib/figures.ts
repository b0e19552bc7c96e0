// Turns one client run plus the simulator's ledger into the figures the benchmarks print.
//
//   makespan        from the first create the simulator received to the client's process exit
//                   (so process start-up, a constant that does not scale, stays out of it; it is
//                   reported separately as startupMs); both instants on the system clock, as every
//                   instant compared across processes here is (a step of it during the run is reported)
//   ideal           LPT packing (ideal.ts) of each task's slot occupancy (slotAt -> finishedAt: PENDING
//                   plus RUNNING on the service's update grid, which no client can shorten) onto the
//                   account's C slots; idealRenderOnly packs the RUNNING times alone, a stricter bar
//   detection lag   client's notice time minus the simulator's finishedAt, per task (runners.ts says
//                   where each client's notice time comes from), over the mean render (RUNNING) time
//   GETs per task   task GETs the simulator received (every answer, faults included) / tasks
//   CPU, peak RSS   of the client process (measure.ts)

import { idealMakespan } from "./ideal.ts";
import type { ClientRun } from "./runners.ts";
import { countRequests, duplicateCreates, slotOccupancy, type SimLedger } from "./sim-ledger.ts";
import { mean, percentile } from "./stats.ts";

export interface RunFigures {
  client: string;
  tasks: number;
  succeeded: number;
  failed: number;
  errors: number;
  makespanMs: number;
  startupMs: number;
  idealMs: number;
  idealLowerBoundMs: number;
  idealRenderOnlyMs: number;
  makespanOverIdeal: number;
  makespanOverIdealRenderOnly: number;
  meanRenderMs: number;
  meanSlotMs: number;
  lagMeanMs: number;
  lagP95Ms: number;
  lagMaxMs: number;
  lagMeanOverRender: number;
  lagP95OverRender: number;
  lagSamples: number;
  creates: number;
  getsPerTask: number;
  apiRequests: number;
  apiRequestsPerTask: number;
  downloads: number;
  duplicateCreates: number;
  ambiguousCreates: number;
  unhandledRejections: number;
  /** Tasks done when the first unhandled rejection came; null when none came. */
  firstUnhandledAfterTasks: number | null;
  /** Tasks the service ran to SUCCEEDED whose output the client never saved (paid for, lost). */
  paidNotSaved: number;
  peakActive: number;
  cpuSeconds: number;
  cpuSecondsPer1000: number;
  cpuMsPerTask: number;
  peakRssMb: number;
  wallMs: number;
  /** System clock step during the run (measure.ts): instants compared across processes are off by up to it. */
  clockStepMs: number;
  measureMethod: string;
}

export function computeFigures(run: ClientRun, ledger: SimLedger, slots: number, tasks: number): RunFigures {
  const finished = ledger.tasks.filter((task) => task.finishedAt !== null);
  const occupancies = finished.map(slotOccupancy).filter((ms): ms is number => ms !== null);
  const renders = finished.map((task) => task.renderMs);
  const ideal = idealMakespan(occupancies, slots);
  const idealRenderOnly = idealMakespan(renders, slots);
  const firstCreate = Math.min(...ledger.tasks.map((task) => task.createdAt));
  const makespanMs = run.measured.endedAt - firstCreate;

  const lags: number[] = [];
  for (const task of finished) {
    const noticed = run.noticedAt.get(task.id);
    if (noticed !== undefined && task.finishedAt !== null) lags.push(noticed - task.finishedAt);
  }
  const meanRenderMs = mean(renders);
  const requests = countRequests(ledger);
  const lagP95Ms = percentile(lags, 95);
  const lagMeanMs = mean(lags);
  return {
    client: run.client,
    tasks,
    succeeded: run.succeeded,
    failed: run.failed,
    errors: run.errors,
    makespanMs,
    startupMs: firstCreate - run.measured.startedAt,
    idealMs: ideal.lpt,
    idealLowerBoundMs: ideal.lowerBound,
    idealRenderOnlyMs: idealRenderOnly.lpt,
    makespanOverIdeal: makespanMs / ideal.lpt,
    makespanOverIdealRenderOnly: makespanMs / idealRenderOnly.lpt,
    meanRenderMs,
    meanSlotMs: mean(occupancies),
    lagMeanMs,
    lagP95Ms,
    lagMaxMs: lags.length === 0 ? Number.NaN : Math.max(...lags),
    lagMeanOverRender: lagMeanMs / meanRenderMs,
    lagP95OverRender: lagP95Ms / meanRenderMs,
    lagSamples: lags.length,
    creates: requests.creates,
    getsPerTask: requests.gets / tasks,
    apiRequests: requests.api,
    apiRequestsPerTask: requests.api / tasks,
    downloads: requests.downloads,
    duplicateCreates: duplicateCreates(ledger),
    ambiguousCreates: run.ambiguous,
    unhandledRejections: run.unhandledRejections,
    firstUnhandledAfterTasks: run.firstUnhandledAfterTasks,
    paidNotSaved: ledger.tasks.filter((task) => task.status === "SUCCEEDED" && !run.outputAt.has(task.id))
      .length,
    peakActive: ledger.peakActive,
    cpuSeconds: run.measured.cpuSeconds,
    cpuSecondsPer1000: (run.measured.cpuSeconds / tasks) * 1000,
    cpuMsPerTask: (run.measured.cpuSeconds / tasks) * 1000,
    peakRssMb: run.measured.peakRssBytes / (1024 * 1024),
    wallMs: run.measured.wallMs,
    clockStepMs: run.measured.clockStepMs,
    measureMethod: run.measured.method,
  };
}

/** A system clock step this large is reported: below it, it is within a loopback round trip. */
const CLOCK_STEP_NOTE_MS = 20;

/** A note saying the system clock was stepped during `what`, or null when it was not. */
export function clockStepNote(figures: RunFigures, what: string): string | null {
  if (!(Math.abs(figures.clockStepMs) >= CLOCK_STEP_NOTE_MS)) return null;
  return (
    `${what}: the system clock was stepped by ${Math.round(figures.clockStepMs)} ms during the run; ` +
    "its makespan and detection lags (instants of different processes) are off by up to that much"
  );
}
