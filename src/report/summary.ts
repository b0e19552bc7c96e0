// The end of a run, for humans (text on stderr) and machines (--json on stdout): counts, requests per
// task, every task that did not succeed with its pair, params and error, and every possible double charge.
import { OUTPUT_LOST } from "../manifest/codes.js";
import type {
  ManifestError,
  ManifestOutputCheck,
  ManifestTask,
  ManifestTaskStatus,
} from "../manifest/types.js";
import type { ParamValue } from "../spec/types.js";
import type { RequestCounts, StopReason } from "./events.js";

export interface SummaryTask {
  key: string;
  pair: string;
  params: Record<string, ParamValue>;
  status: ManifestTaskStatus;
  taskId: string | null;
  error: ManifestError | null;
}

/** A downloaded output of this run's tasks whose file did not match its request. */
export interface CheckFailure {
  key: string;
  pair: string;
  params: Record<string, ParamValue>;
  file: string;
  /** The checks that failed. */
  failed: ManifestOutputCheck[];
}

export interface RunSummary {
  job: string;
  specFile: string;
  outputDir: string;
  manifest: string;
  exitCode: number;
  stop: { reason: StopReason; message: string } | null;
  interrupted: "SIGINT" | "SIGTERM" | null;
  counts: {
    /** Tasks in the job file. */
    total: number;
    /** Tasks this run was responsible for (all of them, or a shard's). */
    inRun: number;
    succeeded: number;
    /** Of the succeeded: already done before this run (verified on disk, no API call). */
    alreadyDone: number;
    /** Succeeded before, their files missing or altered: downloaded again from their tasks (no new render). */
    fetchedAgain: number;
    failed: number;
    /** Submitted and not finished (resumable), never submitted, cancelled, or ambiguous and held. */
    pending: number;
    notSubmitted: number;
    ambiguous: number;
    possiblyChargedTwice: number;
    /** Paid tasks whose keys are no longer in the job file (kept in the manifest). */
    orphans: number;
  };
  /** Tasks of this run that did not succeed, in plan order. */
  unfinished: SummaryTask[];
  possiblyChargedTwice: SummaryTask[];
  /** Succeeded before, output lost and the task gone at the provider: rendered (and paid) again by this run. */
  renderedAgain: SummaryTask[];
  /** Outputs of this run's tasks that failed a check (their tasks stay SUCCEEDED), in plan order. */
  checkFailures: CheckFailure[];
  requests: RequestCounts;
  /** Task GETs per task polled in this run (null when none was). */
  getsPerPolledTask: number | null;
  /** Creates plus task GETs per task that made any API call in this run. */
  requestsPerTask: number | null;
  elapsedMs: number;
  /** Mean creation-to-terminal time of the tasks that finished in this run. */
  meanRenderMs: number | null;
}

export interface SummaryInput {
  specFile: string;
  outputDir: string;
  manifest: string;
  job: string;
  tasks: ManifestTask[];
  orphans: ManifestTask[];
  runKeys: readonly string[];
  alreadyDone: number;
  fetchedAgain: number;
  /** Keys this run rendered again because their output was lost and their task gone. */
  renderedAgain: readonly string[];
  exitCode: number;
  stop: RunSummary["stop"];
  interrupted: RunSummary["interrupted"];
  requests: RequestCounts;
  polledTasks: number;
  taskGets: number;
  /** Tasks that made at least one API call in this run. */
  touchedTasks: number;
  elapsedMs: number;
  meanRenderMs: number | null;
}

