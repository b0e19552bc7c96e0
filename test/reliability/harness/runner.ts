// Runs the built CLI in its own process, as a user or CI would, and kills it when told: a random delay
// (the black-box killer), a named crash point (ACTBATCH_CRASH_AT, the white-box one), or once a
// condition on disk holds (a download in progress) plus a delay.
import { spawn } from "node:child_process";
import { binPath } from "../../helpers/cli.js";

export interface RunSpec {
  cwd: string;
  /** Arguments after `actbatch`. */
  args: string[];
  /** The API key, passed as COMETAPI_KEY (the only place it is given). */
  key: string;
  /** ACTBATCH_TIME_SCALE: the engine's clock speed, matching the simulator's. */
  timeScale: number;
  /** ACTBATCH_CRASH_AT, e.g. "after-intent@3". */
  crashAt?: string;
  /** SIGKILL after this many ms. */
  killAfterMs?: number;
  /** SIGKILL `delayMs` after `condition` first holds (polled every 15 ms). */
  killWhen?: { condition: () => Promise<boolean>; delayMs: number };
  /** Any other signal to send after a delay (interrupt tests). */
  signals?: { atMs: number; signal: NodeJS.Signals }[];
  env?: NodeJS.ProcessEnv;
  /** Told the child's pid as soon as it is spawned. */
  onSpawn?: (pid: number) => void;
  /** Safety net only: a run still alive then is killed and reported as hung. */
  timeoutMs?: number;
}

export interface RunOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** We killed it (random delay or condition); a crash point kills it by itself. */
  killedByHarness: boolean;
  hung: boolean;
  ms: number;
}

/** Environment without any real key or setting that could leak in from the developer's shell. */
function cleanEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name === "COMETAPI_KEY" || name === "RUNWAYML_API_SECRET" || name.startsWith("ACTBATCH_")) continue;
    env[name] = value;
  }
  return { ...env, CI: "true", NO_COLOR: "1", ...extra };
}

export function runActbatch(spec: RunSpec): Promise<RunOutcome> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [binPath, ...spec.args], {
      cwd: spec.cwd,
      env: cleanEnv({
        COMETAPI_KEY: spec.key,
        ACTBATCH_TIME_SCALE: String(spec.timeScale),
        ...(spec.crashAt ? { ACTBATCH_CRASH_AT: spec.crashAt } : {}),
        ...spec.env,
      }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    if (child.pid !== undefined) spec.onSpawn?.(child.pid);
    let stdout = "";
    let stderr = "";
    let killedByHarness = false;
    let hung = false;
    const state = { exited: false };
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timers: NodeJS.Timeout[] = [];
    const kill = (): void => {
      if (state.exited) return;
      killedByHarness = true;
      child.kill("SIGKILL");
    };
    if (spec.killAfterMs !== undefined) timers.push(setTimeout(kill, spec.killAfterMs));
    for (const { atMs, signal } of spec.signals ?? [])
      timers.push(setTimeout(() => !state.exited && child.kill(signal), atMs));
    timers.push(
      setTimeout(() => {
        if (state.exited) return;
        hung = true;
        child.kill("SIGKILL");
      }, spec.timeoutMs ?? 120_000),
    );
    if (spec.killWhen) {
      const { condition, delayMs } = spec.killWhen;
      const watch = async (): Promise<void> => {
        while (!state.exited) {
          if (await condition().catch(() => false)) {
            timers.push(setTimeout(kill, delayMs));
            return;
          }
          await new Promise((wake) => setTimeout(wake, 15));
        }
      };
      void watch();
    }
    child.on("error", reject);
    child.on("close", (code, signal) => {
      state.exited = true;
      for (const timer of timers) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, killedByHarness, hung, ms: Date.now() - started });
    });
  });
}

/** Short description of how a run ended, for failure messages. */
export function describeOutcome(outcome: RunOutcome): string {
  const how = outcome.signal ? `killed (${outcome.signal})` : `exit ${outcome.code}`;
  return `${how} after ${outcome.ms} ms${outcome.hung ? " (HUNG)" : ""}`;
}
