// Scenarios 1 and 2: throughput at the account limit, actbatch against the official SDK baseline.
//
// N tasks (default 1,000), account concurrency C = 16 in the simulator, lognormal renders of mean 90 s
// (the simulator's default: sigma 0.35, PENDING 2-10 s, state changes on a 5 s grid), every clock
// divided by a factor F on all sides: the simulator (--speed F), actbatch (ACTBATCH_TIME_SCALE=F) and
// the SDK (scale-timers.ts preload, BENCH_TIME_FACTOR=F). Run at two factors to show that the ratios
// do not depend on F.
//
// Usage: node bench/throughput.ts [--n 1000] [--concurrency 16] [--factors 60,120] [--seed 1]
//                                 [--quick] [--json-out FILE]

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clockStepNote, type RunFigures } from "./lib/figures.ts";
import { writeBenchJob } from "./lib/job-file.ts";
import { numberListOption, numberOption, parseBenchArgs } from "./lib/options.ts";
import { atMost, formatTable, writeJson, type BenchResult, type BenchRow } from "./lib/report.ts";
import { runScenario, runTimeoutMs } from "./lib/scenario.ts";

export interface ThroughputParams {
  n: number;
  concurrency: number;
  factors: number[];
  seed: number;
}

export const FULL_THROUGHPUT: ThroughputParams = { n: 1000, concurrency: 16, factors: [60, 120], seed: 1 };
export const QUICK_THROUGHPUT: ThroughputParams = { n: 24, concurrency: 4, factors: [300, 600], seed: 1 };

const MEAN_RENDER_MS = 90_000;
const MIN_TASKS_FOR_FACTOR_CHECK = 300;

export interface FactorRuns {
  factor: number;
  /** null when that client could not run (e.g. an unfinished build): its cells print empty. */
  actbatch: RunFigures | null;
  baseline: RunFigures | null;
}