export function buildRunSummary(input: SummaryInput): RunSummary {
  const inRun = new Set(input.runKeys);
  const runTasks = input.tasks.filter((task) => inRun.has(task.key));
  const count = (status: ManifestTaskStatus): number =>
    runTasks.filter((task) => task.status === status).length;
  const charged = [...input.tasks, ...input.orphans].filter((task) => task.possiblyChargedTwice);
  const renderedAgain = new Set(input.renderedAgain);
  const succeeded = count("SUCCEEDED");
  const failed = count("FAILED");
  return {
    job: input.job,
    specFile: input.specFile,
    outputDir: input.outputDir,
    manifest: input.manifest,
    exitCode: input.exitCode,
    stop: input.stop,
    interrupted: input.interrupted,
    counts: {
      total: input.tasks.length,
      inRun: runTasks.length,
      succeeded,
      alreadyDone: input.alreadyDone,
      fetchedAgain: input.fetchedAgain,
      failed,
      pending: runTasks.length - succeeded - failed,
      notSubmitted: count("NOT_SUBMITTED"),
      ambiguous: count("AMBIGUOUS"),
      possiblyChargedTwice: charged.length,
      orphans: input.orphans.length,
    },
    unfinished: runTasks.filter((task) => task.status !== "SUCCEEDED").map(toSummaryTask),
    possiblyChargedTwice: charged.map(toSummaryTask),
    // Only those actually submitted again: the lost render is then an earlier attempt.
    renderedAgain: runTasks
      .filter(
        (task) => renderedAgain.has(task.key) && task.history.some((a) => a.error?.code === OUTPUT_LOST),
      )
      .map(toSummaryTask),
    checkFailures: runTasks.flatMap(checkFailuresOf),
    requests: input.requests,
    getsPerPolledTask: input.polledTasks > 0 ? round2(input.taskGets / input.polledTasks) : null,
    requestsPerTask:
      input.touchedTasks > 0 ? round2((input.requests.create + input.taskGets) / input.touchedTasks) : null,
    elapsedMs: Math.round(input.elapsedMs),
    meanRenderMs: input.meanRenderMs === null ? null : Math.round(input.meanRenderMs),
  };
}

function toSummaryTask(task: ManifestTask): SummaryTask {
  return {
    key: task.key,
    pair: task.pair,
    params: task.params,
    status: task.status,
    taskId: task.taskId,
    error: task.error,
  };
}

function checkFailuresOf(task: ManifestTask): CheckFailure[] {
  return task.outputs.flatMap((output) => {
    const failed = (output.checks ?? []).filter((check) => !check.ok);
    return failed.length === 0
      ? []
      : [{ key: task.key, pair: task.pair, params: task.params, file: output.file, failed }];
  });
}

/** Listed by name up to this many; the rest are counted (the manifest has them all). */
const MAX_LISTED = 20;

