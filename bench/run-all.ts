// `npm run bench`: runs every benchmark in bench/ (each in its own process), prints one table and
// writes bench/results/latest.json (plus latest.md, the same table in Markdown), both git-ignored. A
// full run (no --quick, --only or --skip) also writes bench/results.md, which is committed: the
// latest complete results, with the date, the node version and the machine.
//
// Usage: node bench/run-all.ts [--quick] [--only a,b] [--skip a,b]
//   --quick   every bench in its quick mode (small N, high time factors): checks the harness, < 60 s
//
// Protocol with each bench: it is run as `node bench/<name>.ts [--quick]` with BENCH_JSON_OUT=<file>
// (and BENCH_QUICK=1 in quick mode) in the environment. A bench that writes a BenchResult
// (bench/lib/report.ts: { bench, rows: [{ scenario, figure, actbatch, baseline, ratio, target, met }] })
// there gets its rows in the table; one that does not still runs, and its stdout is kept in the
// results file. Every other bench/*.ts (plan, sim, preflight, ...) is picked up after ours. A bench
// that cannot measure on this machine (report-sheet without /usr/bin/chromium) writes a row whose
// figure says "not measured: <why>" and exits 0: it is reported, and it does not fail the run.

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { formatMarkdownTable, formatTable, writeJson } from "./lib/report.ts";
import type { BenchResult, BenchRow } from "./lib/report.ts";
import { repoRoot } from "./lib/sim-process.ts";

const benchDir = join(repoRoot, "bench");
const resultsDir = join(benchDir, "results");

/** Our own benches, in the order they run (cheapest check of the harness first). */
const OWN_BENCHES = ["throughput", "faults", "scale", "downloads"];

export interface BenchOutcome {
  name: string;
  file: string;
  exitCode: number | null;
  durationMs: number;
  result: BenchResult | null;
  stdout: string;
  stderrTail: string;
}

export async function listBenches(): Promise<{ name: string; file: string }[]> {
  const names = [...OWN_BENCHES];
  const entries = await readdir(benchDir);
  for (const entry of entries.toSorted()) {
    const name = entry.slice(0, -".ts".length);
    if (entry.endsWith(".ts") && entry !== "run-all.ts" && !names.includes(name)) names.push(name);
  }
  return names
    .map((name) => ({ name, file: join(benchDir, `${name}.ts`) }))
    .filter((bench) => existsSync(bench.file));
}

export async function runBench(
  bench: { name: string; file: string },
  quick: boolean,
  scratch: string,
): Promise<BenchOutcome> {
  const jsonOut = join(scratch, `${bench.name}.json`);
  const started = Date.now();
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
    (resolve, reject) => {
      const child = spawn(process.execPath, [bench.file, ...(quick ? ["--quick"] : [])], {
        cwd: repoRoot,
        env: { ...process.env, BENCH_JSON_OUT: jsonOut, ...(quick ? { BENCH_QUICK: "1" } : {}) },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      let err = "";
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
        err = (err + chunk).slice(-8000);
        process.stderr.write(chunk);
      });
      child.on("error", reject);
      child.on("close", (exitCode) => resolve({ code: exitCode, stdout: out, stderr: err }));
    },
  );
  let result: BenchResult | null = null;
  try {
    const parsed = JSON.parse(await readFile(jsonOut, "utf8")) as Partial<BenchResult>;
    if (Array.isArray(parsed.rows)) result = parsed as BenchResult;
  } catch {
    // The bench wrote no result file: its stdout stands in for it.
  }
  return {
    name: bench.name,
    file: bench.file,
    exitCode: code,
    durationMs: Date.now() - started,
    result,
    stdout,
    stderrTail: stderr.slice(-2000),
  };
}

function machine(): Record<string, unknown> {
  const cpuList = cpus();
  return {
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cores: cpuList.length,
    cpu: cpuList[0]?.model ?? "unknown",
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
  };
}

