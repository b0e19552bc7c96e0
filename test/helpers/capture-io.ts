import { PassThrough } from "node:stream";
import type { CliIo } from "../../src/cli/io.js";

export interface CapturedIo {
  io: CliIo;
  stdout: () => string;
  stderr: () => string;
}

/** A CliIo whose output is kept, for running a command in-process. */
export function captureIo(cwd: string, env: NodeJS.ProcessEnv = {}): CapturedIo {
  const out: string[] = [];
  const err: string[] = [];
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  stdout.on("data", (chunk: Buffer) => out.push(chunk.toString("utf8")));
  stderr.on("data", (chunk: Buffer) => err.push(chunk.toString("utf8")));
  return { io: { stdout, stderr, env, cwd }, stdout: () => out.join(""), stderr: () => err.join("") };
}
