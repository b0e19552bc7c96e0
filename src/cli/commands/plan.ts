import { once } from "node:events";
import { dirname, resolve } from "node:path";
import type { Writable } from "node:stream";
import { ExitCode, UsageError } from "../../errors.js";
import {
  DEFAULT_MAX_TASKS,
  loadPlan,
  type LoadedPlan,
  type ParamValue,
  type TaskPlan,
} from "../../job/index.js";
import { parseCommandArgs, parsePositiveInt } from "../args.js";
import { writeLine, type CliIo } from "../io.js";
import { reportingSpecErrors } from "../spec-errors.js";
import { formatWarning } from "./validate.js";
import { comparePlan } from "../../report/plan-diff-text.js";
import { resolveManifestPath } from "../../manifest/manifest.js";
import { HashCache } from "../../run/hash-cache.js";
import { estimateCost, knownDurations, planCostLines } from "../../cost/index.js";
import { localReferenceDurations } from "../../preflight/check-local-files.js";
import { planInputLines } from "../../report/plan-inputs-text.js";
import { planJsonLines } from "../../report/plan-json.js";
import { varyingValues } from "../../report/plan-values.js";
import { chooseSubset, describeSubset, nothingToDo } from "../subset.js";

export const planUsage = `Usage: actbatch plan <job.yaml> [--json] [--out DIR] [--max-tasks N]
                     [--only FIELD=PATTERN]... [--last-failed]
                     [--against OUT [--markdown] [--exit-code]]

Shows the tasks a run of the job would submit, without calling the API: what they will cost
(unknown where a reference's duration is not known), tasks per pair, the values of each swept
field, what each include and exclude did, and every task with its key, values and output file.
Warnings (an include or exclude that matches nothing, ...) go to stderr.

Options:
  --json          print {"job", "outputDir", "total", "cost", "tasks": [{"key", "pair", "params",
                  "request", "output", "source", "estimatedCost"}]} on stdout; request is the
                  exact body that would be POSTed, estimatedCost {credits, usd} or null (unknown)
  --out DIR       output folder, replacing the job's output.dir
  --max-tasks N   allow the job to expand to up to N tasks (default ${DEFAULT_MAX_TASKS})
  --only F=P      list only the tasks whose field F matches P (repeatable: all must match): F is
                  pair, key, ratio, bodyControl, expressionIntensity or seed; P a value, a *
                  wildcard, a list a|b or a range 1..4; says how many of the job's it selected
                  (--json: "selected")
  --last-failed   list only the tasks that failed or are unfinished in the output folder's manifest
  --against OUT   compare with an output folder (or its manifest.json): tasks new, changed (with
                  what changed), reused (already rendered, files intact), to fetch again (file
                  missing or changed: downloaded from its task, free), to render again (output
                  lost and task expired: paid), unfinished and orphaned, and the cost of the
                  change; with --json, the comparison as one JSON object
  --markdown      with --against: print the comparison as Markdown, for a pull-request comment
  --exit-code     with --against: exit 1 when a run would call the API (submit, poll or fetch
                  anything), 0 when it would do nothing (as git diff --exit-code)
  -h, --help      show this help`;

export function runCommand(args: string[], io: CliIo): Promise<number> {
  return reportingSpecErrors(io, () => planCommand(args, io));
}

async function planCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    {
      json: { type: "boolean" },
      out: { type: "string" },
      "max-tasks": { type: "string" },
      against: { type: "string" },
      markdown: { type: "boolean" },
      "exit-code": { type: "boolean" },
      only: { type: "string", multiple: true },
      "last-failed": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    planUsage,
  );
  if (values.help) {
    writeLine(io.stdout, planUsage);
    return ExitCode.ok;
  }
  const [file, ...extra] = positionals;
  if (file === undefined) throw new UsageError("expected a job file", planUsage);
  if (extra.length > 0) throw new UsageError(`expected one job file, got ${positionals.length}`, planUsage);
  if (values.out === "") throw new UsageError("--out expects a folder", planUsage);
  const maxTasks = parsePositiveInt("--max-tasks", values["max-tasks"], planUsage);

  if (values.markdown && values.against === undefined)
    throw new UsageError("--markdown needs --against", planUsage);
  if (values["exit-code"] && values.against === undefined)
    throw new UsageError("--exit-code needs --against", planUsage);
  if (values.against !== undefined && (values.only !== undefined || values["last-failed"]))
    throw new UsageError(
      "--against compares the whole job; it does not take --only or --last-failed",
      planUsage,
    );

  const loaded = await loadPlan(file, { maxTasks, outDir: values.out, cwd: io.cwd, env: io.env });
  for (const warning of loaded.report.warnings) writeLine(io.stderr, formatWarning(warning));
  if (values.against !== undefined) {
    const format = values.json ? "json" : values.markdown ? "markdown" : "text";
    const target = resolve(io.cwd, values.against);
    // Read-only: files a run already hashed and that have not changed since are not read again.
    const hashCache = await HashCache.open(dirname(await resolveManifestPath(target)));
    const compared = await comparePlan(loaded, target, values.against, format, io.stderr, hashCache);
    io.stdout.write(compared.text);
    return values["exit-code"] && compared.wouldAct ? ExitCode.taskFailed : ExitCode.ok;
  }
  const subset = await chooseSubset(loaded, {
    only: values.only,
    lastFailed: values["last-failed"],
    cwd: io.cwd,
  });
  if (subset?.tasks.length === 0) {
    writeLine(io.stderr, nothingToDo(subset));
    return ExitCode.ok;
  }
  const shown = subset === undefined ? loaded : narrowPlan(loaded, subset.tasks);
  const lines = values.json
    ? planJsonLines(
        shown,
        estimateCost(
          shown.plan,
          knownDurations(shown.report, await localReferenceDurations(shown.report.assets ?? [])),
        ),
        subset && loaded.plan.tasks.length,
      )
    : textLines(
        shown,
        await localReferenceDurations(shown.report.assets ?? []),
        subset && describeSubset(subset, loaded.plan.tasks.length),
      );
  await writeAll(io.stdout, lines);
  return ExitCode.ok;
}

