import type { Writable } from "node:stream";

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
}

export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    ownsProcess: true,
  };
}

export function writeLine(stream: Writable, line = ""): void {
  stream.write(line + "\n");
}
