import { resolve } from "node:path";
import { ExitCode, UsageError, UserError } from "../../errors.js";
import { formatPreflightSummary, preflightPlan, probeCachePath } from "../../preflight/index.js";
import {
  DEFAULT_MAX_TASKS,
  diagnosticJson,
  formatDiagnostic,
  loadPlan,
  SpecError,
  type Diagnostic,
} from "../../job/index.js";
import { escapeControlCharacters } from "../../job/diagnostics.js";
import { parseCommandArgs, parsePositiveInt } from "../args.js";
import { writeLine, type CliIo } from "../io.js";

export const validateUsage = `Usage: actbatch validate <job.yaml...> [--max-tasks N] [--preflight] [--json]

Checks job files: YAML, the JSON Schema, the rules the schema cannot express, and the expansion
into tasks (task count, output names), without calling the API. Prints one line per valid file;
every problem of every file is printed on a line of its own, FILE:LINE:COL: error: MESSAGE (or
warning:), the form editors' and CI's problem matchers read.
Exit 0 when every file is valid, 2 otherwise.

Options:
  --max-tasks N   allow a job to expand to up to N tasks (default ${DEFAULT_MAX_TASKS})
  --preflight     also check every asset as the service will fetch it: HEAD (200, no redirect,
                  Content-Type, Content-Length within the limit) and the reference video's
                  duration (3-30 s, from its MP4 header with a few small Range requests);
                  what was learned is cached in <output dir>/.actbatch/probe-cache.json
  --json          print one object on stdout: {"valid", "files": [{"file", "valid", "job",
                  "tasks"}], "diagnostics": [{"file", "line", "column", "severity", "message"}]}
                  (line and column are null for a file that cannot be read)
  -h, --help      show this help`;

type Severity = "error" | "warning";

interface FileResult {
  file: string;
  valid: boolean;
  job?: string;
  tasks?: number;
}

interface Problem {
  file: string;
  line: number | null;
  column: number | null;
  severity: Severity;
  message: string;
}

export async function runCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    {
      "max-tasks": { type: "string" },
      preflight: { type: "boolean" },
      json: { type: "boolean" },
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
  const json = values.json ?? false;

  const files: FileResult[] = [];
  const problems: Problem[] = [];
  // Text goes out as it is found (a slow --preflight shows its progress); --json waits for the end.
  const note = (diagnostic: Diagnostic, severity: Severity): void => {
    problems.push(diagnosticJson(diagnostic, severity));
    if (!json) writeLine(io.stderr, formatDiagnostic(diagnostic, severity));
  };
  for (const file of positionals) {
    try {
      const loaded = await loadPlan(file, { maxTasks, cwd: io.cwd, env: io.env });
      const { plan, report } = loaded;
      for (const warning of report.warnings) note(warning, "warning");
      if (values.preflight) {
        const cacheFile = probeCachePath(resolve(io.cwd, plan.outputDir));
        const checked = await preflightPlan(loaded, { cacheFile });
        for (const warning of checked.warnings) note(warning, "warning");
        if (!json) writeLine(io.stderr, `${file}: ${formatPreflightSummary(checked)}`);
        if (checked.problems.length > 0) {
          for (const problem of checked.problems) note(problem, "error");
          files.push({ file, valid: false, job: plan.job, tasks: plan.tasks.length });
          continue;
        }
      }
      files.push({ file, valid: true, job: plan.job, tasks: plan.tasks.length });
      const tasks = `${plan.tasks.length} task${plan.tasks.length === 1 ? "" : "s"}`;
      if (!json) writeLine(io.stdout, `${file}: valid, job "${plan.job}", ${tasks}`);
    } catch (error) {
      if (error instanceof SpecError) {
        for (const diagnostic of error.diagnostics) note(diagnostic, "error");
      } else if (error instanceof UserError) {
        // Not located (the file cannot be read): said as every other CLI error is.
        const message = escapeControlCharacters(error.message);
        problems.push({ file, line: null, column: null, severity: "error", message });
        if (!json) writeLine(io.stderr, `actbatch: ${message}`);
      } else throw error;
      files.push({ file, valid: false });
    }
  }
  const valid = files.every((entry) => entry.valid);
  if (json) writeLine(io.stdout, JSON.stringify({ valid, files, diagnostics: problems }));
  else if (io.env.GITHUB_ACTIONS === "true") {
    // Annotations at the lines of the pull request's files (workflow commands are read on stdout).
    const { formatAnnotation } = await import("../../report/github.js");
    for (const problem of problems)
      if (problem.line !== null && problem.column !== null)
        writeLine(
          io.stdout,
          formatAnnotation(problem.severity, { ...problem, line: problem.line, column: problem.column }),
        );
  }
  return valid ? ExitCode.ok : ExitCode.usage;
}

export function formatWarning(warning: Diagnostic): string {
  return formatDiagnostic(warning, "warning");
}
