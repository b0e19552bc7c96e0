// The human-readable form of a StatusReport: what happened, what is wrong, and what to do next.
import { MANIFEST_TASK_STATUSES } from "../manifest/fields.js";
import type {
  JobComparison,
  JournalFindings,
  JournalTaskLine,
  ManifestFindings,
  StatusReport,
  TaskLine,
} from "../manifest/status-report.js";
import type { ManifestError, ManifestTask } from "../manifest/types.js";

/** How many tasks a section lists by name before "… and N more". */
const LISTED_TASKS = 20;

export function formatStatusText(report: StatusReport): string {
  const lines: string[] = [];
  const manifest = report.manifest;
  if (report.activeRun) {
    const run = report.activeRun;
    lines.push(
      `A run is in progress in this folder (pid ${run.pid} on ${run.hostname}, started ${run.startedAt}, "${run.command}"): what follows may change.`,
      "",
    );
  }
  if (manifest) lines.push(...manifestSection(manifest, report.outputDir));
  else lines.push(`No manifest in ${report.outputDir} yet: the run was interrupted before writing one.`);
  if (report.journal) lines.push("", ...journalSection(report.journal, report.activeRun !== null));
  if (report.verify) lines.push("", ...verifySection(report));
  if (report.job) lines.push("", ...jobSection(report.job));
  lines.push("", ...nextSteps(report));
  return lines.join("\n") + "\n";
}

function manifestSection(manifest: ManifestFindings, outputDir: string): string[] {
  const { summary } = manifest;
  const lines = [
    `Job ${manifest.job} (${manifest.spec.file}, sha256 ${manifest.spec.sha256.slice(0, 12)}…)`,
    `Output folder: ${outputDir}`,
    `Manifest: ${manifest.path}`,
    "",
    `${plural(summary.total, "task")}: ${summary.succeeded} succeeded, ${summary.failed} failed, ${summary.pending} not finished`,
  ];
  const counts = MANIFEST_TASK_STATUSES.filter((status) => manifest.statuses[status] > 0).map(
    (status) => `  ${status.padEnd(14)} ${manifest.statuses[status]}`,
  );
  if (counts.length > 1) lines.push(...counts);
  if (manifest.failed.length > 0) {
    lines.push("", `Failed (${manifest.failed.length}):`);
    lines.push(...listed(manifest.failed, (task) => `  ${describeTask(task)}: ${describeError(task.error)}`));
  }
  if (manifest.possiblyChargedTwice.length > 0) {
    lines.push(
      "",
      `Possibly charged twice (${manifest.possiblyChargedTwice.length}): a create's outcome was unknown, or its task vanished at the provider, and the task was submitted again`,
    );
    lines.push(
      ...listed(
        manifest.possiblyChargedTwice,
        (task) => `  ${describeTask(task)}: ${plural(task.attempts, "create")}, ${describeTaskIds(task)}`,
      ),
    );
  }
  if (manifest.orphans > 0)
    lines.push(
      "",
      `${plural(manifest.orphans, "paid task")} no longer in the job file ${manifest.orphans === 1 ? "is" : "are"} kept in the manifest as orphans.`,
    );
  return lines;
}

function journalSection(journal: JournalFindings, running: boolean): string[] {
  const lines = [
    journal.reason === "no-manifest"
      ? `The journal (${journal.path}) shows ${plural(totalKeys(journal), "task")}:`
      : running
        ? `The journal (${journal.path}) has records newer than the manifest:`
        : `The last run was interrupted after its last manifest write; its journal (${journal.path}) shows more:`,
  ];
  const phases = journal.phases;
  const finished = [
    phases.succeeded > 0 ? `${phases.succeeded} succeeded` : "",
    phases.failed > 0 ? `${phases.failed} failed` : "",
    phases.cancelled > 0 ? `${phases.cancelled} cancelled` : "",
    phases["not-created"] > 0 ? `${phases["not-created"]} not created (refused or unavailable)` : "",
  ].filter(Boolean);
  if (finished.length > 0) lines.push(`  finished: ${finished.join(", ")}`);
  if (journal.unanswered.length > 0) {
    lines.push(
      `  ${plural(journal.unanswered.length, "create")} sent with no answer recorded (possibly created and paid):`,
      ...listed(journal.unanswered, (task) => `    ${describeJournalTask(task)}`),
    );
  }
  if (journal.inFlight.length > 0) {
    lines.push(
      `  ${plural(journal.inFlight.length, "task")} submitted and not finished:`,
      ...listed(journal.inFlight, (task) => `    ${describeJournalTask(task)}`),
    );
  }
  if (journal.awaitingDownload.length > 0) {
    lines.push(
      `  ${plural(journal.awaitingDownload.length, "task")} succeeded, outputs not downloaded yet:`,
      ...listed(journal.awaitingDownload, (task) => `    ${describeJournalTask(task)}`),
    );
  }
  if (journal.possiblyChargedTwice.length > 0)
    lines.push(`  ${plural(journal.possiblyChargedTwice.length, "task")} possibly charged twice`);
  if (journal.unrecordedTaskIds.length > 0)
    lines.push(
      `  ${plural(journal.unrecordedTaskIds.length, "task id")} not in the manifest yet: ${journal.unrecordedTaskIds.slice(0, LISTED_TASKS).join(", ")}`,
    );
  if (journal.tornTail) lines.push("  (its last record was cut short by the interruption and is ignored)");
  if (journal.damagedLines.length > 0)
    lines.push(
      `  warning: damaged line${journal.damagedLines.length === 1 ? "" : "s"} ${journal.damagedLines.join(", ")} could not be read; the next run will refuse the journal until it is repaired`,
    );
  if (journal.inconsistentRecords > 0)
    lines.push(
      `  warning: ${plural(journal.inconsistentRecords, "record")} did not fit the records before them and were skipped`,
    );
  return lines;
}

