import { createRequire } from "node:module";
import { ExitCode, UsageError, UserError } from "../errors.js";
import { escapeControlCharacters } from "../job/diagnostics.js";
import { closestMatch } from "../job/suggest.js";
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
  cancel: {
    summary: "cancel at the API the tasks an output folder has in flight",
    load: () => import("./commands/cancel.js"),
  },
  report: {
    summary: "write report.html, a contact sheet of an output folder",
    load: () => import("./commands/report.js"),
  },
  review: {
    summary: "serve the contact sheet on loopback to pick, reject and compare renders",
    load: () => import("./commands/review.js"),
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

/** Every command, in the order the help lists them. */
export const commandNames: readonly string[] = Object.keys(commands);

export const mainUsage = `Usage: actbatch <command> [options]

Commands:
${Object.entries(commands)
  .map(([name, entry]) => `  ${name.padEnd(10)} ${entry.summary}`)
  .join("\n")}

Run "actbatch help <command>" (or "actbatch <command> --help") for the options of a command.
Exit codes: 0 all succeeded, 1 a task failed, 2 usage or spec error, 3 account stop,
130/143 interrupted.`;

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
  // The command whose --help a usage mistake points at (none before a command is known).
  let command: string | undefined;
  try {
    const helpOnly =
      name === "--help" || name === "-h" || (name === "help" && (rest[0] ?? "help") === "help");
    if (name === undefined || helpOnly) {
      writeLine(name === undefined ? io.stderr : io.stdout, mainUsage);
      return name === undefined ? ExitCode.usage : ExitCode.ok;
    }
    if (name === "--version" || name === "-v") {
      writeLine(io.stdout, packageVersion());
      return ExitCode.ok;
    }
    if (name === "help" && rest.length > 1)
      throw new UsageError(`help takes one command, got ${rest.length}`);
    // `actbatch help run` is `actbatch run --help`.
    const [wanted, args] = name === "help" ? [rest[0] as string, ["--help"]] : [name, rest];
    const entry = findCommand(wanted);
    command = wanted;
    const module = await entry.load();
    return await module.runCommand(args, io);
  } catch (error) {
    return await reportError(error, io, command);
  }
}

function findCommand(name: string): CommandEntry {
  const entry = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (entry) return entry;
  const match = closestMatch(name, Object.keys(commands));
  throw new UsageError(`unknown command "${name}"${match === undefined ? "" : `; did you mean "${match}"?`}`);
}

function escapeLines(text: string): string {
  return text.split("\n").map(escapeControlCharacters).join("\n");
}

async function reportError(error: unknown, io: CliIo, command: string | undefined): Promise<number> {
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
    // One line pointing at the help, not the help itself: the mistake stays on screen, next to the prompt.
    if (error instanceof UsageError)
      writeLine(
        io.stderr,
        command === undefined
          ? 'Run "actbatch --help" to see the commands.'
          : `Run "actbatch ${command} --help" to see its options.`,
      );
    return error.exitCode;
  }
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  writeLine(io.stderr, `actbatch: internal error (this is a bug in actbatch, please report it)\n${detail}`);
  return ExitCode.taskFailed;
}