export async function runThroughputBench(
  params: ThroughputParams,
  log: (line: string) => void = () => {},
): Promise<BenchResult> {
  const started = Date.now();
  const workDir = await mkdtemp(join(tmpdir(), "actbatch-bench-throughput-"));
  try {
    const notes: string[] = [];
    const job = await writeBenchJob(workDir, "bench-throughput", params.n, params.concurrency);
    const timeoutMs = (factor: number) => runTimeoutMs(params.n, params.concurrency, MEAN_RENDER_MS, factor);
    const runs: FactorRuns[] = [];
    for (const factor of params.factors) {
      const sim = {
        speed: factor,
        concurrency: params.concurrency,
        seed: params.seed,
        shape: "bare" as const,
      };
      const figures: Record<"actbatch" | "baseline", RunFigures | null> = { actbatch: null, baseline: null };
      for (const client of ["actbatch", "baseline"] as const) {
        log(`throughput: ${client}, N=${params.n}, C=${params.concurrency}, F=${factor} ...`);
        let measured: RunFigures;
        try {
          ({ figures: measured } = await runScenario({
            client,
            job,
            sim,
            workDir: join(workDir, `${client}-f${factor}`),
            concurrency: params.concurrency,
            timeoutMs: timeoutMs(factor),
          }));
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          notes.push(`${client} at F=${factor} did not complete: ${message.split("\n")[0]}`);
          log(`  ${client}: FAILED: ${message}`);
          continue;
        }
        figures[client] = measured;
        const step = clockStepNote(measured, `${client} at F=${factor}`);
        if (step) notes.push(step);
        log(
          `  ${client}: makespan ${(measured.makespanMs / 1000).toFixed(1)} s (${measured.makespanOverIdeal.toFixed(3)} x ideal), ` +
            `${measured.getsPerTask.toFixed(2)} GETs/task, p95 lag ${(measured.lagP95OverRender * 100).toFixed(1)}% of render, ` +
            `${measured.succeeded}/${params.n} succeeded`,
        );
      }
      runs.push({ factor, ...figures });
    }
    return {
      bench: "throughput",
      startedAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      params: { ...params },
      rows: throughputRows(runs, params),
      notes: [
        ...notes,
        "ideal = LPT packing of each task's slot occupancy (PENDING + RUNNING on the service's 5 s grid) onto C slots",
        "detection lag = client's notice time - simulator's finishedAt; over the mean RUNNING time",
        "time scaled by F on all sides (simulator --speed, ACTBATCH_TIME_SCALE, SDK timers and Date.now via preload)",
      ],
      details: runs,
    };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

export function throughputRows(runs: readonly FactorRuns[], params: ThroughputParams): BenchRow[] {
  const rows: BenchRow[] = [];
  for (const { factor, actbatch: a, baseline: b } of runs) {
    const scenario = `1+2 throughput N=${params.n} C=${params.concurrency} F=${factor}`;
    const row = (
      figure: string,
      get: (f: RunFigures) => number,
      target = "",
      met: (x: number, y: number) => boolean | null = () => null,
    ): BenchRow => {
      const x = a ? get(a) : null;
      const y = b ? get(b) : null;
      return {
        scenario,
        figure,
        actbatch: x,
        baseline: y,
        ratio: x !== null && y !== null ? x / y : null,
        target,
        met: x === null ? null : met(x, y ?? Number.NaN),
      };
    };
    rows.push(
      row(
        "tasks succeeded",
        (f) => f.succeeded,
        `= ${params.n}`,
        (x) => x === params.n,
      ),
      row(
        "makespan / ideal",
        (f) => f.makespanOverIdeal,
        "<= 1.05",
        (x) => atMost(x, 1.05),
      ),
      row(
        "makespan s (ratio: vs baseline)",
        (f) => f.makespanMs / 1000,
        "ratio <= 1.00",
        (x, y) => atMost(x / y, 1),
      ),
      row("makespan / ideal (renders only)", (f) => f.makespanOverIdealRenderOnly),
      row(
        "GETs per task",
        (f) => f.getsPerTask,
        "ratio <= 0.50",
        (x, y) => atMost(x / y, 0.5),
      ),
      row("mean lag / mean render", (f) => f.lagMeanOverRender),
      row(
        "p95 lag / mean render",
        (f) => f.lagP95OverRender,
        "<= 0.10",
        (x) => atMost(x, 0.1),
      ),
      row("CPU s per 1,000 tasks", (f) => f.cpuSecondsPer1000),
      row("peak RSS MB", (f) => f.peakRssMb),
    );
  }
  // The factor check: each figure at the highest factor over the same figure at the lowest, per client
  // and for the actbatch / baseline ratio. The scale-free figures must hold still in every column.
  // CPU seconds are not scale-free (a longer run spends more on idle wake-ups, and the runner's
  // manifest checkpoints have a wall-clock floor), so their row is shown, not judged.
  const first = runs[0];
  const last = runs.at(-1);
  if (first && last && first !== last) {
    const scenario = `1+2 factor check F=${last.factor} / F=${first.factor}`;
    const pick: [string, (f: RunFigures) => number, "all" | "none"][] = [
      ["makespan / ideal", (f) => f.makespanOverIdeal, "all"],
      ["GETs per task", (f) => f.getsPerTask, "all"],
      ["mean lag / mean render", (f) => f.lagMeanOverRender, "all"],
      ["p95 lag / mean render", (f) => f.lagP95OverRender, "all"],
      ["CPU s per 1,000 tasks", (f) => f.cpuSecondsPer1000, "none"],
    ];
    const change = (client: "actbatch" | "baseline", get: (f: RunFigures) => number): number | null => {
      const low = first[client];
      const high = last[client];
      return low && high ? get(high) / get(low) : null;
    };
    for (const [figure, get, judged] of pick) {
      const a = change("actbatch", get);
      const b = change("baseline", get);
      const r = a !== null && b !== null ? a / b : null;
      const present = (judged === "all" ? [a, b, r] : []).filter((v): v is number => v !== null);
      rows.push({
        scenario,
        figure,
        actbatch: a,
        baseline: b,
        ratio: r,
        target: judged === "all" ? "0.9 .. 1.1" : "",
        // Below a few hundred tasks the sampling noise alone exceeds the band: report, do not judge.
        met:
          present.length === 0 || params.n < MIN_TASKS_FOR_FACTOR_CHECK
            ? null
            : present.every((v) => v >= 0.9 && v <= 1.1),
      });
    }
  }
  if (first && last && first !== last) rows.push(...realTimeRows(first, last, params));
  return rows;
}

/**
 * The scale-free figures extrapolated to F = 1 (real time). A fixed per-event cost c (a loopback round
 * trip, an event-loop turn) adds c / (render / F) to a lag-over-render figure, and likewise to
 * makespan / ideal, so each figure is x0 + k * F; two factors give x0 + k, the real-time value.
 */
function realTimeRows(first: FactorRuns, last: FactorRuns, params: ThroughputParams): BenchRow[] {
  const scenario = `1+2 extrapolated to F=1 (real time)`;
  const at1 = (client: "actbatch" | "baseline", get: (f: RunFigures) => number): number | null => {
    const low = first[client];
    const high = last[client];
    if (!low || !high) return null;
    const slope = (get(high) - get(low)) / (last.factor - first.factor);
    return get(low) - slope * (first.factor - 1);
  };
  const judged = params.n >= MIN_TASKS_FOR_FACTOR_CHECK;
  const pick: [string, (f: RunFigures) => number, string, (a: number, b: number) => boolean | null][] = [
    ["makespan / ideal", (f) => f.makespanOverIdeal, "<= 1.05", (a) => atMost(a, 1.05)],
    ["GETs per task", (f) => f.getsPerTask, "ratio <= 0.50", (a, b) => atMost(a / b, 0.5)],
    ["mean lag / mean render", (f) => f.lagMeanOverRender, "", () => null],
    ["p95 lag / mean render", (f) => f.lagP95OverRender, "<= 0.10", (a) => atMost(a, 0.1)],
  ];
  return pick.map(([figure, get, target, met]) => {
    const a = at1("actbatch", get);
    const b = at1("baseline", get);
    return {
      scenario,
      figure,
      actbatch: a,
      baseline: b,
      ratio: a !== null && b !== null ? a / b : null,
      target,
      met: a === null || !judged ? null : met(a, b ?? Number.NaN),
    };
  });
}

if (import.meta.main) {
  const cli = parseBenchArgs(process.argv.slice(2), ["n", "concurrency", "factors", "seed"]);
  const base = cli.quick ? QUICK_THROUGHPUT : FULL_THROUGHPUT;
  const params: ThroughputParams = {
    n: numberOption(cli.values["n"], base.n, "n"),
    concurrency: numberOption(cli.values["concurrency"], base.concurrency, "concurrency"),
    factors: numberListOption(cli.values["factors"], base.factors, "factors"),
    seed: numberOption(cli.values["seed"], base.seed, "seed"),
  };
  const result = await runThroughputBench(params, (line) => process.stderr.write(line + "\n"));
  process.stdout.write(formatTable(result.rows) + "\n");
  if (cli.jsonOut) await writeJson(cli.jsonOut, result);
}
