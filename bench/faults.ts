// Scenario 3: scenario 1 under faults (default `429=0.1,5xx=0.03,reset=0.01` on every API request).
//
// actbatch runs the same job twice against fresh simulators with the same seed, once without faults
// and once with them, at one time factor F; the figures are faulted over fault-free. The baseline
// runs the faulted job too, for what it does with the same faults: the SDK retries each request
// twice, then waitForTaskOutput throws and the task (already paid) is lost to the script.
//
// Duplicate creates are read from the simulator (creates beyond the first per request body). The only
// ones allowed are those actbatch itself reports as ambiguous (a create whose answer never came).
//
// Usage: node bench/faults.ts [--n 1000] [--concurrency 16] [--factor 120] [--faults SPEC] [--seed 1]
//                             [--quick] [--json-out FILE]

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clockStepNote, type RunFigures } from "./lib/figures.ts";
import { writeBenchJob } from "./lib/job-file.ts";
import { numberOption, parseBenchArgs } from "./lib/options.ts";
import { atMost, formatTable, writeJson, type BenchResult, type BenchRow } from "./lib/report.ts";
import { runScenario, runTimeoutMs } from "./lib/scenario.ts";
import type { ClientName } from "./lib/runners.ts";

export interface FaultsParams {
  n: number;
  concurrency: number;
  factor: number;
  faults: string;
  seed: number;
}

export const DEFAULT_FAULTS = "429=0.1,5xx=0.03,reset=0.01";
export const FULL_FAULTS: FaultsParams = {
  n: 1000,
  concurrency: 16,
  factor: 120,
  faults: DEFAULT_FAULTS,
  seed: 1,
};
export const QUICK_FAULTS: FaultsParams = {
  n: 40,
  concurrency: 4,
  factor: 600,
  faults: DEFAULT_FAULTS,
  seed: 1,
};

const MEAN_RENDER_MS = 90_000;

