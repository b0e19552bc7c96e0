import type { Writable } from "node:stream";
import type { InterruptSignal } from "./interrupts.js";

/** The part of `process` a command acts on: its stop signals and its exit (a fake one in tests). */
export interface ProcessPort {
  on(signal: InterruptSignal, listener: () => void): unknown;
  off(signal: InterruptSignal, listener: () => void): unknown;
  exit(code: number): void;
}

/** Where a command writes. Passed in so tests can capture output without spawning a process. */
export interface CliIo {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /**
   * The command is the whole process (the CLI binary): signal handlers it installs stay until the
   * process exits, so a Ctrl-C that lands while it exits is answered rather than killing it.
   */
  ownsProcess?: boolean;
  /** Whose signals a command answers: only processIo() (the entry point) passes the real one. */
  process?: ProcessPort;
}

export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    ownsProcess: true,
    process,
  };
}

export function writeLine(stream: Writable, line = ""): void {
  stream.write(line + "\n");
}
