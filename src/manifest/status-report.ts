// What `actbatch status` knows about an output folder: the manifest's story, plus what the journal
// adds when the run was interrupted after its last manifest write (or before its first one).
import { dirname } from "node:path";
import { MANIFEST_TASK_STATUSES } from "./fields.js";
import { journalTasks, type JournalTask, type JournalTaskPhase, type JournalView } from "../journal/view.js";
import type { Manifest, ManifestError, ManifestSummary, ManifestTask, ManifestTaskStatus } from "./types.js";
import type { VerifyResult } from "./verify.js";

export interface TaskLine {
  key: string;
  pair: string;
  params: ManifestTask["params"];
  status: ManifestTaskStatus;
  taskId: string | null;
  attempts: number;
  error: ManifestError | null;
  /** Every task id recorded for this key (earlier attempts first). */
  taskIds: string[];
}

export interface ManifestFindings {
  path: string;
  job: string;
  spec: Manifest["spec"];
  summary: ManifestSummary;
  /** Tasks of the job per status, every status listed. */
  statuses: Record<ManifestTaskStatus, number>;
  failed: TaskLine[];
  possiblyChargedTwice: TaskLine[];
  /** Paid tasks whose keys left the job file. */
  orphans: number;
  /** Outputs of the job's tasks whose MP4 checks failed when they were downloaded. */
  checkFailures: { key: string; pair: string; file: string; failed: string[] }[];
}

/** `status --job`: the job file's tasks that this folder does not hold as they are now. */
export interface JobComparison {
  file: string;
  total: number;
  /** Tasks of the job file that the folder has no record of (new, or their request changed since). */
  missing: { key: string; pair: string; params: ManifestTask["params"]; reason: "new" | "changed" }[];
}

export interface JournalFindings {
  path: string;
  /** Why the journal is reported: it has records the manifest does not show yet, or there is no manifest. */
  reason: "newer-than-manifest" | "no-manifest";
  records: number;
  tornTail: boolean;
  damagedLines: number[];
  inconsistentRecords: number;
  /** Keys per phase, as the journal tells it. */
  phases: Record<JournalTaskPhase, number>;
  /** Creates sent with no answer on disk, or answered ambiguously: possibly created and paid. */
  unanswered: JournalTaskLine[];
  /** Created at the service and not finished (or finished unseen): polled by the next run, never resubmitted. */
  inFlight: JournalTaskLine[];
  /** Succeeded at the service, outputs not all downloaded yet. */
  awaitingDownload: JournalTaskLine[];
  possiblyChargedTwice: JournalTaskLine[];
  /** Task ids the journal knows and the manifest does not (the next manifest will list them). */
  unrecordedTaskIds: string[];
}

export interface JournalTaskLine {
  key: string;
  pair: string;
  params: ManifestTask["params"];
  attempt: number;
  taskId: string | null;
}

export interface ActiveRun {
  pid: number;
  hostname: string;
  startedAt: string;
  command: string;
}

export interface StatusReport {
  outputDir: string;
  manifest: ManifestFindings | null;
  journal: JournalFindings | null;
  /** A run that holds the folder's lock right now. */
  activeRun: ActiveRun | null;
  /** The manifest's output files checked against their size and sha256 (null without a manifest). */
  verify: VerifyResult | null;
  /** Every file was hashed (--verify), rather than only those changed since they were last hashed. */
  verifiedAll: boolean;
  job: JobComparison | null;
  /** Tasks a rerun would pick up (from the manifest, or from the journal when there is no manifest). */
  resumable: number;
  /** 0 every task succeeded and every output is intact and passed its checks; 1 otherwise; 2 no manifest. */
  exitCode: 0 | 1 | 2;
}

export interface StatusInputs {
  outputDir: string;
  manifestPath: string;
  manifest: Manifest | null;
  manifestMtimeMs: number | null;
  journal: JournalView | null;
  activeRun: ActiveRun | null;
  verify: VerifyResult | null;
  verifiedAll: boolean;
  job: JobComparison | null;
}

export function buildStatusReport(inputs: StatusInputs): StatusReport {
  const manifest = inputs.manifest ? manifestFindings(inputs.manifestPath, inputs.manifest) : null;
  const journal = journalFindings(inputs);
  const fromManifest = manifest ? manifest.summary.pending : 0;
  const fromJournal = journal
    ? journal.unanswered.length + journal.inFlight.length + journal.awaitingDownload.length
    : 0;
  return {
    outputDir: inputs.outputDir,
    manifest,
    journal,
    activeRun: inputs.activeRun,
    verify: inputs.verify,
    verifiedAll: inputs.verifiedAll,
    job: inputs.job,
    resumable: manifest ? fromManifest : fromJournal,
    exitCode: statusExitCode(inputs.manifest, manifest, inputs.verify, inputs.job),
  };
}

/** The gate a CI step can use: 0 only when the folder holds every task done, intact and checked. */
function statusExitCode(
  manifest: Manifest | null,
  findings: ManifestFindings | null,
  verify: VerifyResult | null,
  job: JobComparison | null,
): 0 | 1 | 2 {
  if (manifest === null || findings === null) return 2;
  const jobKeys = new Set(manifest.tasks.map((task) => task.key));
  const done =
    findings.summary.succeeded === findings.summary.total &&
    findings.checkFailures.length === 0 &&
    // An orphan's file is kept for the record; only the job's own tasks decide.
    !(verify?.problems.some((problem) => jobKeys.has(problem.key)) ?? false) &&
    (job?.missing.length ?? 0) === 0;
  return done ? 0 : 1;
}