export async function runFaultsBench(
  params: FaultsParams,
  log: (line: string) => void = () => {},
): Promise<BenchResult> {
  const started = Date.now();
  const workDir = await mkdtemp(join(tmpdir(), "actbatch-bench-faults-"));
  const notes: string[] = [];
  try {
    const job = await writeBenchJob(workDir, "bench-faults", params.n, params.concurrency);
    const measure = async (client: ClientName, faults: string | undefined): Promise<RunFigures | null> => {
      const label = `${client}, ${faults ? `faults ${faults}` : "no faults"}`;
      log(`faults: ${label}, N=${params.n}, C=${params.concurrency}, F=${params.factor} ...`);
      try {
        const { figures } = await runScenario({
          client,
          job,
          sim: {
            speed: params.factor,
            concurrency: params.concurrency,
            seed: params.seed,
            shape: "bare",
            ...(faults ? { faults } : {}),
          },
          workDir: join(workDir, `${client}-${faults ? "faults" : "clean"}`),
          concurrency: params.concurrency,
          timeoutMs: 2 * runTimeoutMs(params.n, params.concurrency, MEAN_RENDER_MS, params.factor),
        });
        log(
          `  ${label}: makespan ${(figures.makespanMs / 1000).toFixed(1)} s, ${figures.apiRequests} API requests, ` +
            `${figures.succeeded}/${params.n} succeeded, ${figures.duplicateCreates} duplicate creates`,
        );
        const step = clockStepNote(figures, label);
        if (step) notes.push(step);
        return figures;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        notes.push(`${label} did not complete: ${message.split("\n")[0]}`);
        log(`  ${label}: FAILED: ${message}`);
        return null;
      }
    };
    const clean = await measure("actbatch", undefined);
    const faulted = await measure("actbatch", params.faults);
    const baseline = await measure("baseline", params.faults);
    return {
      bench: "faults",
      startedAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      params: { ...params },
      rows: faultRows(params, clean, faulted, baseline),
      notes: [
        ...notes,
        "ratio column: actbatch with faults / actbatch without; baseline column: the SDK baseline with the same faults",
      ],
      details: { clean, faulted, baseline },
    };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

function value(f: RunFigures | null, get: (f: RunFigures) => number): number | null {
  return f ? get(f) : null;
}

function faultRows(
  params: FaultsParams,
  clean: RunFigures | null,
  faulted: RunFigures | null,
  baseline: RunFigures | null,
): BenchRow[] {
  const scenario = `3 faults ${params.faults} N=${params.n} F=${params.factor}`;
  const ratioOf = (get: (f: RunFigures) => number): number | null =>
    clean && faulted ? get(faulted) / get(clean) : null;
  const makespanRatio = ratioOf((f) => f.makespanMs);
  const requestsRatio = ratioOf((f) => f.apiRequests);
  const unexplained = faulted ? faulted.duplicateCreates - faulted.ambiguousCreates : null;
  return [
    {
      scenario,
      figure: "tasks succeeded",
      actbatch: value(faulted, (f) => f.succeeded),
      baseline: value(baseline, (f) => f.succeeded),
      ratio: null,
      target: `= ${params.n}`,
      met: faulted ? faulted.succeeded === params.n : null,
    },
    {
      scenario,
      figure: "makespan s (ratio: faults / none)",
      actbatch: value(faulted, (f) => f.makespanMs / 1000),
      baseline: value(baseline, (f) => f.makespanMs / 1000),
      ratio: makespanRatio,
      target: "ratio <= 1.30",
      met: atMost(makespanRatio, 1.3),
    },
    {
      scenario,
      figure: "API requests (ratio: faults / none)",
      actbatch: value(faulted, (f) => f.apiRequests),
      baseline: value(baseline, (f) => f.apiRequests),
      ratio: requestsRatio,
      target: "ratio <= 1.50",
      met: atMost(requestsRatio, 1.5),
    },
    {
      scenario,
      figure: "duplicate creates",
      actbatch: value(faulted, (f) => f.duplicateCreates),
      baseline: value(baseline, (f) => f.duplicateCreates),
      ratio: null,
      target: "= 0 (+ reported ambiguous)",
      met: unexplained === null ? null : unexplained <= 0,
    },
    {
      scenario,
      figure: "tasks paid for, output not saved",
      actbatch: value(faulted, (f) => f.paidNotSaved),
      baseline: value(baseline, (f) => f.paidNotSaved),
      ratio: null,
      target: "= 0",
      met: faulted ? faulted.paidNotSaved === 0 : null,
    },
    {
      scenario,
      figure: "unhandled rejections (each fatal to the README script)",
      actbatch: null,
      baseline: value(baseline, (f) => f.unhandledRejections),
      ratio: null,
      target: "",
      met: null,
    },
    {
      scenario,
      figure: "tasks done when the README script would crash",
      actbatch: null,
      baseline: baseline ? (baseline.firstUnhandledAfterTasks ?? "never") : null,
      ratio: null,
      target: "",
      met: null,
    },
    {
      scenario,
      figure: "creates reported ambiguous",
      actbatch: value(faulted, (f) => f.ambiguousCreates),
      baseline: null,
      ratio: null,
      target: "",
      met: null,
    },
    {
      scenario,
      figure: "makespan / ideal",
      actbatch: value(faulted, (f) => f.makespanOverIdeal),
      baseline: value(baseline, (f) => f.makespanOverIdeal),
      ratio: null,
      target: "",
      met: null,
    },
  ];
}

if (import.meta.main) {
  const cli = parseBenchArgs(process.argv.slice(2), ["n", "concurrency", "factor", "faults", "seed"]);
  const base = cli.quick ? QUICK_FAULTS : FULL_FAULTS;
  const faultsValue = cli.values["faults"];
  const params: FaultsParams = {
    n: numberOption(cli.values["n"], base.n, "n"),
    concurrency: numberOption(cli.values["concurrency"], base.concurrency, "concurrency"),
    factor: numberOption(cli.values["factor"], base.factor, "factor"),
    faults: typeof faultsValue === "string" ? faultsValue : base.faults,
    seed: numberOption(cli.values["seed"], base.seed, "seed"),
  };
  const result = await runFaultsBench(params, (line) => process.stderr.write(line + "\n"));
  process.stdout.write(formatTable(result.rows) + "\n");
  if (cli.jsonOut) await writeJson(cli.jsonOut, result);
}