export function formatRunSummary(summary: RunSummary): string[] {
  const c = summary.counts;
  const lines: string[] = [];
  const scope = c.inRun === c.total ? `${c.total} tasks` : `${c.inRun} of ${c.total} tasks (this shard)`;
  const done =
    c.alreadyDone > 0 || c.fetchedAgain > 0
      ? ` (${[
          c.alreadyDone > 0 ? `${c.alreadyDone} already done` : "",
          c.fetchedAgain > 0 ? `${c.fetchedAgain} fetched again from their tasks` : "",
        ]
          .filter((part) => part !== "")
          .join(", ")})`
      : "";
  lines.push(
    `${summary.job}: ${scope}: ${c.succeeded} succeeded${done}, ${c.failed} failed, ${c.pending} pending, in ${formatDuration(summary.elapsedMs)}`,
  );
  const r = summary.requests;
  const perTask = summary.getsPerPolledTask === null ? "" : ` (${summary.getsPerPolledTask} per polled task)`;
  lines.push(
    `requests: ${r.create} creates, ${r.get} task GETs${perTask}, ${r.download} downloads, ${r.retries} retries` +
      (summary.requestsPerTask === null ? "" : `; ${summary.requestsPerTask} API requests per task`),
  );
  if (summary.stop && summary.stop.reason !== "interrupt") lines.push(summary.stop.message);
  const failed = summary.unfinished.filter((task) => task.status === "FAILED");
  if (failed.length > 0) {
    lines.push(`failed (${failed.length}):`);
    for (const task of failed.slice(0, MAX_LISTED))
      lines.push(
        `  ${describeTask(task)}: ${task.error ? `${task.error.code}: ${task.error.message}` : "failed"}`,
      );
    if (failed.length > MAX_LISTED)
      lines.push(`  … and ${failed.length - MAX_LISTED} more (see the manifest)`);
  }
  const mismatched = summary.checkFailures;
  if (mismatched.length > 0) {
    lines.push(
      `output checks failed (${mismatched.length}): the render does not match its request; the task stays SUCCEEDED (it was rendered and paid) and its file is kept:`,
    );
    for (const failure of mismatched.slice(0, MAX_LISTED))
      lines.push(
        `  ${describeTask(failure)} ${failure.file}: ${failure.failed.map(describeCheck).join("; ")}`,
      );
    if (mismatched.length > MAX_LISTED)
      lines.push(`  … and ${mismatched.length - MAX_LISTED} more (see the manifest)`);
  }
  const ambiguous = summary.unfinished.filter((task) => task.status === "AMBIGUOUS");
  if (ambiguous.length > 0) {
    lines.push(
      `held (${ambiguous.length}): a create's outcome is unknown, so a task may exist and be paid; rerun without --no-resubmit-ambiguous to submit again:`,
    );
    for (const task of ambiguous.slice(0, MAX_LISTED)) lines.push(`  ${describeTask(task)}`);
  }
  if (c.possiblyChargedTwice > 0) {
    lines.push(
      `possibly charged twice (${c.possiblyChargedTwice}): a create's outcome was unknown and the task was submitted again:`,
    );
    for (const task of summary.possiblyChargedTwice.slice(0, MAX_LISTED))
      lines.push(`  ${describeTask(task)}`);
  }
  if (summary.renderedAgain.length > 0) {
    lines.push(
      `output lost and task expired: rendered again, paid again (${summary.renderedAgain.length}): their files had left the output folder and the provider no longer had the tasks:`,
    );
    for (const task of summary.renderedAgain.slice(0, MAX_LISTED)) lines.push(`  ${describeTask(task)}`);
    if (summary.renderedAgain.length > MAX_LISTED)
      lines.push(`  … and ${summary.renderedAgain.length - MAX_LISTED} more (see the manifest)`);
  }
  const inFlight = summary.unfinished.filter(
    (t) => t.status === "PENDING" || t.status === "RUNNING" || t.status === "THROTTLED",
  ).length;
  if (inFlight > 0)
    lines.push(`${inFlight} tasks are still in flight and resumable: rerun the same command to collect them`);
  if (c.notSubmitted > 0) lines.push(`${c.notSubmitted} tasks were not submitted: rerun to submit them`);
  if (c.orphans > 0)
    lines.push(
      `${c.orphans} paid tasks are no longer in the job file: kept under "orphans" in the manifest (not downloaded)`,
    );
  lines.push(`manifest: ${summary.manifest}`);
  if (inFlight > 0 || c.notSubmitted > 0 || summary.interrupted !== null)
    lines.push(`to resume: actbatch run ${quoteArg(summary.specFile)} --out ${quoteArg(summary.outputDir)}`);
  return lines;
}

/** Shell-quotes an argument when it needs it (a path with spaces, say). */
function quoteArg(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}

export function describeTask(task: {
  key: string;
  pair: string;
  params: Record<string, ParamValue>;
}): string {
  const params = Object.entries(task.params)
    .map(([name, value]) => `${name}=${String(value)}`)
    .join(" ");
  return `${task.pair}${params ? ` ${params}` : ""} [${task.key}]`;
}

function describeCheck(check: ManifestOutputCheck): string {
  const detail = check.message ?? `expected ${check.expected ?? "?"}, found ${check.actual ?? "?"}`;
  return `${check.name}: ${detail}`;
}

export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1_000);
  return `${minutes} min ${seconds} s`;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
