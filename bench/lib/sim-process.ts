// The simulator, started out of process (`node bin/actbatch.js simulate --port 0 ...`) so that its CPU
// never competes inside the process being measured, and so the clients talk to it over real loopback
// HTTP exactly as they would to the service.

import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { killGroup, trackGroup, untrackGroup } from "./children.ts";
import type { SimLedger } from "./sim-ledger.ts";

export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
export const binPath = fileURLToPath(new URL("../../bin/actbatch.js", import.meta.url));

export interface SimProcessOptions {
  speed: number;
  concurrency: number;
  seed?: number;
  shape?: "bare" | "wrapped" | "mixed";
  faults?: string;
  /** Further `simulate` flags, e.g. ["--output-bytes", "268435456"]. */
  extraArgs?: string[];
}

export interface SimProcess {
  /** http://127.0.0.1:P/runwayml: the CometAPI-style base URL. */
  baseUrl: string;
  /** http://127.0.0.1:P: bare Runway routes (what the official SDK talks to). */
  origin: string;
  pid: number;
  stats(): Promise<SimLedger>;
  close(): Promise<void>;
}

const STARTUP_TIMEOUT_MS = 15_000;

export function simulateArgs(options: SimProcessOptions): string[] {
  const args = [
    "simulate",
    "--port",
    "0",
    "--speed",
    String(options.speed),
    "--concurrency",
    String(options.concurrency),
  ];
  if (options.seed !== undefined) args.push("--seed", String(options.seed));
  if (options.shape !== undefined) args.push("--shape", options.shape);
  if (options.faults !== undefined && options.faults !== "") args.push("--faults", options.faults);
  args.push(...(options.extraArgs ?? []));
  return args;
}

export function startSimulatorProcess(options: SimProcessOptions): Promise<SimProcess> {
  const child = spawn(process.execPath, [binPath, ...simulateArgs(options)], {
    cwd: repoRoot,
    env: { ...process.env, CI: "true", NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const pid = child.pid;
  if (pid === undefined) return Promise.reject(new Error("could not spawn the simulator"));
  trackGroup(pid);
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  return new Promise((resolve, reject) => {
    let stdout = "";
    const fail = (why: string) => {
      killGroup(pid);
      untrackGroup(pid);
      reject(new Error(`simulator did not start (${why}): ${stderr.trim() || stdout.trim() || "no output"}`));
    };
    const timer = setTimeout(() => fail(`no URL within ${STARTUP_TIMEOUT_MS} ms`), STARTUP_TIMEOUT_MS);
    const onEarlyExit = (code: number | null) => {
      clearTimeout(timer);
      fail(`exited with code ${code}`);
    };
    child.once("exit", onEarlyExit);
    child.stdout.setEncoding("utf8").on("data", function onData(chunk: string) {
      stdout += chunk;
      const match = /http:\/\/(127\.0\.0\.1|localhost|\[::1\]):(\d+)/.exec(stdout);
      if (!match) return;
      clearTimeout(timer);
      child.off("exit", onEarlyExit);
      child.stdout.off("data", onData);
      child.stdout.resume();
      const origin = `http://${match[1]}:${match[2]}`;
      resolve({
        baseUrl: `${origin}/runwayml`,
        origin,
        pid,
        stats: () => fetchLedger(origin),
        close: async () => {
          killGroup(pid, "SIGTERM");
          const timeout = setTimeout(() => killGroup(pid), 5000);
          await exited;
          clearTimeout(timeout);
          untrackGroup(pid);
        },
      });
    });
  });
}

async function fetchLedger(origin: string): Promise<SimLedger> {
  const response = await fetch(`${origin}/__sim/stats`);
  if (!response.ok) throw new Error(`GET /__sim/stats answered HTTP ${response.status}`);
  return (await response.json()) as SimLedger;
}
