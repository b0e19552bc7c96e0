// Scenario 5: downloads. 16 outputs of 256 MiB each (the simulator's synthetic payloads, --output-bytes),
// renders made near-instant (F = 1000). actbatch downloads them (streaming to a temp file, sha256,
// fsync, rename); then, in the same run and from the same simulator, `curl` fetches the same files
// (fresh signed URLs from GET /v1/tasks/:id) with as many transfers at once as actbatch runs downloads
// (its download slots, `downloadConcurrencyFor`: 4 here), one `curl` process per file: the bar for raw
// throughput.
//
//   actbatch throughput = bytes / (first task noticed SUCCEEDED -> last file verified and in place),
//                         both from its journal (`terminal` and `output` records)
//   curl throughput     = bytes / (first curl spawned -> last curl exited)
//   curl + sync         = the same, up to `sync FILE...` having flushed curl's files to disk: the same
//                         durability actbatch gives (it fsyncs each file before renaming it into
//                         place), which the page cache otherwise hides from curl's figure
// The target (>= 0.9) is judged against curl + sync; the plain curl figure is printed beside it.
//
// The same run at 64 MiB shows whether the runner's peak RSS grows with the file size (it must not).
// Free disk space is checked first (one set of files is on disk at a time); the size is halved with
// a printed note until the files fit with room to spare. Every file is deleted afterwards.
//
// Usage: node bench/downloads.ts [--files 16] [--mib 256] [--small-mib 64] [--quick] [--json-out FILE]

import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, statfs } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { downloadConcurrencyFor } from "../dist/run/scheduler.js";
import { writeBenchJob } from "./lib/job-file.ts";
import { epochNow } from "./lib/measure.ts";
import { numberOption, parseBenchArgs } from "./lib/options.ts";
import { atLeast, atMost, formatTable, writeJson, type BenchResult, type BenchRow } from "./lib/report.ts";
import { BENCH_API_KEY, runActbatch } from "./lib/runners.ts";
import { startSimulatorProcess } from "./lib/sim-process.ts";

export interface DownloadsParams {
  files: number;
  mib: number;
  smallMib: number;
  factor: number;
  seed: number;
}

export const FULL_DOWNLOADS: DownloadsParams = { files: 16, mib: 256, smallMib: 64, factor: 1000, seed: 1 };
export const QUICK_DOWNLOADS: DownloadsParams = { files: 4, mib: 16, smallMib: 4, factor: 1000, seed: 1 };

const MIB = 1024 * 1024;
/** Keep this much free beyond one set of files (the other processes, the journal, the OS). */
const DISK_HEADROOM_BYTES = 2 * 1024 * MIB;

export interface DownloadRun {
  mib: number;
  bytes: number;
  actbatchSeconds: number;
  actbatchMBps: number;
  actbatchPeakRssMb: number;
  actbatchCpuSeconds: number;
  actbatchSucceeded: number;
  curlSeconds: number;
  curlMBps: number;
  curlSyncSeconds: number;
  curlSyncMBps: number;
  curlFailures: number;
  /** curl transfers at once: actbatch's download slots for this run. */
  curlParallel: number;
  /** 1-minute load average before actbatch and after curl: the machine may be shared, and both clients need CPU. */
  loadBefore: number;
  loadAfter: number;
}

