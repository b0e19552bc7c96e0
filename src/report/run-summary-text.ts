// The end of a run for humans (text on stderr): counts, requests per task, every task that did not
// succeed with its pair, params and error, and every possible double charge.
import type { ManifestOutputCheck } from "../manifest/types.js";
import type { RunSummary } from "../run/run-summary.js";
import type { ParamValue } from "../job/types.js";
import { plural } from "./words.js";

/** Listed by name up to this many; the rest are counted (the manifest has them all). */
const MAX_LISTED = 20;

export function formatRunSummary(summary: RunSummary): string[] {
  const c = summary.counts;
  const lines: string[] = [];
  const scope =
    c.inRun === c.total
      ? plural(c.total, "task")
      : `${c.inRun} of ${plural(c.total, "task")} (${summary.shardFlags.join(" ") || "this shard"})`;
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
    `requests: ${plural(r.create, "create")}, ${plural(r.get, "task GET")}${perTask}, ${plural(r.download, "download")}, ${plural(r.retries, "retry", "retries")}` +
      (summary.requestsPerTask === null
        ? ""
        : `; ${plural(summary.requestsPerTask, "API request")} per task`),
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
  const cancelled = summary.unfinished.filter((task) => task.status === "CANCELLED");
  if (cancelled.length > 0) {
    lines.push(
      `cancelled (${cancelled.length}): a rerun leaves them cancelled; rerun with --retry-failed to submit them again:`,
    );
    for (const task of cancelled.slice(0, MAX_LISTED)) lines.push(`  ${describeTask(task)}`);
    if (cancelled.length > MAX_LISTED)
      lines.push(`  … and ${cancelled.length - MAX_LISTED} more (see the manifest)`);
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
      `held (${ambiguous.length}): a create's outcome is unknown, so a task may exist and be paid; a rerun submits it again, possibly paying twice (under --no-resubmit-ambiguous it stays held):`,
    );
    for (const task of ambiguous.slice(0, MAX_LISTED)) lines.push(`  ${describeTask(task)}`);
  }
  if (c.possiblyChargedTwice > 0) {
    lines.push(
      `possibly charged twice (${c.possiblyChargedTwice}): a create's outcome was unknown, or its task vanished at the provider, and the task was submitted again:`,
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
  const inFlightTasks = summary.unfinished.filter(
    (t) => t.status === "PENDING" || t.status === "RUNNING" || t.status === "THROTTLED",
  );
  const inFlight = inFlightTasks.length;
  if (inFlight > 0)
    lines.push(
      `${inFlight === 1 ? "1 task is" : `${inFlight} tasks are`} still in flight and resumable: rerun the same command to collect them`,
    );
  // A task left because its GETs gave no valid answer says why: otherwise every rerun waits in silence again.
  const unanswered = inFlightTasks.filter((task) => task.error !== null);
  for (const task of unanswered.slice(0, MAX_LISTED))
    lines.push(`  ${describeTask(task)}: ${task.error?.code}: ${task.error?.message}`);
  if (unanswered.length > MAX_LISTED)
    lines.push(`  … and ${unanswered.length - MAX_LISTED} more (see the manifest)`);
  if (c.notSubmitted > 0)
    lines.push(
      `${c.notSubmitted === 1 ? "1 task was" : `${c.notSubmitted} tasks were`} not submitted: rerun to submit ${c.notSubmitted === 1 ? "it" : "them"}`,
    );
  if (c.orphans > 0)
    lines.push(
      `${c.orphans === 1 ? "1 paid task is" : `${c.orphans} paid tasks are`} no longer in the job file: kept under "orphans" in the manifest (not downloaded)`,
    );
  lines.push(`manifest: ${summary.manifest}`);
  const again = (args: string[]): string => args.map(quoteArg).join(" ");
  const out = quoteArg(summary.outputDir);
  if (inFlight > 0 || c.notSubmitted > 0 || summary.interrupted !== null)
    lines.push(
      `to resume: actbatch ${again(["run", summary.specFile, "--out", summary.outputDir, ...summary.connectionFlags, ...summary.shardFlags])}`,
    );
  if (inFlight > 0)
    lines.push(
      `to cancel the ${inFlight === 1 ? "task" : `${inFlight} tasks`} in flight at the API instead: actbatch cancel ${out}${summary.connectionFlags.includes("--simulate") ? " --simulate" : ""}`,
    );
  return lines;
}

/** Shell-quotes an argument when it needs it (a path with spaces, say). */
export function quoteArg(arg: string): string {
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