/** The plan of the selected tasks only, its per-pair counts counting them. */
function narrowPlan(loaded: LoadedPlan, tasks: TaskPlan[]): LoadedPlan {
  const perPair = new Map<string, number>();
  for (const task of tasks) perPair.set(task.pair, (perPair.get(task.pair) ?? 0) + 1);
  const pairs = loaded.report.pairs.flatMap(({ pair }) => {
    const selected = perPair.get(pair);
    return selected === undefined ? [] : [{ pair, tasks: selected }];
  });
  return { plan: { ...loaded.plan, tasks }, report: { ...loaded.report, total: tasks.length, pairs } };
}

function* textLines(
  loaded: LoadedPlan,
  durations: ReadonlyMap<string, number>,
  subset?: string,
): Generator<string> {
  const { plan, report } = loaded;
  yield `job ${plan.job} (${plan.spec.file}): ${count(plan.tasks.length, "task")}, output in ${plan.outputDir}`;
  if (subset !== undefined) yield subset;
  yield* planCostLines(loaded, durations);
  yield* planInputLines(report);
  yield "";
  yield "pairs:";
  const pairWidth = Math.max(...report.pairs.map((entry) => entry.pair.length));
  for (const entry of report.pairs) yield `  ${entry.pair.padEnd(pairWidth)}  ${count(entry.tasks, "task")}`;
  const varying = varyingValues(plan.tasks);
  if (varying.length > 0) {
    yield "";
    yield "varying values:";
    const fieldWidth = Math.max(...varying.map((entry) => entry.field.length));
    for (const entry of varying)
      yield `  ${entry.field.padEnd(fieldWidth)}  ${summariseValues(entry.values)}`;
  }
  if (report.includes.length > 0 || report.excludes.length > 0) yield "";
  for (const include of report.includes) {
    const effects: string[] = [];
    if (include.extended > 0) effects.push(`extended ${count(include.extended, "combination")}`);
    if (include.added > 0) effects.push(`added ${count(include.added, "task")}`);
    if (effects.length === 0) effects.push("changed nothing");
    yield `include #${include.index + 1} (line ${include.source.line}): ${effects.join(", ")}`;
  }
  for (const exclude of report.excludes) {
    yield `exclude #${exclude.index + 1} (line ${exclude.source.line}): removed ${count(exclude.removed, "combination")}`;
  }
  if (report.merged > 0) {
    yield `${count(report.merged, "combination")} had the same request body as an earlier task and ${report.merged === 1 ? "was" : "were"} merged into it`;
  }
  yield "";
  yield "tasks:";
  const rows = plan.tasks.map((task) => [
    String(task.index),
    task.key,
    task.pair,
    describeParams(task),
    task.output,
  ]);
  const widths = [0, 1, 2, 3].map((column) =>
    Math.max(["#", "key", "pair", "values"][column]!.length, ...rows.map((row) => row[column]!.length)),
  );
  const format = (row: readonly string[]): string =>
    `  ${row.map((cell, column) => (column < 4 ? cell.padEnd(widths[column]!) : cell)).join("  ")}`.trimEnd();
  yield format(["#", "key", "pair", "values", "output"]);
  for (const row of rows) yield format(row);
}

function count(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function describeParams(task: TaskPlan): string {
  const entries = Object.entries(task.params);
  return entries.length === 0 ? "-" : entries.map(([field, value]) => `${field}=${String(value)}`).join(" ");
}

/** A long list of values (a seed range, say) is shown by its ends and its size. */
function summariseValues(values: readonly ParamValue[]): string {
  if (values.length <= 12) return values.map(String).join(", ");
  const head = values.slice(0, 5).map(String).join(", ");
  const tail = values.slice(-2).map(String).join(", ");
  return `${head}, ..., ${tail} (${values.length} values)`;
}

/** Writes lines in large chunks, waiting for the stream to drain: stdout may be a slow pipe. */
async function writeAll(stream: Writable, lines: Iterable<string>): Promise<void> {
  let chunk = "";
  for (const line of lines) {
    chunk += line + "\n";
    if (chunk.length >= 1 << 16) {
      if (!stream.write(chunk)) await once(stream, "drain");
      chunk = "";
    }
  }
  if (chunk.length > 0 && !stream.write(chunk)) await once(stream, "drain");
}