export async function runDownloadsBench(
  params: DownloadsParams,
  log: (line: string) => void = () => {},
): Promise<BenchResult> {
  const started = Date.now();
  const notes: string[] = [];
  const workDir = await mkdtemp(join(tmpdir(), "actbatch-bench-downloads-"));
  try {
    const fs = await statfs(workDir);
    const free = fs.bavail * fs.bsize;
    let mib = params.mib;
    let smallMib = params.smallMib;
    while (mib > 1 && params.files * mib * MIB + DISK_HEADROOM_BYTES > free) {
      mib /= 2;
      smallMib = Math.max(1, smallMib / 2);
    }
    if (mib !== params.mib) {
      const note = `only ${(free / 1024 / MIB).toFixed(1)} GiB free in ${tmpdir()}: files scaled down from ${params.mib} to ${mib} MiB (and ${params.smallMib} to ${smallMib} MiB)`;
      notes.push(note);
      log(`downloads: ${note}`);
    }
    const runs: DownloadRun[] = [];
    for (const size of [smallMib, mib]) {
      try {
        runs.push(await measureSize(workDir, params, size, log));
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        notes.push(`${size} MiB run did not complete: ${message.split("\n")[0]}`);
        log(`  FAILED: ${message}`);
      }
    }
    return {
      bench: "downloads",
      startedAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      params: { ...params, mib, smallMib },
      rows: downloadRows(params.files, mib, smallMib, runs),
      notes: [
        ...notes,
        ...runs.map(
          (run) =>
            `${run.mib} MiB: 1-minute load average ${run.loadBefore.toFixed(2)} before actbatch, ${run.loadAfter.toFixed(2)} after curl (wall-clock figures follow the machine's load)`,
        ),
        `actbatch: first SUCCEEDED noticed -> last file verified (sha256, fsync, rename); curl: one process per file, ${downloadConcurrencyFor(params.files)} at once (actbatch's download slots), plain -o, then sync of its files`,
      ],
      details: runs,
    };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

async function measureSize(
  workDir: string,
  params: DownloadsParams,
  mib: number,
  log: (line: string) => void,
): Promise<DownloadRun> {
  const bytesEach = Math.round(mib * MIB);
  const bytes = bytesEach * params.files;
  const runDir = join(workDir, `${mib}mib`);
  const job = await writeBenchJob(runDir, "bench-downloads", params.files, params.files);
  const sim = await startSimulatorProcess({
    speed: params.factor,
    concurrency: params.files,
    seed: params.seed,
    shape: "bare",
    extraArgs: ["--output-bytes", String(bytesEach)],
  });
  try {
    const loadBefore = loadavg()[0] ?? 0;
    log(`downloads: actbatch, ${params.files} x ${mib} MiB (load average ${loadBefore.toFixed(2)}) ...`);
    const outDir = join(runDir, "actbatch");
    const actbatch = await runActbatch({
      jobFile: job.jobFile,
      outDir,
      baseUrl: sim.baseUrl,
      concurrency: params.files,
      timeScale: params.factor,
      // 10 MB/s would be pathological; anything slower is a hang.
      timeoutMs: 60_000 + bytes / 10_000,
    });
    const firstNotice = Math.min(...actbatch.noticedAt.values());
    const lastOutput = Math.max(...actbatch.outputAt.values());
    const actbatchSeconds = (lastOutput - firstNotice) / 1000;
    await rm(outDir, { recursive: true, force: true });
    log(
      `  actbatch: ${(bytes / MIB / actbatchSeconds).toFixed(0)} MiB/s, peak RSS ${(actbatch.measured.peakRssBytes / MIB).toFixed(1)} MB, CPU ${actbatch.measured.cpuSeconds.toFixed(1)} s`,
    );

    log(`downloads: curl, ${params.files} x ${mib} MiB ...`);
    const ledger = await sim.stats();
    const urls = await Promise.all(ledger.tasks.map((task) => outputUrlOf(sim.origin, task.id)));
    const curlDir = join(runDir, "curl");
    await mkdir(curlDir, { recursive: true });
    const curlFiles = urls.map((_, index) => join(curlDir, `${index}.bin`));
    // As many transfers at once as actbatch's download slots: more would compare the parallelism, not
    // the write path.
    const curlParallel = downloadConcurrencyFor(params.files);
    const exits: number[] = [];
    let next = 0;
    const curlStart = epochNow();
    await Promise.all(
      Array.from({ length: Math.min(curlParallel, urls.length) }, async () => {
        for (let index = next++; index < urls.length; index = next++)
          exits.push(await exitCodeOf("curl", curlArgs(urls[index] ?? "", curlFiles[index] ?? "")));
      }),
    );
    const curlSeconds = (epochNow() - curlStart) / 1000;
    await exitCodeOf("sync", curlFiles);
    const curlSyncSeconds = (epochNow() - curlStart) / 1000;
    const loadAfter = loadavg()[0] ?? 0;
    await rm(curlDir, { recursive: true, force: true });
    log(
      `  curl (${curlParallel} at once): ${(bytes / MIB / curlSeconds).toFixed(0)} MiB/s, with sync ${(bytes / MIB / curlSyncSeconds).toFixed(0)} MiB/s (load average ${loadAfter.toFixed(2)})`,
    );
    return {
      mib,
      bytes,
      actbatchSeconds,
      actbatchMBps: bytes / MIB / actbatchSeconds,
      actbatchPeakRssMb: actbatch.measured.peakRssBytes / MIB,
      actbatchCpuSeconds: actbatch.measured.cpuSeconds,
      actbatchSucceeded: actbatch.succeeded,
      curlSeconds,
      curlMBps: bytes / MIB / curlSeconds,
      curlSyncSeconds,
      curlSyncMBps: bytes / MIB / curlSyncSeconds,
      curlFailures: exits.filter((code) => code !== 0).length,
      curlParallel,
      loadBefore,
      loadAfter,
    };
  } finally {
    await sim.close();
    await rm(runDir, { recursive: true, force: true });
  }
}

async function outputUrlOf(origin: string, taskId: string): Promise<string> {
  const response = await fetch(`${origin}/v1/tasks/${taskId}`, {
    headers: { Authorization: `Bearer ${BENCH_API_KEY}`, "X-Runway-Version": "2024-11-06" },
  });
  const task = (await response.json()) as { output?: string[] };
  const url = task.output?.[0];
  if (!url) throw new Error(`task ${taskId} has no output URL (HTTP ${response.status})`);
  return url;
}

function curlArgs(url: string, file: string): string[] {
  return ["--silent", "--show-error", "--fail", "--output", file, url];
}

function exitCodeOf(command: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "ignore", "inherit"] });
    child.on("error", reject);
    child.on("close", (code) => resolve(code ?? -1));
  });
}

