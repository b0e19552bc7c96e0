// Scenario 4: scale. N = 10,000 tasks against a very fast simulator (every clock divided by F = 1000,
// so a 90 s render takes 90 ms), account concurrency 64 (the most a job file allows): what does the runner itself cost per task?
// Figures: the runner's peak RSS (target at most 250 MB) and CPU time per task (target at most 2 ms;
// loopback HTTP, so no TLS in it), plus wall time and GETs per task for context.
//
// The output folder goes on tmpfs (/dev/shm) when there is one: the runner fsyncs every journal
// record, file and directory, and at F = 1000 a disk's fsync latency (not the runner) would set the
// pace (about a dozen tasks per second here), stretching a 10,000-task run to a quarter of an hour of
// waiting while measuring the same CPU and memory. In real time that latency is hidden by the renders.
//
// Usage: node bench/scale.ts [--n 10000] [--concurrency 64] [--factor 1000] [--seed 1]
//                            [--quick] [--json-out FILE]

import { mkdtemp, rm, statfs } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RunFigures } from "./lib/figures.ts";
import { writeBenchJob } from "./lib/job-file.ts";
import { numberOption, parseBenchArgs } from "./lib/options.ts";
import { atMost, formatTable, writeJson, type BenchResult, type BenchRow } from "./lib/report.ts";
import { runScenario, runTimeoutMs } from "./lib/scenario.ts";

export interface ScaleParams {
  n: number;
  concurrency: number;
  factor: number;
  seed: number;
}

export const FULL_SCALE: ScaleParams = { n: 10_000, concurrency: 64, factor: 1000, seed: 1 };
export const QUICK_SCALE: ScaleParams = { n: 300, concurrency: 50, factor: 1000, seed: 1 };

const MEAN_RENDER_MS = 90_000;

export async function runScaleBench(
  params: ScaleParams,
  log: (line: string) => void = () => {},
): Promise<BenchResult> {
  const started = Date.now();
  const notes: string[] = [];
  const root = await scratchRoot();
  if (root !== tmpdir()) notes.push(`outputs on tmpfs (${root}) so that fsync latency does not set the pace`);
  else notes.push(`no tmpfs: outputs in ${root}, wall time includes the disk's fsync latency`);
  const workDir = await mkdtemp(join(root, "actbatch-bench-scale-"));
  let figures: RunFigures | null = null;
  try {
    const job = await writeBenchJob(workDir, "bench-scale", params.n, params.concurrency);
    log(`scale: actbatch, N=${params.n}, C=${params.concurrency}, F=${params.factor} ...`);
    try {
      ({ figures } = await runScenario({
        client: "actbatch",
        job,
        sim: { speed: params.factor, concurrency: params.concurrency, seed: params.seed, shape: "bare" },
        workDir: join(workDir, "actbatch"),
        concurrency: params.concurrency,
        // CPU, not the simulated clock, bounds this run: allow up to 50 ms per task on top.
        timeoutMs: runTimeoutMs(params.n, params.concurrency, MEAN_RENDER_MS, params.factor) + params.n * 50,
      }));
      log(
        `  actbatch: ${figures.succeeded}/${params.n} succeeded in ${(figures.wallMs / 1000).toFixed(1)} s, ` +
          `CPU ${figures.cpuSeconds.toFixed(2)} s, peak RSS ${figures.peakRssMb.toFixed(1)} MB`,
      );
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      notes.push(`actbatch did not complete: ${message.split("\n")[0]}`);
      log(`  actbatch: FAILED: ${message}`);
    }
    return {
      bench: "scale",
      startedAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      params: { ...params },
      rows: scaleRows(params, figures),
      notes: [
        ...notes,
        "CPU = user + system time of the runner process (GNU time); RSS = its peak resident set",
      ],
      details: figures,
    };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/** /dev/shm when it is a usable tmpfs with room to spare, else the OS temp folder. */
async function scratchRoot(): Promise<string> {
  try {
    const fs = await statfs("/dev/shm");
    if (fs.bavail * fs.bsize > 2 * 1024 ** 3) return "/dev/shm";
  } catch {
    // No /dev/shm on this system.
  }
  return tmpdir();
}

function scaleRows(params: ScaleParams, f: RunFigures | null): BenchRow[] {
  const scenario = `4 scale N=${params.n} C=${params.concurrency} F=${params.factor}`;
  const row = (figure: string, value: number | null, target = "", met: boolean | null = null): BenchRow => ({
    scenario,
    figure,
    actbatch: value,
    baseline: null,
    ratio: null,
    target,
    met,
  });
  const cpuMs = f ? f.cpuMsPerTask : null;
  const rss = f ? f.peakRssMb : null;
  return [
    row("tasks succeeded", f ? f.succeeded : null, `= ${params.n}`, f ? f.succeeded === params.n : null),
    row("peak RSS MB", rss, "<= 250", atMost(rss, 250)),
    row("CPU ms per task", cpuMs, "<= 2", atMost(cpuMs, 2)),
    row("wall s", f ? f.wallMs / 1000 : null),
    row("makespan / ideal", f ? f.makespanOverIdeal : null),
    row("GETs per task", f ? f.getsPerTask : null),
  ];
}

if (import.meta.main) {
  const cli = parseBenchArgs(process.argv.slice(2), ["n", "concurrency", "factor", "seed"]);
  const base = cli.quick ? QUICK_SCALE : FULL_SCALE;
  const params: ScaleParams = {
    n: numberOption(cli.values["n"], base.n, "n"),
    concurrency: numberOption(cli.values["concurrency"], base.concurrency, "concurrency"),
    factor: numberOption(cli.values["factor"], base.factor, "factor"),
    seed: numberOption(cli.values["seed"], base.seed, "seed"),
  };
  const result = await runScaleBench(params, (line) => process.stderr.write(line + "\n"));
  process.stdout.write(formatTable(result.rows) + "\n");
  if (cli.jsonOut) await writeJson(cli.jsonOut, result);
}
