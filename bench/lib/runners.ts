// The two clients under test, each run as its own measured process against a simulator:
//   - actbatch: `node bin/actbatch.js run job.yaml --out DIR --concurrency C --base-url URL --json`,
//     with ACTBATCH_TIME_SCALE = the simulator's speed;
//   - the baseline: bench/baselines/sdk-baseline.ts under the scale-timers.ts preload.
// Each returns, per service task id, the moment the client noticed the task was terminal:
//   - actbatch: the `at` time of the journal's `terminal` record (written the moment the runner saw
//     the terminal status, before the download), read from <out>/.actbatch/journal.ndjson;
//   - baseline: the moment waitForTaskOutput() returned, recorded by the script itself.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { runMeasured, type Measured } from "./measure.ts";
import { binPath, repoRoot } from "./sim-process.ts";

export const BENCH_API_KEY = "bench-key-not-a-secret";

const baselineScript = join(repoRoot, "bench", "baselines", "sdk-baseline.ts");
const scaleTimersModule = join(repoRoot, "bench", "baselines", "scale-timers.ts");

export type ClientName = "actbatch" | "baseline";

export interface ClientRun {
  client: ClientName;
  measured: Measured;
  /** Service task id -> real epoch ms at which the client noticed the task's terminal state. */
  noticedAt: Map<string, number>;
  /** Service task id -> real epoch ms at which the client had the output file on disk. */
  outputAt: Map<string, number>;
  succeeded: number;
  failed: number;
  /** Tasks that ended in an exception (baseline) or not at all. */
  errors: number;
  /** Creates the client itself reports as possibly duplicated (actbatch's ambiguous records). */
  ambiguous: number;
  /** Baseline: rejections with no handler attached, each fatal to the README's script as written. */
  unhandledRejections: number;
  /** Baseline: tasks finished when the first of them came (where the plain script would have died). */
  firstUnhandledAfterTasks: number | null;
  /** actbatch's --json summary, or the baseline's timer-scaling counters. */
  report: unknown;
}

export interface ClientRunOptions {
  outDir: string;
  concurrency: number;
  timeScale: number;
  timeoutMs: number;
}

export async function runActbatch(
  options: ClientRunOptions & { jobFile: string; baseUrl: string; extraArgs?: string[] },
): Promise<ClientRun> {
  const args = [
    binPath,
    "run",
    options.jobFile,
    "--out",
    options.outDir,
    "--concurrency",
    String(options.concurrency),
    "--base-url",
    options.baseUrl,
    "--json",
    ...(options.extraArgs ?? []),
  ];
  const measured = await runMeasured(process.execPath, args, {
    cwd: repoRoot,
    env: {
      ...process.env,
      CI: "true",
      NO_COLOR: "1",
      ACTBATCH_TIME_SCALE: String(options.timeScale),
      COMETAPI_KEY: BENCH_API_KEY,
      RUNWAYML_API_SECRET: BENCH_API_KEY,
    },
    timeoutMs: options.timeoutMs,
  });
  const journal = await readJournal(join(options.outDir, ".actbatch", "journal.ndjson"));
  const noticedAt = new Map<string, number>();
  const outputAt = new Map<string, number>();
  let succeeded = 0;
  let failed = 0;
  let ambiguous = 0;
  for (const record of journal) {
    if (record.t === "ambiguous") ambiguous += 1;
    if (typeof record.taskId !== "string" || typeof record.at !== "string") continue;
    // The last output record of a task: when all its files were verified and in place.
    if (record.t === "output") outputAt.set(record.taskId, Date.parse(record.at));
    if (record.t !== "terminal") continue;
    noticedAt.set(record.taskId, Date.parse(record.at));
    if (record.status === "SUCCEEDED") succeeded += 1;
    else failed += 1;
  }
  let report: unknown = null;
  try {
    report = JSON.parse(measured.stdout);
  } catch {
    report = measured.stdout.trim() === "" ? null : { unparsed: measured.stdout.slice(0, 2000) };
  }
  if (measured.code !== 0 && measured.code !== 1)
    throw new Error(
      `actbatch run exited ${measured.code ?? measured.signal}: ${measured.stderr.trim().slice(-2000)}`,
    );
  return {
    client: "actbatch",
    measured,
    noticedAt,
    outputAt,
    succeeded,
    failed,
    errors: 0,
    ambiguous,
    unhandledRejections: 0,
    firstUnhandledAfterTasks: null,
    report,
  };
}

interface JournalLine {
  t?: string;
  taskId?: unknown;
  at?: unknown;
  status?: unknown;
}

async function readJournal(file: string): Promise<JournalLine[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    return [];
  }
  const records: JournalLine[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    try {
      records.push(JSON.parse(line) as JournalLine);
    } catch {
      // A torn last line is possible only after a crash; the bench never crashes the runner.
    }
  }
  return records;
}

interface BaselineRecord {
  taskId: string | null;
  outcome: "succeeded" | "failed" | "error";
  noticedAt: number | null;
  downloadedAt: number | null;
}

export async function runBaseline(
  options: ClientRunOptions & { tasksFile: string; origin: string; resultFile: string },
): Promise<ClientRun> {
  const args = [
    "--import",
    scaleTimersModule,
    baselineScript,
    "--tasks",
    options.tasksFile,
    "--out",
    options.outDir,
    "--concurrency",
    String(options.concurrency),
    "--result",
    options.resultFile,
  ];
  const measured = await runMeasured(process.execPath, args, {
    cwd: repoRoot,
    env: {
      ...process.env,
      BENCH_TIME_FACTOR: String(options.timeScale),
      RUNWAYML_BASE_URL: options.origin,
      RUNWAYML_API_SECRET: BENCH_API_KEY,
    },
    timeoutMs: options.timeoutMs,
  });
  if (measured.code !== 0)
    throw new Error(
      `the SDK baseline exited ${measured.code ?? measured.signal}: ${measured.stderr.trim().slice(-2000)}`,
    );
  const result = JSON.parse(await readFile(options.resultFile, "utf8")) as {
    tasks: BaselineRecord[];
    timerScale: unknown;
    unhandledRejections: { count: number; doneBefore: number; firstError: string | null };
  };
  const noticedAt = new Map<string, number>();
  const outputAt = new Map<string, number>();
  let succeeded = 0;
  let failed = 0;
  let errors = 0;
  for (const task of result.tasks) {
    if (task.outcome === "succeeded") succeeded += 1;
    else if (task.outcome === "failed") failed += 1;
    else errors += 1;
    if (task.taskId !== null && task.noticedAt !== null && task.outcome !== "error")
      noticedAt.set(task.taskId, task.noticedAt);
    if (task.taskId !== null && task.downloadedAt !== null) outputAt.set(task.taskId, task.downloadedAt);
  }
  return {
    client: "baseline",
    measured,
    noticedAt,
    outputAt,
    succeeded,
    failed,
    errors,
    ambiguous: 0,
    unhandledRejections: result.unhandledRejections.count,
    firstUnhandledAfterTasks:
      result.unhandledRejections.count > 0 ? result.unhandledRejections.doneBefore : null,
    report: {
      timerScale: result.timerScale,
      errors: result.tasks.filter((t) => t.outcome === "error").length,
      unhandledRejections: result.unhandledRejections,
    },
  };
}
