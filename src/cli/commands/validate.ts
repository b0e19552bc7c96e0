import { resolve } from "node:path";
import { ExitCode, UsageError, UserError } from "../../errors.js";
import { formatPreflightSummary, preflightPlan, probeCachePath } from "../../preflight/index.js";
import {
  DEFAULT_MAX_TASKS,
  formatDiagnostic,
  loadPlan,
  SpecError,
  type Diagnostic,
} from "../../job/index.js";
import { parseCommandArgs, parsePositiveInt } from "../args.js";
import { writeLine, type CliIo } from "../io.js";

export const validateUsage = `Usage: actbatch validate <job.yaml...> [--max-tasks N] [--preflight]

Checks job files: YAML, the JSON Schema, the rules the schema cannot express, and the expansion
into tasks (task count, output names), without calling the API. Prints one line per valid file;
every problem of every file is printed as file:line:column: message.
Exit 0 when every file is valid, 2 otherwise.

Options:
  --max-tasks N   allow a job to expand to up to N tasks (default ${DEFAULT_MAX_TASKS})
  --preflight     also check every asset as the service will fetch it: HEAD (200, no redirect,
                  Content-Type, Content-Length within the limit) and the reference video's
                  duration (3-30 s, from its MP4 header with a few small Range requests);
                  what was learned is cached in <output dir>/.actbatch/probe-cache.json
  -h, --help      show this help`;

export async function runCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    {
      "max-tasks": { type: "string" },
      preflight: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    validateUsage,
  );
  if (values.help) {
    writeLine(io.stdout, validateUsage);
    return ExitCode.ok;
  }
  if (positionals.length === 0) throw new UsageError("expected at least one job file", validateUsage);
  const maxTasks = parsePositiveInt("--max-tasks", values["max-tasks"], validateUsage);

  const diagnostics: Diagnostic[] = [];
  const otherProblems: string[] = [];
  for (const file of positionals) {
    try {
      const loaded = await loadPlan(file, { maxTasks, cwd: io.cwd });
      const { plan, report } = loaded;
      for (const warning of report.warnings) writeLine(io.stderr, formatWarning(warning));
      const tasks = `${plan.tasks.length} task${plan.tasks.length === 1 ? "" : "s"}`;
      if (values.preflight) {
        const cacheFile = probeCachePath(resolve(io.cwd, plan.outputDir));
        const checked = await preflightPlan(loaded, { cacheFile });
        for (const warning of checked.warnings) writeLine(io.stderr, formatWarning(warning));
        writeLine(io.stderr, `${file}: ${formatPreflightSummary(checked)}`);
        if (checked.problems.length > 0) {
          diagnostics.push(...checked.problems);
          continue;
        }
      }
      writeLine(io.stdout, `${file}: valid, job "${plan.job}", ${tasks}`);
    } catch (error) {
      if (error instanceof SpecError) diagnostics.push(...error.diagnostics);
      else if (error instanceof UserError) otherProblems.push(error.message);
      else throw error;
    }
  }
  if (otherProblems.length > 0) {
    throw new UserError([...otherProblems, ...diagnostics.map(formatDiagnostic)].join("\n"), ExitCode.usage);
  }
  if (diagnostics.length > 0) throw new SpecError(diagnostics);
  return ExitCode.ok;
}

export function formatWarning(warning: Diagnostic): string {
  return `${warning.file}:${warning.line}:${warning.column}: warning: ${warning.message}`;
}
