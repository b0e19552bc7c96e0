// One measured run of one client against a fresh simulator process: start the simulator, run the
// client to completion, read the ledger, stop the simulator, compute the figures. A fresh simulator
// per run keeps the counters clean; the same seed gives both clients the same render times (the
// simulator draws them from the seed and each request body's key, whatever the submission order).

import { join } from "node:path";
import { computeFigures, type RunFigures } from "./figures.ts";
import type { BenchJob } from "./job-file.ts";
import { runActbatch, runBaseline, type ClientName, type ClientRun } from "./runners.ts";
import type { SimLedger } from "./sim-ledger.ts";
import { startSimulatorProcess, type SimProcessOptions } from "./sim-process.ts";

export interface ScenarioRun {
  figures: RunFigures;
  ledger: SimLedger;
  run: ClientRun;
}

export interface ScenarioOptions {
  client: ClientName;
  job: BenchJob;
  sim: SimProcessOptions;
  /** Directory for this run's outputs (and the baseline's result file). */
  workDir: string;
  /** The client's own concurrency (actbatch --concurrency, the baseline's p-limit). */
  concurrency: number;
  /** Extra `actbatch run` flags. */
  actbatchArgs?: string[];
  timeoutMs: number;
}

export async function runScenario(options: ScenarioOptions): Promise<ScenarioRun> {
  const sim = await startSimulatorProcess(options.sim);
  try {
    const common = {
      outDir: join(options.workDir, "out"),
      concurrency: options.concurrency,
      timeScale: options.sim.speed,
      timeoutMs: options.timeoutMs,
    };
    const run =
      options.client === "actbatch"
        ? await runActbatch({
            ...common,
            jobFile: options.job.jobFile,
            baseUrl: sim.baseUrl,
            ...(options.actbatchArgs ? { extraArgs: options.actbatchArgs } : {}),
          })
        : await runBaseline({
            ...common,
            tasksFile: options.job.tasksFile,
            origin: sim.origin,
            resultFile: join(options.workDir, "baseline-result.json"),
          });
    const ledger = await sim.stats();
    const figures = computeFigures(run, ledger, options.sim.concurrency, options.job.tasks.length);
    return { figures, ledger, run };
  } finally {
    await sim.close();
  }
}

/** A generous wall-clock limit for a run: three times the ideal plus a minute. */
export function runTimeoutMs(tasks: number, slots: number, meanRenderMs: number, speed: number): number {
  const idealMs = ((tasks / slots) * (meanRenderMs + 10_000)) / speed;
  return Math.round(3 * idealMs + 60_000);
}
