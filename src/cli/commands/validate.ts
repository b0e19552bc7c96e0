import { ExitCode, UsageError, UserError } from "../../errors.js";
import {
  DEFAULT_MAX_TASKS,
  formatDiagnostic,
  loadPlan,
  SpecError,
  type Diagnostic,
} from "../../spec/index.js";
import { parseCommandArgs, parsePositiveInt } from "../args.js";
import { writeLine, type CliIo } from "../io.js";

export const validateUsage = `Usage: actbatch validate <job.yaml...> [--max-tasks N]

Checks job files: YAML, the JSON Schema, the rules the schema cannot express, and the expansion
into tasks (task count, output names), without calling the API. Prints one line per valid file;
every problem of every file is printed as file:line:column: message.
Exit 0 when every file is valid, 2 otherwise.

Options:
  --max-tasks N   allow a job to expand to up to N tasks (default ${DEFAULT_MAX_TASKS})
  -h, --help      show this help`;

export async function runCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    { "max-tasks": { type: "string" }, help: { type: "boolean", short: "h" } },
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
      const { plan, report } = await loadPlan(file, { maxTasks, cwd: io.cwd });
      for (const warning of report.warnings) writeLine(io.stderr, formatWarning(warning));
      const tasks = `${plan.tasks.length} task${plan.tasks.length === 1 ? "" : "s"}`;
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