function manifestFindings(path: string, manifest: Manifest): ManifestFindings {
  const statuses = Object.fromEntries(MANIFEST_TASK_STATUSES.map((status) => [status, 0])) as Record<
    ManifestTaskStatus,
    number
  >;
  for (const task of manifest.tasks) statuses[task.status] += 1;
  return {
    path,
    job: manifest.job,
    spec: manifest.spec,
    summary: manifest.summary,
    statuses,
    failed: manifest.tasks.filter((task) => task.status === "FAILED").map(taskLine),
    possiblyChargedTwice: [...manifest.tasks, ...manifest.orphans]
      .filter((task) => task.possiblyChargedTwice)
      .map(taskLine),
    orphans: manifest.orphans.length,
    checkFailures: manifest.tasks.flatMap((task) =>
      task.outputs.flatMap((output) => {
        const failed = (output.checks ?? []).filter((check) => !check.ok).map((check) => check.name);
        return failed.length === 0 ? [] : [{ key: task.key, pair: task.pair, file: output.file, failed }];
      }),
    ),
  };
}

function taskLine(task: ManifestTask): TaskLine {
  const earlier = task.history.flatMap((attempt) => (attempt.taskId === null ? [] : [attempt.taskId]));
  return {
    key: task.key,
    pair: task.pair,
    params: task.params,
    status: task.status,
    taskId: task.taskId,
    attempts: task.attempts,
    error: task.error,
    taskIds: task.taskId === null || earlier.includes(task.taskId) ? earlier : [...earlier, task.taskId],
  };
}

/**
 * The journal is reported when there is no manifest, or when it was appended to after the
 * manifest was written and says something the manifest does not: a run was interrupted (or is
 * running) since. A clean finish writes the manifest last, so its journal is never newer.
 */
function journalFindings(inputs: StatusInputs): JournalFindings | null {
  const view = inputs.journal;
  if (view === null) return null;
  const reason = inputs.manifest === null ? "no-manifest" : "newer-than-manifest";
  if (
    reason === "newer-than-manifest" &&
    view.mtimeMs <= (inputs.manifestMtimeMs ?? Number.POSITIVE_INFINITY)
  )
    return null;
  const tasks = journalTasks(view.fold);
  const phases = Object.fromEntries(JOURNAL_PHASES.map((phase) => [phase, 0])) as Record<
    JournalTaskPhase,
    number
  >;
  for (const task of tasks) phases[task.phase] += 1;
  const known = new Set(
    (inputs.manifest ? [...inputs.manifest.tasks, ...inputs.manifest.orphans] : []).flatMap((task) => [
      task.taskId,
      ...task.history.map((attempt) => attempt.taskId),
    ]),
  );
  const byPhase = (...wanted: JournalTaskPhase[]) =>
    tasks.filter((task) => wanted.includes(task.phase)).map(journalTaskLine);
  const findings: JournalFindings = {
    path: view.path,
    reason,
    records: view.records,
    tornTail: view.tornTail,
    damagedLines: view.damagedLines,
    inconsistentRecords: view.inconsistentRecords,
    phases,
    unanswered: byPhase("unanswered", "ambiguous"),
    inFlight: byPhase("in-flight"),
    awaitingDownload: byPhase("awaiting-download"),
    possiblyChargedTwice: tasks.filter((task) => task.possiblyChargedTwice).map(journalTaskLine),
    unrecordedTaskIds: inputs.manifest
      ? tasks.flatMap((task) => task.taskIds).filter((id) => !known.has(id))
      : [],
  };
  if (reason === "newer-than-manifest" && !journalAddsAnything(findings, inputs.manifest)) return null;
  return findings;
}

const JOURNAL_PHASES: readonly JournalTaskPhase[] = [
  "succeeded",
  "failed",
  "cancelled",
  "in-flight",
  "awaiting-download",
  "unanswered",
  "ambiguous",
  "not-created",
];

function journalAddsAnything(findings: JournalFindings, manifest: Manifest | null): boolean {
  if (findings.unrecordedTaskIds.length > 0 || findings.damagedLines.length > 0) return true;
  const unsettled = [...findings.unanswered, ...findings.inFlight, ...findings.awaitingDownload];
  if (unsettled.length === 0) return false;
  // Unsettled in the journal and already shown as unsettled in the manifest (an interrupt that
  // wrote its manifest) adds nothing; unsettled where the manifest says finished does.
  const statusByKey = new Map(manifest?.tasks.map((task) => [task.key, task.status]));
  return unsettled.some((task) => {
    const status = statusByKey.get(task.key);
    return (
      status === undefined || status === "SUCCEEDED" || status === "FAILED" || status === "NOT_SUBMITTED"
    );
  });
}

function journalTaskLine(task: JournalTask): JournalTaskLine {
  return { key: task.key, pair: task.pair, params: task.params, attempt: task.attempt, taskId: task.taskId };
}

/** The folder a manifest path belongs to. */
export function outputDirOfManifest(manifestPath: string): string {
  return dirname(manifestPath);
}
