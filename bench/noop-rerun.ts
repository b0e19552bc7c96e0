// A no-op rerun of a finished job: N = 10,000 tasks, every output on disk and hashed by an earlier
// run (`.actbatch/hashes.json`). The nightly CI run of an unchanged spec is exactly this: it must
// make no API call and cost next to nothing. Target: at most 1 s of wall time for the whole command.
//
// The folder is built without rendering: a journal that records every task as created, succeeded
// and downloaded, with one small file per task. A first rerun writes the manifest and hashes every
// file; the measured reruns then find everything unchanged. The baseline is Node's own start-up (the
// same binary running an empty script): the floor of any CLI command. The breakdown times the steps of
// a rerun in this process, from dist/: reading and folding the journal, checking every recorded
// output against the hash cache, and the manifest (assembled, serialised, compared with the file).
//
// Usage: node bench/noop-rerun.ts [--quick] [--n 10000] [--runs 3] [--json-out FILE]
// Build first (npm run build): the command run is bin/actbatch.js, which imports dist/.

import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { sha256Hex, taskKeyOf } from "../dist/canonical.js";
import { loadPlan } from "../dist/job/index.js";
import { foldJournal, lastAttempt } from "../dist/journal/fold.js";
import { JournalWriter, readJournal } from "../dist/journal/writer.js";
import { assembleManifest, writeManifest } from "../dist/manifest/manifest.js";
import { HashCache } from "../dist/run/hash-cache.js";
import { verifyRecordedOutputs } from "../dist/run/output-files.js";
import { deriveManifestTask } from "../dist/run/manifest-tasks.js";
import { writeBenchJob } from "./lib/job-file.ts";
import { numberOption, parseBenchArgs } from "./lib/options.ts";
import { atMost, formatTable, writeJson, type BenchResult, type BenchRow } from "./lib/report.ts";
import { repoRoot } from "./lib/sim-process.ts";

const WALL_TARGET_S = 1;

interface Timed {
  wallS: number;
  code: number | null;
  stderr: string;
}

function runNode(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Timed> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
    child.on("error", reject);
    child.on("close", (code) => resolve({ wallS: (performance.now() - started) / 1000, code, stderr }));
  });
}

/** The best of `runs` (the least disturbed by anything else on the machine). */
async function best(runs: number, once: () => Promise<Timed>): Promise<Timed> {
  let fastest: Timed | null = null;
  for (let run = 0; run < runs; run++) {
    const timed = await once();
    if (timed.code !== 0) throw new Error(`exit ${timed.code}: ${timed.stderr}`);
    if (fastest === null || timed.wallS < fastest.wallS) fastest = timed;
  }
  return fastest as Timed;
}

async function seconds<T>(work: () => Promise<T>): Promise<{ value: T; s: number }> {
  const started = performance.now();
  const value = await work();
  return { value, s: (performance.now() - started) / 1000 };
}

/** A finished folder: every task created, succeeded and downloaded, as a run records it. */
async function finishedFolder(dir: string, n: number): Promise<{ jobFile: string; outDir: string }> {
  const job = await writeBenchJob(dir, "bench-noop", n, 16);
  const loaded = await loadPlan(job.jobFile, { cwd: dir });
  const outDir = join(dir, loaded.plan.outputDir);
  const journal = new JournalWriter(outDir, { intactBytes: 0, tornTail: false, missingNewline: false });
  const records = [];
  for (const task of loaded.plan.tasks) {
    const bytes = `render of ${taskKeyOf(task.request)}\n`.repeat(8);
    const path = join(outDir, task.output);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, bytes);
    const taskId = `task-${task.key}`;
    const base = { key: task.key, attempt: 1 };
    records.push(
      journal.append({
        t: "intent",
        ...base,
        pair: task.pair,
        params: task.params,
        request: task.request,
        output: task.output,
      }),
      journal.append({ t: "created", ...base, taskId }),
      journal.append({ t: "terminal", ...base, taskId, status: "SUCCEEDED", error: null, outputs: 1 }),
      journal.append({
        t: "output",
        ...base,
        taskId,
        index: 0,
        file: task.output,
        bytes: Buffer.byteLength(bytes),
        sha256: sha256Hex(bytes),
      }),
    );
  }
  await Promise.all(records);
  await journal.close();
  return { jobFile: job.jobFile, outDir };
}