function splitList(value: string | undefined): string[] {
  return value === undefined ? [] : value.split(",").map((part) => part.trim());
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { quick: { type: "boolean" }, only: { type: "string" }, skip: { type: "string" } },
    strict: true,
  });
  // BENCH_QUICK=1 too: `npm run bench -- --quick` loses the flag in the script's `sh -c '...'` wrapper.
  const quick = values.quick === true || process.env["BENCH_QUICK"] === "1";
  const only = splitList(values.only);
  const skip = splitList(values.skip);
  const benches = (await listBenches()).filter(
    (bench) => (only.length === 0 || only.includes(bench.name)) && !skip.includes(bench.name),
  );
  const scratch = await mkdtemp(join(tmpdir(), "actbatch-bench-all-"));
  const started = Date.now();
  const outcomes: BenchOutcome[] = [];
  try {
    for (const bench of benches) {
      process.stderr.write(`\n== ${bench.name}${quick ? " (quick)" : ""} ==\n`);
      outcomes.push(await runBench(bench, quick, scratch));
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  const rows: BenchRow[] = outcomes.flatMap((outcome) => outcome.result?.rows ?? []);
  // A bench without a result file (a printed report only) is not a failure: its output is kept.
  const failures = outcomes.filter((outcome) => outcome.exitCode !== 0);
  const summary = {
    date: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    quick,
    machine: machine(),
    rows,
    benches: outcomes,
  };
  await writeJson(join(resultsDir, "latest.json"), summary);
  const header = `actbatch benchmarks, ${summary.date}, node ${process.version}, ${String(summary.machine["cores"])} cores, ${String(summary.machine["memoryGiB"])} GiB${quick ? ", quick mode" : ""}`;
  await writeFile(join(resultsDir, "latest.md"), `${header}\n\n${formatMarkdownTable(rows)}\n`);
  const complete = !quick && only.length === 0 && skip.length === 0;
  if (complete) await writeFile(join(benchDir, "results.md"), resultsDocument(header, rows, outcomes));
  process.stdout.write(`\n${header}\n\n${formatTable(rows)}\n`);
  for (const outcome of outcomes) {
    const notes = outcome.result?.notes ?? [];
    for (const note of notes) process.stdout.write(`note (${outcome.name}): ${note}\n`);
    if (outcome.result === null && outcome.stdout.trim() !== "")
      process.stdout.write(`\n${outcome.name} (no result file):\n${outcome.stdout.trim()}\n`);
  }
  for (const failure of failures)
    process.stdout.write(
      `bench ${failure.name} failed (exit ${failure.exitCode}, result file ${failure.result ? "written" : "missing"})\n`,
    );
  process.stdout.write(
    `\nwritten: bench/results/latest.json, bench/results/latest.md${complete ? ", bench/results.md" : ""} (${((Date.now() - started) / 1000).toFixed(0)} s)\n`,
  );
  process.exitCode = failures.length > 0 ? 1 : 0;
}

/**
 * bench/results.md: the table, each bench's notes, the printed reports of benches without a table,
 * and what failed, for people reading the repository.
 */
export function resultsDocument(header: string, rows: BenchRow[], outcomes: BenchOutcome[]): string {
  const lines = [
    "# Benchmark results",
    "",
    `${header}. Written by \`npm run bench\` (see bench/README.md for what each figure means).`,
    "",
    formatMarkdownTable(rows),
    "",
  ];
  const notes = outcomes.flatMap((outcome) =>
    (outcome.result?.notes ?? []).map((note) => `- ${outcome.name}: ${note}`),
  );
  if (notes.length > 0) lines.push("Notes:", "", ...notes, "");
  for (const outcome of outcomes.filter((o) => o.result === null && o.stdout.trim() !== ""))
    lines.push(`${outcome.name}:`, "", "```", outcome.stdout.trim(), "```", "");
  const failed = outcomes.filter((outcome) => outcome.exitCode !== 0);
  if (failed.length > 0)
    lines.push("Failed:", "", ...failed.map((outcome) => `- ${outcome.name}: exit ${outcome.exitCode}`), "");
  return lines.join("\n");
}
