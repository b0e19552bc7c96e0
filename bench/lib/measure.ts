// Runs a child process and measures its wall time, CPU seconds and peak RSS.
//
// Method: when GNU time is installed (/usr/bin/time), the command runs under `/usr/bin/time -v -o FILE`,
// which reads the kernel's rusage of the finished child (ru_utime + ru_stime, ru_maxrss): exact totals
// that include the last instant before exit, at 10 ms CPU resolution. Otherwise the child's
// /proc/<pid>/stat (utime + stime) and /proc/<pid>/status (VmHWM, the kernel's own high-water mark of
// the RSS) are polled every 25 ms; that misses only what happens after the last poll, and is reported
// as method "proc-poll" so a reader knows.

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { killGroup, trackGroup, untrackGroup } from "./children.ts";

const GNU_TIME = "/usr/bin/time";

export interface MeasureOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Kill the child (SIGKILL) after this long. */
  timeoutMs?: number;
  /** Called with each stdout line as it arrives (e.g. a URL line). */
  onStdoutLine?: (line: string) => void;
}

export interface Measured {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /**
   * Epoch milliseconds of the system clock, read at the child's start and end: the clock the simulator,
   * the runner's journal and the baseline's records are read on, so instants compare across processes.
   */
  startedAt: number;
  endedAt: number;
  /** On the monotonic clock: a step of the system clock does not change it. */
  wallMs: number;
  /**
   * How far the system clock was stepped against the monotonic clock during the run (0 when it was
   * not): differences between instants of different processes are off by up to this much.
   */
  clockStepMs: number;
  cpuSeconds: number;
  peakRssBytes: number;
  method: "gnu-time" | "proc-poll";
}

/**
 * Epoch milliseconds with sub-millisecond resolution, on this process's monotonic clock: for durations
 * within one process. An instant to compare with another process's is the system clock's (Date.now()):
 * this one drifts from it by every step of the system clock since the process started.
 */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

/** The system clock minus the monotonic one: constant unless the system clock is stepped. */
function clockOffset(): number {
  return Date.now() - performance.now();
}

export async function runMeasured(
  command: string,
  args: string[],
  options: MeasureOptions = {},
): Promise<Measured> {
  return existsSync(GNU_TIME)
    ? runUnderGnuTime(command, args, options)
    : runWithProcPolling(command, args, options);
}

async function runUnderGnuTime(command: string, args: string[], options: MeasureOptions): Promise<Measured> {
  const reportFile = join(
    tmpdir(),
    `actbatch-bench-time-${process.pid}-${Math.random().toString(36).slice(2)}.txt`,
  );
  const outcome = await runChild(GNU_TIME, ["-v", "-o", reportFile, command, ...args], options);
  try {
    const report = await readFile(reportFile, "utf8");
    const user = numberAfter(report, "User time (seconds):");
    const system = numberAfter(report, "System time (seconds):");
    const maxRssKb = numberAfter(report, "Maximum resident set size (kbytes):");
    const exitStatus = numberAfter(report, "Exit status:");
    const signalMatch = /Command terminated by signal (\d+)/.exec(report);
    return {
      ...outcome,
      code: signalMatch ? null : Number.isNaN(exitStatus) ? outcome.code : exitStatus,
      signal: signalMatch ? `signal ${signalMatch[1]}` : outcome.signal,
      cpuSeconds: user + system,
      peakRssBytes: maxRssKb * 1024,
      method: "gnu-time",
    };
  } finally {
    await rm(reportFile, { force: true });
  }
}

async function runWithProcPolling(
  command: string,
  args: string[],
  options: MeasureOptions,
): Promise<Measured> {
  let cpuSeconds = 0;
  let peakRssBytes = 0;
  const ticksPerSecond = 100; // USER_HZ on Linux
  const outcome = await runChild(command, args, options, (pid) => {
    const timer = setInterval(() => {
      void readProcUsage(pid, ticksPerSecond).then((usage) => {
        if (!usage) return;
        cpuSeconds = Math.max(cpuSeconds, usage.cpuSeconds);
        peakRssBytes = Math.max(peakRssBytes, usage.hwmBytes);
      });
    }, 25);
    return () => clearInterval(timer);
  });
  return { ...outcome, cpuSeconds, peakRssBytes, method: "proc-poll" };
}

async function readProcUsage(
  pid: number,
  ticksPerSecond: number,
): Promise<{ cpuSeconds: number; hwmBytes: number } | null> {
  try {
    const [stat, status] = await Promise.all([
      readFile(`/proc/${pid}/stat`, "utf8"),
      readFile(`/proc/${pid}/status`, "utf8"),
    ]);
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    return { cpuSeconds: ticks / ticksPerSecond, hwmBytes: numberAfter(status, "VmHWM:") * 1024 };
  } catch {
    return null;
  }
}

function numberAfter(text: string, label: string): number {
  const start = text.indexOf(label);
  if (start < 0) return Number.NaN;
  return Number.parseFloat(text.slice(start + label.length).trim());
}

type ChildOutcome = Omit<Measured, "cpuSeconds" | "peakRssBytes" | "method">;

function runChild(
  command: string,
  args: string[],
  options: MeasureOptions,
  watch?: (pid: number) => () => void,
): Promise<ChildOutcome> {
  return new Promise((resolve, reject) => {
    const startedAt = Date.now();
    const monotonicStart = performance.now();
    const offsetAtStart = clockOffset();
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const pid = child.pid;
    if (pid !== undefined) trackGroup(pid);
    const stopWatching = pid !== undefined && watch ? watch(pid) : () => {};
    let stdout = "";
    let stderr = "";
    let pendingLine = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      if (!options.onStdoutLine) return;
      const lines = (pendingLine + chunk).split("\n");
      pendingLine = lines.pop() ?? "";
      for (const line of lines) options.onStdoutLine(line);
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = options.timeoutMs
      ? setTimeout(() => {
          stderr += `\n[bench] killed after ${options.timeoutMs} ms\n`;
          if (pid !== undefined) killGroup(pid);
        }, options.timeoutMs)
      : undefined;
    child.on("error", (error) => {
      if (pid !== undefined) untrackGroup(pid);
      stopWatching();
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code, signal) => {
      const endedAt = Date.now();
      const wallMs = performance.now() - monotonicStart;
      const clockStepMs = clockOffset() - offsetAtStart;
      if (pid !== undefined) untrackGroup(pid);
      stopWatching();
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, startedAt, endedAt, wallMs, clockStepMs });
    });
  });
}