async function main(): Promise<void> {
  const options = parseBenchArgs(process.argv.slice(2), ["n", "runs"]);
  const n = numberOption(options.values.n, options.quick ? 500 : 10_000, "--n");
  const runs = numberOption(options.values.runs, options.quick ? 1 : 3, "--runs");
  const started = Date.now();
  const dir = await mkdtemp(join(tmpdir(), "actbatch-bench-noop-"));
  try {
    const { jobFile, outDir } = await finishedFolder(dir, n);
    // No API is reachable: a rerun that tried to call one would fail, not pass slowly.
    const env = {
      ...process.env,
      CI: "true",
      COMETAPI_KEY: "bench-key",
      ACTBATCH_BASE_URL: "http://127.0.0.1:9",
    };
    const bin = join(repoRoot, "bin", "actbatch.js");
    const rerun = (): Promise<Timed> => runNode([bin, "run", jobFile, "--no-preflight"], dir, env);
    // The first rerun writes the manifest and hashes every file once.
    const first = await best(1, rerun);
    const noop = await best(runs, rerun);
    const startup = await best(runs, () => runNode(["-e", ""], dir, env));

    // The same steps in this process, to see where the time goes.
    const loaded = await loadPlan(jobFile, { cwd: dir });
    const journalStep = await seconds(async () => foldJournal((await readJournal(outDir)).records));
    const fold = journalStep.value;
    const checkStep = await seconds(async () => {
      const cache = await HashCache.open(outDir);
      const verified = new Map<string, Set<number>>();
      for (const state of fold.values())
        verified.set(
          state.key,
          await verifyRecordedOutputs(outDir, lastAttempt(state)?.outputs ?? [], cache),
        );
      return verified;
    });
    const manifestStep = await seconds(async () => {
      const tasks = loaded.plan.tasks.map((task) =>
        deriveManifestTask(task, task.output, fold.get(task.key), checkStep.value.get(task.key) ?? new Set()),
      );
      return writeManifest(outDir, assembleManifest({ plan: loaded.plan, tasks }));
    });

    const label = `no-op rerun, ${n} tasks`;
    const rows: BenchRow[] = [
      {
        scenario: label,
        figure: "wall s (vs Node start-up)",
        actbatch: noop.wallS,
        baseline: startup.wallS,
        ratio: noop.wallS / startup.wallS,
        target: `<= ${WALL_TARGET_S} s`,
        met: atMost(noop.wallS, WALL_TARGET_S),
      },
      {
        scenario: label,
        figure: "first rerun, hashing every file, s",
        actbatch: first.wallS,
        baseline: null,
        ratio: null,
        target: "",
        met: null,
      },
      {
        scenario: label,
        figure: "journal read and fold, s",
        actbatch: journalStep.s,
        baseline: null,
        ratio: null,
        target: "",
        met: null,
      },
      {
        scenario: label,
        figure: "output checks (hash cache), s",
        actbatch: checkStep.s,
        baseline: null,
        ratio: null,
        target: "",
        met: null,
      },
      {
        scenario: label,
        figure: "manifest (derive, serialise, compare), s",
        actbatch: manifestStep.s,
        baseline: null,
        ratio: null,
        target: "",
        met: null,
      },
    ];
    console.log(formatTable(rows));
    console.log(
      `(wall: best of ${runs} run${runs === 1 ? "" : "s"}; the steps are timed once, in this process, from dist/)`,
    );
    if (options.jsonOut) {
      const result: BenchResult = {
        bench: "noop-rerun",
        startedAt: new Date(started).toISOString(),
        durationMs: Date.now() - started,
        params: { n, runs },
        rows,
        notes: ["The folder is built without rendering; no API is reachable during the reruns."],
        details: { firstS: first.wallS, noopS: noop.wallS, startupS: startup.wallS },
      };
      await writeJson(options.jsonOut, result);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
