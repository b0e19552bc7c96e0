import { createRequire } from "node:module";
import { ExitCode, UsageError, UserError } from "../errors.js";
import { escapeControlCharacters } from "../job/diagnostics.js";
import { processIo, writeLine, type CliIo } from "./io.js";

type CommandModule = { runCommand(args: string[], io: CliIo): Promise<number> };

interface CommandEntry {
  summary: string;
  load(): Promise<CommandModule>;
}

// Commands are imported lazily so `actbatch validate` never loads undici, listr2 or the simulator.
const commands: Record<string, CommandEntry> = {
  validate: {
    summary: "check job files; exit 0 valid, 2 invalid",
    load: () => import("./commands/validate.js"),
  },
  plan: {
    summary: "show the tasks a run would submit, without calling the API",
    load: () => import("./commands/plan.js"),
  },
  run: {
    summary: "submit, poll, download and write the manifest (resumable)",
    load: () => import("./commands/run.js"),
  },
  status: { summary: "summarise a finished or interrupted run", load: () => import("./commands/status.js") },
  report: {
    summary: "write report.html, a contact sheet of an output folder",
    load: () => import("./commands/report.js"),
  },
  merge: {
    summary: "merge the output folders of shards into one",
    load: () => import("./commands/merge.js"),
  },
  simulate: {
    summary: "serve a local simulator of the Act-Two API on loopback",
    load: () => import("./commands/simulate.js"),
  },
};

export const mainUsage = `Usage: actbatch <command> [options]

Commands:
${Object.entries(commands)
  .map(([name, entry]) => `  ${name.padEnd(10)} ${entry.summary}`)
  .join("\n")}

Run "actbatch <command> --help" for the options of a command.
Exit codes: 0 all succeeded, 1 a task failed, 2 usage or spec error, 3 account stop, 130/143 interrupted.`;

export function packageVersion(): string {
  const require = createRequire(import.meta.url);
  const pkg = require("../../package.json") as { version: string };
  return pkg.version;
}

/**
 * The CLI entry: dispatches to a command and turns every outcome into an exit code.
 * This is the only place that decides how an error is printed.
 */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (name === undefined || name === "--help" || name === "-h" || name === "help") {
      writeLine(name === undefined ? io.stderr : io.stdout, mainUsage);
      return name === undefined ? ExitCode.usage : ExitCode.ok;
    }
    if (name === "--version" || name === "-v") {
      writeLine(io.stdout, packageVersion());
      return ExitCode.ok;
    }
    const entry = Object.hasOwn(commands, name) ? commands[name] : undefined;
    if (!entry) throw new UsageError(`unknown command "${name}"`, mainUsage);
    const module = await entry.load();
    return await module.runCommand(rest, io);
  } catch (error) {
    return await reportError(error, io);
  }
}

function escapeLines(text: string): string {
  return text.split("\n").map(escapeControlCharacters).join("\n");
}

async function reportError(error: unknown, io: CliIo): Promise<number> {
  if (error instanceof UserError) {
    // In GitHub Actions, spec errors also become annotations at their line (on stdout, where the
    // runner reads workflow commands). Loaded only there, so other runs stay light.
    if (io.env.GITHUB_ACTIONS === "true") {
      const { githubAnnotationsForError } = await import("../report/github.js");
      for (const line of githubAnnotationsForError(io.env, error)) writeLine(io.stdout, line);
    }
    // User errors quote user text (file names, asset URIs, server messages): control characters in
    // it are shown escaped so a job file or a server cannot drive the terminal or fake log lines.
    writeLine(io.stderr, `actbatch: ${escapeLines(error.message)}`);
    if (error.hint) writeLine(io.stderr, `hint: ${escapeLines(error.hint)}`);
    if (error instanceof UsageError && error.usage) writeLine(io.stderr, "\n" + error.usage);
    return error.exitCode;
  }
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  writeLine(io.stderr, `actbatch: internal error (this is a bug in actbatch, please report it)\n${detail}`);
  return ExitCode.taskFailed;
}