function downloadRows(
  files: number,
  mib: number,
  smallMib: number,
  runs: readonly DownloadRun[],
): BenchRow[] {
  const rows: BenchRow[] = [];
  for (const run of runs) {
    const scenario = `5 downloads ${files} x ${run.mib} MiB`;
    const ratio = run.actbatchMBps / run.curlSyncMBps;
    rows.push(
      {
        scenario,
        figure: "files downloaded",
        actbatch: run.actbatchSucceeded,
        baseline: files - run.curlFailures,
        ratio: null,
        target: `= ${files}`,
        met: run.actbatchSucceeded === files,
      },
      {
        scenario,
        figure: "MiB/s (baseline: curl + sync)",
        actbatch: run.actbatchMBps,
        baseline: run.curlSyncMBps,
        ratio,
        target: "ratio >= 0.90",
        met: atLeast(ratio, 0.9),
      },
      {
        scenario,
        figure: "MiB/s (baseline: curl, page cache)",
        actbatch: run.actbatchMBps,
        baseline: run.curlMBps,
        ratio: run.actbatchMBps / run.curlMBps,
        target: "",
        met: null,
      },
      {
        scenario,
        figure: "runner CPU s",
        actbatch: run.actbatchCpuSeconds,
        baseline: null,
        ratio: null,
        target: "",
        met: null,
      },
      {
        scenario,
        figure: "runner peak RSS MB",
        actbatch: run.actbatchPeakRssMb,
        baseline: null,
        ratio: null,
        target: "",
        met: null,
      },
    );
  }
  const small = runs.find((run) => run.mib === smallMib);
  const large = runs.find((run) => run.mib === mib);
  if (small && large && small !== large) {
    const growth = large.actbatchPeakRssMb / small.actbatchPeakRssMb;
    rows.push({
      scenario: `5 downloads RSS ${mib} MiB / ${smallMib} MiB files`,
      figure: "runner peak RSS ratio",
      actbatch: growth,
      baseline: null,
      ratio: null,
      target: "<= 1.10",
      met: atMost(growth, 1.1),
    });
  }
  return rows;
}

if (import.meta.main) {
  const cli = parseBenchArgs(process.argv.slice(2), ["files", "mib", "small-mib", "factor", "seed"]);
  const base = cli.quick ? QUICK_DOWNLOADS : FULL_DOWNLOADS;
  const params: DownloadsParams = {
    files: numberOption(cli.values["files"], base.files, "files"),
    mib: numberOption(cli.values["mib"], base.mib, "mib"),
    smallMib: numberOption(cli.values["small-mib"], base.smallMib, "small-mib"),
    factor: numberOption(cli.values["factor"], base.factor, "factor"),
    seed: numberOption(cli.values["seed"], base.seed, "seed"),
  };
  const result = await runDownloadsBench(params, (line) => process.stderr.write(line + "\n"));
  process.stdout.write(formatTable(result.rows) + "\n");
  if (cli.jsonOut) await writeJson(cli.jsonOut, result);
}
