// `actbatch plan --json` on a 100,000-task sweep: wall time and peak RSS of the whole command (Node
// start-up, YAML, schema, expansion, keys, output names, 47 MB of JSON on a pipe). The baseline,
// measured the same way in the same run, is the same job at 10,000 tasks; a one-task job measures
// the fixed start-up cost, so the per-task cost of both sizes can be compared (about 1 = linear).
//
// Usage: node bench/plan.ts [--quick] [--tasks 100000] [--baseline-tasks 10000] [--runs 3] [--json-out FILE]
// Build first (npm run build): the command run is bin/actbatch.js, which imports dist/.

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runMeasured, type Measured } from "./lib/measure.ts";
import { numberOption, parseBenchArgs } from "./lib/options.ts";
import { atMost, formatTable, writeJson, type BenchResult, type BenchRow } from "./lib/report.ts";
import { repoRoot } from "./lib/sim-process.ts";

const WALL_TARGET_S = 2;
const RSS_TARGET_MB = 300;
const PAIRS = 4;
const INTENSITIES = 5;

/** A realistic sweep: 4 pairs x 5 intensities x a seed range, named by pair, intensity and seed. */
function jobFile(tasks: number): { text: string; count: number } {
  const seeds = Math.max(1, Math.round(tasks / (PAIRS * INTENSITIES)));
  const pairs = Array.from(
    { length: PAIRS },
    (_, i) =>
      `  - { id: p${i}, character: { type: image, uri: "https://assets.example.com/c${i}.png" }, reference: take }`,
  );
  const text = [
    "version: 1",
    "name: bench",
    "assets:",
    '  take: { type: video, uri: "https://assets.example.com/take.mp4" }',
    "pairs:",
    ...pairs,
    "sweep:",
    "  expressionIntensity: [1, 2, 3, 4, 5]",
    `  seed: { from: 1, to: ${seeds} }`,
    "output:",
    '  name: "{pair}/ei{expressionIntensity}/s{seed}.mp4"',
    "",
  ].join("\n");
  return { text, count: PAIRS * INTENSITIES * seeds };
}

interface Sample {
  tasks: number;
  runs: Measured[];
  wallS: number;
  cpuS: number;
  peakRssMb: number;
}

function median(values: number[]): number {
  return values.toSorted((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
}

async function measurePlan(dir: string, tasks: number, runs: number): Promise<Sample> {
  const file = join(dir, `plan-${tasks}.yaml`);
  const job = jobFile(tasks);
  await writeFile(file, job.text);
  const results: Measured[] = [];
  for (let run = 0; run < runs; run++) {
    const measured = await runMeasured(
      process.execPath,
      [join(repoRoot, "bin/actbatch.js"), "plan", file, "--json", "--max-tasks", String(job.count)],
      { timeoutMs: 120_000 },
    );
    const total = /^\{"job":"bench",(?:"outputDir":"[^"]*",)?"total":(\d+),/.exec(measured.stdout)?.[1];
    if (measured.code !== 0 || total !== String(job.count)) {
      throw new Error(
        `plan of ${tasks} tasks failed (exit ${String(measured.code)}): ${measured.stderr.slice(0, 500) || measured.stdout.slice(0, 200)}`,
      );
    }
    measured.stdout = `(${measured.stdout.length} bytes, total ${total})`;
    results.push(measured);
  }
  return {
    tasks: job.count,
    runs: results,
    // Best of the runs: on a shared machine the fastest run is the one least slowed by others.
    wallS: Math.min(...results.map((r) => r.wallMs)) / 1000,
    cpuS: median(results.map((r) => r.cpuSeconds)),
    peakRssMb: Math.max(...results.map((r) => r.peakRssBytes)) / (1024 * 1024),
  };
}

async function main(): Promise<void> {
  const options = parseBenchArgs(process.argv.slice(2), ["tasks", "baseline-tasks", "runs"]);
  const tasks = numberOption(options.values["tasks"], options.quick ? 20_000 : 100_000, "tasks");
  const baselineTasks = numberOption(
    options.values["baseline-tasks"],
    options.quick ? 2_000 : 10_000,
    "baseline-tasks",
  );
  const runs = numberOption(options.values["runs"], options.quick ? 1 : 3, "runs");
  const started = Date.now();
  const dir = await mkdtemp(join(tmpdir(), "actbatch-bench-plan-"));
  try {
    const startup = await measurePlan(dir, PAIRS * INTENSITIES, runs);
    const baseline = await measurePlan(dir, baselineTasks, runs);
    const large = await measurePlan(dir, tasks, runs);
    // CPU time, not wall time: it does not depend on what else the machine is doing.
    const perTaskUs = (sample: Sample) => ((sample.cpuS - startup.cpuS) / sample.tasks) * 1e6;
    const label = `plan --json, ${large.tasks.toLocaleString("en-US")} tasks`;
    const rows: BenchRow[] = [
      {
        scenario: label,
        figure: "wall s (baseline: 10x fewer tasks)",
        actbatch: large.wallS,
        baseline: baseline.wallS,
        ratio: large.wallS / baseline.wallS,
        target: `<= ${WALL_TARGET_S}`,
        met: atMost(large.wallS, WALL_TARGET_S),
      },
      {
        scenario: label,
        figure: "peak RSS MB (baseline: 10x fewer tasks)",
        actbatch: large.peakRssMb,
        baseline: baseline.peakRssMb,
        ratio: large.peakRssMb / baseline.peakRssMb,
        target: `<= ${RSS_TARGET_MB}`,
        met: atMost(large.peakRssMb, RSS_TARGET_MB),
      },
      {
        scenario: label,
        figure: "CPU s (user + sys)",
        actbatch: large.cpuS,
        baseline: baseline.cpuS,
        ratio: large.cpuS / baseline.cpuS,
        target: "",
        met: null,
      },
      {
        scenario: label,
        figure: "CPU us per task, start-up excluded",
        actbatch: perTaskUs(large),
        baseline: perTaskUs(baseline),
        ratio: perTaskUs(large) / perTaskUs(baseline),
        target: "",
        met: null,
      },
      {
        scenario: `plan --json, ${startup.tasks} tasks (start-up)`,
        figure: "wall s",
        actbatch: startup.wallS,
        baseline: null,
        ratio: null,
        target: "",
        met: null,
      },
    ];
    console.log(formatTable(rows));
    console.log(
      `(wall: best of ${runs} run${runs === 1 ? "" : "s"} per size, CPU: median; ${PAIRS} pairs x ${INTENSITIES} intensities x a seed range; ` +
        `stdout read through a pipe; CPU and RSS by ${large.runs[0]?.method ?? "?"})`,
    );
    if (options.jsonOut) {
      const result: BenchResult = {
        bench: "plan",
        startedAt: new Date(started).toISOString(),
        durationMs: Date.now() - started,
        params: { tasks, baselineTasks, runs },
        rows,
        notes: ["Wall time includes Node start-up; on a busy 2-core machine it can be twice the CPU time."],
        details: {
          startup: { wallS: startup.wallS, cpuS: startup.cpuS, peakRssMb: startup.peakRssMb },
          baseline: {
            tasks: baseline.tasks,
            wallS: baseline.wallS,
            cpuS: baseline.cpuS,
            peakRssMb: baseline.peakRssMb,
          },
          main: { tasks: large.tasks, wallS: large.wallS, cpuS: large.cpuS, peakRssMb: large.peakRssMb },
        },
      };
      await writeJson(options.jsonOut, result);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
