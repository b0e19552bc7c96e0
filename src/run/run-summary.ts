// The end of a run as data (the --json result, and what report/run-summary-text.ts words for humans): counts,
// requests per task, every task that did not succeed with its pair, params and error, and every
// possible double charge.
import { OUTPUT_LOST } from "../manifest/codes.js";
import type {
  ManifestError,
  ManifestOutputCheck,
  ManifestTask,
  ManifestTaskStatus,
} from "../manifest/types.js";
import type { ParamValue } from "../job/types.js";
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
  /** The flags a rerun (and `cancel`) must repeat to reach the same tasks: --simulate, --provider, --base-url. */
  connectionFlags: string[];
  /** --shard I/N when the run was one shard, for the resume command. */
  shardFlags: string[];
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
  connectionFlags: string[];
  shardFlags: string[];
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
    connectionFlags: input.connectionFlags,
    shardFlags: input.shardFlags,
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

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
