// Runs a snippet of ESM in a separate Node process against the built code in dist/, so a test
// can kill it (ACTBATCH_CRASH_AT, SIGKILL) or make it compete for a lock with the test process.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const distDir = fileURLToPath(new URL("../../dist/", import.meta.url));

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunningChild {
  pid: number;
  /** Resolves with the first stdout line that contains `text`. */
  waitFor(text: string): Promise<string>;
  done: Promise<ChildResult>;
  kill(signal?: NodeJS.Signals): void;
}

/** Starts `code` (an ES module body; `dist` is the built tree's file path, with a trailing slash). */
export function startNode(source: string, env: NodeJS.ProcessEnv = {}): RunningChild {
  if (!existsSync(`${distDir}fs/atomic-write.js`))
    throw new Error("dist/ is missing: run `npx tsc -p tsconfig.build.json` first");
  const child = spawn(
    process.execPath,
    ["--input-type=module", "-e", `const dist = ${JSON.stringify(distDir)};\n${source}`],
    {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stdout = "";
  let stderr = "";
  const waiters: { text: string; resolve: (line: string) => void }[] = [];
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
    for (let index = waiters.length - 1; index >= 0; index -= 1) {
      const waiter = waiters[index] as (typeof waiters)[number];
      const line = stdout.split("\n").find((candidate) => candidate.includes(waiter.text));
      if (line !== undefined) {
        waiters.splice(index, 1);
        waiter.resolve(line);
      }
    }
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const done = new Promise<ChildResult>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return {
    pid: child.pid ?? -1,
    waitFor: (text) =>
      new Promise((resolve, reject) => {
        const line = stdout.split("\n").find((candidate) => candidate.includes(text));
        if (line !== undefined) return resolve(line);
        waiters.push({ text, resolve });
        void done.then((result) =>
          reject(
            new Error(
              `child exited (${result.code ?? result.signal}) before printing "${text}":\n${result.stderr}`,
            ),
          ),
        );
      }),
    done,
    kill: (signal = "SIGKILL") => child.kill(signal),
  };
}

export function runNode(source: string, env: NodeJS.ProcessEnv = {}): Promise<ChildResult> {
  return startNode(source, env).done;
}