function verifySection(report: StatusReport): string[] {
  const verify = report.verify;
  if (!verify) return [];
  const what = report.verifiedAll
    ? `Verified ${plural(verify.checked, "output file")} (all hashed)`
    : `Checked ${plural(verify.checked, "output file")} (size and sha256; files unchanged since they were last hashed are not read again, --verify hashes all)`;
  const lines: string[] = [];
  if (report.manifest && report.manifest.checkFailures.length > 0)
    lines.push(
      `Output checks failed (${report.manifest.checkFailures.length}): the render does not match its request:`,
      ...listed(
        report.manifest.checkFailures,
        (failure) => `  ${failure.file} [${failure.key}]: ${failure.failed.join(", ")}`,
      ),
      "",
    );
  if (verify.problems.length === 0) return [...lines, `${what}: all match the manifest.`];
  return [
    ...lines,
    `${what}: ${verify.problems.length} do${verify.problems.length === 1 ? "es" : ""} not match the manifest:`,
    ...listed(verify.problems, (problem) => `  ${problem.file} [${problem.key}]: ${problem.problem}`),
  ];
}

function jobSection(job: JobComparison): string[] {
  if (job.missing.length === 0)
    return [`Job file ${job.file}: all ${plural(job.total, "task")} are recorded in this folder.`];
  const changed = job.missing.filter((task) => task.reason === "changed").length;
  return [
    `Job file ${job.file}: ${job.missing.length} of ${plural(job.total, "task")} not in this folder (${job.missing.length - changed} new, ${changed} changed since):`,
    ...listed(
      job.missing,
      (task) => `  ${task.pair} ${describeParams(task.params)}[${task.key}] (${task.reason})`,
    ),
  ];
}

function nextSteps(report: StatusReport): string[] {
  if (report.activeRun) return [`Wait for the run in progress (pid ${report.activeRun.pid}) to finish.`];
  const manifest = report.manifest;
  const rerun = manifest
    ? `actbatch run ${quoteArg(manifest.spec.file)} --out ${quoteArg(report.outputDir)}`
    : "the same actbatch run command (same job file and output folder)";
  const steps: string[] = [];
  const journalPending = report.journal
    ? report.journal.unanswered.length +
      report.journal.inFlight.length +
      report.journal.awaitingDownload.length
    : 0;
  if (report.resumable > 0 || journalPending > 0) {
    steps.push(`To resume: ${rerun}`);
    steps.push(
      "  It polls and downloads the tasks already submitted (never resubmitting them) and submits the rest.",
    );
    if (report.journal && report.journal.unanswered.length > 0)
      steps.push(
        "  Creates with no recorded answer are submitted again (possibly paying twice); add --no-resubmit-ambiguous to hold them.",
      );
  }
  const finalFailures = manifest?.failed.filter((task) => task.error?.retryable === false).length ?? 0;
  if (finalFailures > 0)
    steps.push(
      `${plural(finalFailures, "final failure")} (moderation, invalid asset…) ${finalFailures === 1 ? "is" : "are"} only resubmitted with --retry-failed (each attempt is paid).`,
    );
  if (report.job && report.job.missing.length > 0)
    steps.push(`Tasks of the job file not in this folder are rendered by: ${rerun}`);
  if (report.verify && report.verify.problems.length > 0)
    // A plain rerun fetches the file again from the task that rendered it: free. --force would
    // re-render (and pay for) every task of the job.
    steps.push(`Files that do not match are downloaded again from their tasks (no new render) by: ${rerun}`);
  if (steps.length === 0)
    steps.push(
      manifest && manifest.summary.total === manifest.summary.succeeded
        ? "All tasks succeeded."
        : "Nothing to resume.",
    );
  return steps;
}

function listed<T>(items: readonly T[], format: (item: T) => string): string[] {
  const lines = items.slice(0, LISTED_TASKS).map(format);
  if (items.length > LISTED_TASKS) lines.push(`  … and ${items.length - LISTED_TASKS} more`);
  return lines;
}

function describeTask(task: TaskLine): string {
  return `${task.pair} ${describeParams(task.params)}[${task.key}]`;
}

function describeTaskIds(task: TaskLine): string {
  const unknown = task.attempts - task.taskIds.length;
  const known = task.taskIds.length > 0 ? `task ids ${task.taskIds.join(", ")}` : "";
  const unseen =
    unknown > 0
      ? `${unknown} with no task id (the service may have created ${unknown === 1 ? "it" : "them"})`
      : "";
  return [known, unseen].filter(Boolean).join("; ");
}

function describeJournalTask(task: JournalTaskLine): string {
  const id = task.taskId === null ? "" : `, task ${task.taskId}`;
  return `${task.pair} ${describeParams(task.params)}[${task.key}] attempt ${task.attempt}${id}`;
}

function describeParams(params: ManifestTask["params"]): string {
  const entries = Object.entries(params);
  return entries.length === 0
    ? ""
    : entries.map(([name, value]) => `${name}=${String(value)}`).join(" ") + " ";
}

function describeError(error: ManifestError | null): string {
  if (error === null) return "no error recorded";
  const message = error.message.replace(/\s+/g, " ").trim();
  return `${error.code}${message ? `: ${message}` : ""}${error.retryable ? " (retryable)" : ""}`;
}

function totalKeys(journal: JournalFindings): number {
  return Object.values(journal.phases).reduce((sum, count) => sum + count, 0);
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/** Quotes a path for a POSIX shell only when it needs it. */
function quoteArg(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}
