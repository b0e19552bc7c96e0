import type { Writable } from "node:stream";

/** Where a command writes. Passed in so tests can capture output without spawning a process. */
export interface CliIo {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
}

export function writeLine(stream: Writable, line = ""): void {
  stream.write(line + "\n");
}
