// A run, as the CLI and the programmatic API start it: with `simulate`, the simulator of the service
// is started in this process for the run (no key, no network, real HTTP on loopback) and handed to
// the engine as an endpoint; the engine itself knows nothing of the simulator.
import {
  parseTimeScale,
  runJob as runEngine,
  type RunJobOptions as EngineOptions,
  type RunJobResult,
} from "./run/run-job.js";
import type { SimShape, startSimulator } from "./sim/index.js";
import { randomUUID } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { loadPlan } from "./job/index.js";
import { simulatorStatePath } from "./journal/paths.js";
import {
  cancelFolder as cancelWithEngine,
  type CancelFolderOptions,
  type CancelFolderResult,
} from "./run/cancel-folder.js";

/** The simulator and node:http, loaded only by a run that uses them: a real run does not pay for them. */
async function loadSimulator(): Promise<typeof startSimulator> {
  return (await import("./sim/index.js")).startSimulator;
}

/** Settings of the in-process simulator started by `simulate`. */
export interface SimulateSettings {
  /** Speed factor of the simulator, and the run's time scale. @defaultValue 20 */
  speed?: number;
  /** @defaultValue "bare" */
  shape?: SimShape;
  /** A fault spec (see `actbatch simulate --help`). */
  faults?: string;
  /** @defaultValue 1 */
  seed?: number;
}

export const DEFAULT_SIMULATE_SPEED = 20;

export interface RunJobOptions extends Omit<EngineOptions, "simulator"> {
  /** Run against a simulator started in this process: no key, no network. */
  simulate?: boolean | SimulateSettings;
}

export type { RunJobResult };

/** Runs one job to the end (or to a stop) and writes its manifest. Throws UserError before submitting anything on a bad spec or setup. */
export async function runJob(options: RunJobOptions): Promise<RunJobResult> {
  const { simulate: setting, ...engineOptions } = options;
  const simulate = setting === true ? {} : setting || null;
  if (simulate === null || (options.plan === undefined && options.file === undefined))
    return runEngine(engineOptions);
  // The simulator takes the run's concurrency as the account's: the plan is read first.
  const loaded =
    options.plan === undefined
      ? await loadPlan(options.file as string, {
          maxTasks: options.maxTasks,
          outDir: options.outDir,
          cwd: options.cwd ?? process.cwd(),
        })
      : null;
  const plan = options.plan ?? loaded?.plan;
  const speed =
    simulate.speed ??
    options.timeScale ??
    parseTimeScale((options.env ?? process.env).ACTBATCH_TIME_SCALE) ??
    DEFAULT_SIMULATE_SPEED;
  const cwd = options.cwd ?? process.cwd();
  const outputDir = plan?.outputDir ?? options.outDir;
  const statePath = outputDir === undefined ? undefined : simulatorStatePath(resolve(cwd, outputDir));
  if (statePath) await mkdir(dirname(statePath), { recursive: true });
  const simulator = await (
    await loadSimulator()
  )({
    port: 0,
    speed,
    // The simulator's tasks outlive the process in the output folder: a resumed run finds them.
    ...(statePath && { statePath }),
    shape: simulate.shape ?? "bare",
    ...(plan && { concurrency: options.concurrency ?? plan.concurrency }),
    seed: simulate.seed ?? 1,
    // A simulator lives as long as one run: new task ids each time, so that an id a rerun resumes
    // (from an earlier run's journal or manifest) is never another task of this simulator.
    idSalt: randomUUID(),
    ...(simulate.faults ? { faults: simulate.faults } : {}),
  });
  try {
    return await runEngine({
      ...engineOptions,
      ...(loaded && { plan: loaded.plan, report: loaded.report }),
      simulator: { baseUrl: simulator.baseUrl, origin: simulator.origin, speed },
    });
  } finally {
    await simulator.close();
  }
}

export interface CancelOptions extends Omit<CancelFolderOptions, "simulator"> {
  /** The folder ran with `--simulate`: its tasks live in the simulator state it keeps. */
  simulate?: boolean;
}

export type { CancelFolderResult };

/** `actbatch cancel OUT`: cancels at the API every task the folder records as in flight. */
export async function cancelFolder(options: CancelOptions): Promise<CancelFolderResult> {
  const { simulate, ...engineOptions } = options;
  if (!simulate) return cancelWithEngine(engineOptions);
  const outputDir = resolve(options.cwd ?? process.cwd(), options.outDir);
  const speed = parseTimeScale((options.env ?? process.env).ACTBATCH_TIME_SCALE) ?? DEFAULT_SIMULATE_SPEED;
  const simulator = await (
    await loadSimulator()
  )({
    port: 0,
    speed,
    idSalt: randomUUID(),
    statePath: simulatorStatePath(outputDir),
  });
  try {
    return await cancelWithEngine({
      ...engineOptions,
      simulator: { baseUrl: simulator.baseUrl, origin: simulator.origin, speed },
    });
  } finally {
    await simulator.close();
  }
}
