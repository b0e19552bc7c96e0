// One job file, run to the end: plan, connection (or the in-process simulator), lock, journal, engine,
// manifest, summary. The CLI's `run` command and the programmatic API both come through here.
import { rm, type FileHandle } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { createApiClient } from "../api/client.js";
import type { ApiClient } from "../api/types.js";
import { PROVIDERS, resolveConnection } from "../api/connection.js";
import { isLoopbackHost } from "../api/url-policy.js";
import { ExitCode, UserError } from "../errors.js";
import {
  assembleManifest,
  createManifestCache,
  writeManifestCheckpoint,
  type ManifestInput,
} from "../manifest/manifest.js";
import type { Manifest } from "../manifest/types.js";
import type { RunEvent } from "./events.js";
import { buildRunSummary, type RunSummary } from "./run-summary.js";
import { outputCheckOptions } from "../preflight/index.js";
import { LocalFileSender, sendingLocalFiles } from "./send-local-files.js";
import { loadPlan } from "../job/index.js";
import type { BudgetSpec, LoadedPlan, Plan, PlanReport, ProviderName, TaskPlan } from "../job/types.js";
import { writeConnectionRecord } from "./connection-record.js";
import { DEFAULT_MAX_OUTPUT_MB, downloadOutput } from "./downloader.js";
import { executePlan } from "./execute.js";
import { exitCodeOf } from "./transitions.js";
import { checkAccount, checkOpenedOutput, gateTasks } from "./before-submit.js";
import { foldJournal } from "../journal/fold.js";
import { JournalCorruptError } from "../journal/records.js";
import { journalPath, partialPath } from "../journal/paths.js";
import { JournalWriter, readJournal } from "../journal/writer.js";
import { acquireRunLock } from "./lock.js";
import { resumeFromManifest } from "./resume-from-manifest.js";
import { inShard, type Shard } from "./shard.js";
import { sleep } from "./sleep.js";
import { scaleTiming } from "./timing.js";

/** A simulator of the service, listening already (started by the caller: see src/simulated-run.ts). */
export interface SimulatorEndpoint {
  /** CometAPI's routes. */
  baseUrl: string;
  /** Runway's routes. */
  origin: string;
  /** Its speed factor: the run's time scale unless `timeScale` is given. */
  speed: number;
}

export interface RunJobOptions {
  /** The job file (relative to `cwd`); or pass `plan` directly. */
  file?: string;
  plan?: Plan;
  /** The plan's report from loadPlan: its asset list drives the preflight. Without it, no preflight. */
  report?: PlanReport;
  /** Probe every asset before the first create (HEAD, type, size, reference duration). @defaultValue true */
  preflight?: boolean;
  /** Spending limits; they replace the job file's `budget`. */
  budget?: BudgetSpec;
  /** With a budget, allow tasks whose cost cannot be known (a reference of unknown duration). */
  allowUnknownCost?: boolean;
  /** @defaultValue process.cwd() */
  cwd?: string;
  /** Where the API key and ACTBATCH_* settings are read. @defaultValue process.env */
  env?: NodeJS.ProcessEnv;
  /** Replaces the job's output.dir. */
  outDir?: string;
  /** Tasks in flight at once. @defaultValue the job file's concurrency */
  concurrency?: number;
  baseUrl?: string;
  provider?: ProviderName;
  /** Run against this simulator: no key, no network. */
  simulator?: SimulatorEndpoint;
  /** Re-render every task (in-flight tasks are polled, not resubmitted). */
  force?: boolean;
  /** Resubmit tasks that ended with a final failure (each attempt is paid). */
  retryFailed?: boolean;
  /** Resubmit tasks whose create had an unknown outcome. @defaultValue true */
  resubmitAmbiguous?: boolean;
  /** Check each downloaded file's MP4 header against its request (outputs[].checks). @defaultValue true */
  outputChecks?: boolean;
  /** Create attempts per task within one run. @defaultValue 2 */
  maxAttempts?: number;
  /** @defaultValue 10,000 */
  maxTasks?: number;
  /** Moderation failures after which submission stops. @defaultValue 3 */
  maxModerationFailures?: number;
  /**
   * Largest output file accepted, in MiB: a larger one is not kept and its task fails with
   * OUTPUT_TOO_LARGE (a rerun with a higher limit downloads it, no new render). @defaultValue 1024
   */
  maxOutputMb?: number;
  shard?: Shard;
  /**
   * Only these keys are acted on (--only, --last-failed); the manifest still lists every task.
   * `flags` are said again in the resume hints.
   */
  only?: { keys: ReadonlySet<string>; flags: string[] };
  /**
   * Runs the engine's clock this many times faster (tests and benchmarks against a sped-up
   * simulator). @defaultValue ACTBATCH_TIME_SCALE, else the simulator's speed, else 1
   */
  timeScale?: number;
  /** Aborting it stops the run as a first Ctrl-C does (reason "SIGTERM" gives exit 143, else 130). */
  signal?: AbortSignal;
  /** Aborting it cancels the tasks in flight at the API, as a second Ctrl-C does. */
  cancelSignal?: AbortSignal;
  onEvent?: (event: RunEvent) => void;
}

export interface RunJobResult {
  exitCode: number;
  summary: RunSummary;
  manifest: Manifest;
  manifestPath: string;
  /**
   * False when `cancelSignal` was aborted too late for the engine to act on it (its work had
   * ended): the tasks in flight were not asked to cancel. A run with both signals aborted does it.
   */
  cancelHandled: boolean;
}

export const DEFAULT_MAX_ATTEMPTS = 2;
export const DEFAULT_MAX_MODERATION_FAILURES = 3;

/** Runs one job to the end (or to a stop) and writes its manifest. Throws UserError before submitting anything on a bad spec or setup. */
export async function runJob(options: RunJobOptions): Promise<RunJobResult> {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const emit = options.onEvent ?? ((): void => undefined);
  const maxOutputMb = options.maxOutputMb ?? DEFAULT_MAX_OUTPUT_MB;
  if (!Number.isInteger(maxOutputMb) || maxOutputMb < 1)
    throw new UserError(`maxOutputMb must be a positive integer (MiB), got ${String(options.maxOutputMb)}`);
  const maxOutputBytes = maxOutputMb * 1024 * 1024;
  const loaded: LoadedPlan | null = options.plan
    ? options.report
      ? { plan: options.plan, report: options.report }
      : null
    : await loadPlanFor(options, cwd);
  const plan = options.plan ?? (loaded as LoadedPlan).plan;
  const concurrency = options.concurrency ?? plan.concurrency;
  const envScale = parseTimeScale(env.ACTBATCH_TIME_SCALE);
  const simulator = options.simulator ?? null;
  const timeScale = options.timeScale ?? simulator?.speed ?? envScale ?? 1;
  const stopSignal = options.signal ?? new AbortController().signal;
  const cancelSignal = options.cancelSignal ?? new AbortController().signal;
  const connection = resolveConnection({
    provider: options.provider,
    jobProvider: plan.provider,
    baseUrlFlag: options.baseUrl,
    env,
    // The simulator serves CometAPI's routes under /runwayml and Runway's at its root.
    simulateBaseUrl: simulator
      ? (options.provider ?? plan.provider.name) === "runway"
        ? simulator.origin
        : simulator.baseUrl
      : undefined,
  });
  const outputDir = resolve(cwd, plan.outputDir);
  const lock = await acquireRunLock(outputDir, { command: `run ${plan.spec.file}` });
  if (lock.note) emit({ kind: "note", message: lock.note });
  // Temporary download files are never continued across runs (downloader.ts): under the lock,
  // whatever an interrupted run left there is garbage, possibly of keys the job no longer has.
  await rm(dirname(partialPath(outputDir, "", 0)), { recursive: true, force: true });
  const timing = scaleTiming(timeScale);
  const startedAt = Date.now();
  let journal: JournalWriter | null = null;
  let api: ApiClient | null = null;
  try {
    // What `actbatch cancel OUT` talks to (never the key); a convenience, so a failed write stops nothing.
    await writeConnectionRecord(outputDir, {
      provider: connection.provider,
      baseUrl: simulator ? null : connection.baseUrl,
      simulated: simulator !== null,
    }).catch(() => undefined);
    api = createApiClient({
      provider: connection.provider,
      baseUrl: connection.baseUrl,
      apiKey: connection.apiKey,
      runwayVersion: connection.runwayVersion,
      concurrency: concurrency + Math.min(4, concurrency),
      timeScale,
      visibilityGraceMs: timing.visibilityGraceMs,
    });
    const sender =
      plan.localFiles !== undefined && plan.localFiles.length > 0
        ? new LocalFileSender(plan.localFiles, {
            provider: connection.provider,
            upload: { api },
            uploadCacheFile: resolve(outputDir, ".actbatch", "uploads.json"),
          })
        : null;
    const existing = await readJournal(outputDir);
    const fold = foldOrExplain(existing.records, outputDir);
    journal = new JournalWriter(outputDir, existing);
    // A folder that travelled without its journal (an artifact, a merge, a cache) resumes from its manifest.
    const resumed = await resumeFromManifest(
      outputDir,
      fold,
      journal,
      new Map(plan.tasks.map((task) => [task.key, task.output])),
    );
    for (const message of resumed.notes) emit({ kind: "note", message });
    // The final records; the manifest object is assembled from them only when a caller asks for it.
    let finalRecords: ManifestInput | null = null;
    // Filled by the gate; empty (durations unknown, not checked) when it did not run.
    let referenceDurations = new Map<string, number>();
    let manifestPath = resolve(outputDir, "manifest.json");
    // Checkpoints rewrite the whole file: only the tasks changed since the last one are serialised again.
    const manifestCache = createManifestCache();
    const result = await executePlan(
      {
        plan,
        outputDir,
        api: sender ? sendingLocalFiles(api, sender) : api,
        download: (download) => downloadOutput({ ...download, maxBytes: maxOutputBytes }),
        journal,
        fold,
        timing,
        timeScale,
        clock: Date.now,
        sleep,
        emit,
        stopSignal,
        cancelSignal,
        beforeSubmit: async (tasks) => {
          if (loaded === null) {
            await sender?.prepare(tasks.map((task) => task.request));
            return { budget: null };
          }
          const gate = await gateTasks(loaded, tasks, {
            outputDir,
            preflight: options.preflight ?? true,
            // The simulator fetches no asset: against it (in process, or any API on loopback),
            // only loopback asset URLs are probed; https://assets.example.com stays offline.
            loopbackOnly: simulator !== null || isLoopbackHost(new URL(connection.baseUrl).hostname),
            provider: connection.provider,
            budget: options.budget,
            allowUnknownCost: options.allowUnknownCost ?? false,
            emit,
          });
          referenceDurations = gate.referenceDurations;
          // Data URIs built and uploads made now: a file that cannot be sent stops the run here.
          await sender?.prepare(tasks.map((task) => task.request));
          const tier =
            connection.provider === "runway" && tasks.length > 0
              ? await checkAccount(api!, tasks.length, gate.estimate, emit)
              : null;
          // The tier sizes the concurrency only where nobody chose one.
          const sized =
            tier !== null && options.concurrency === undefined && plan.concurrencyIsDefault === true;
          if (sized) emit({ kind: "note", message: `concurrency ${tier}: the account's limit for act_two` });
          else if (tier !== null && concurrency > tier)
            emit({
              kind: "note",
              message: `concurrency ${concurrency} is above the account's limit of ${tier} for act_two: the extra tasks wait THROTTLED at the service`,
            });
          return { budget: gate.ledger, ...(sized && { concurrency: tier }) };
        },
        ...(options.outputChecks !== false && {
          checkOutput: (task: TaskPlan, file: FileHandle, size: number) =>
            checkOpenedOutput(file, size, outputCheckOptions(task, { referenceDurations })),
        }),
        writeManifest: async ({ tasks, orphans, source }, final) => {
          // The final records are the result's: kept before they are written, so that a full disk
          // leaves the summary its tasks all the same.
          if (final) finalRecords = { plan, tasks, orphans };
          // The bytes writeManifest(assembleManifest(...)) would write, serialising only the records of
          // keys changed since the last write (the final write too).
          manifestPath = await writeManifestCheckpoint(
            outputDir,
            { plan, tasks, orphans },
            manifestCache,
            source,
          );
        },
      },
      {
        concurrency,
        maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
        maxModerationFailures: options.maxModerationFailures ?? DEFAULT_MAX_MODERATION_FAILURES,
        force: options.force ?? false,
        retryFailed: options.retryFailed ?? false,
        resubmitAmbiguous: options.resubmitAmbiguous ?? true,
        inShard: (key) =>
          (options.shard === undefined || inShard(key, options.shard)) &&
          (options.only?.keys.has(key) ?? true),
        keyVariable: PROVIDERS[connection.provider].keyVariable,
      },
    );
    const stoppedBy = stopSignal.aborted ? stopSignal : cancelSignal.aborted ? cancelSignal : null;
    const interrupted = stoppedBy ? (stoppedBy.reason === "SIGTERM" ? "SIGTERM" : "SIGINT") : null;
    const exitCode = exitCodeOf({
      stop: result.stop?.reason ?? null,
      allSucceeded: result.allSucceeded,
      allChecked: result.allChecked,
      interrupted,
    });
    const counts = api.counts();
    const summary = buildRunSummary({
      job: plan.job,
      specFile: plan.spec.file,
      outputDir,
      connectionFlags: [
        ...(simulator ? ["--simulate"] : []),
        ...(options.provider ? ["--provider", options.provider] : []),
        ...(options.baseUrl ? ["--base-url", options.baseUrl] : []),
      ],
      shardFlags: [
        ...(options.shard ? ["--shard", `${options.shard.index}/${options.shard.count}`] : []),
        ...(options.only?.flags ?? []),
      ],
      manifest: manifestPath,
      tasks: result.tasks,
      orphans: result.orphans,
      runKeys: result.runKeys,
      alreadyDone: result.alreadyDone,
      fetchedAgain: result.fetchedAgain,
      renderedAgain: result.renderedAgain,
      exitCode,
      stop: result.stop,
      interrupted,
      requests: { ...counts },
      polledTasks: result.polledTasks,
      taskGets: result.taskGets,
      touchedTasks: result.touchedTasks,
      elapsedMs: Date.now() - startedAt,
      meanRenderMs: result.meanRenderMs,
    });
    emit({ kind: "run-finished", job: plan.job, exitCode });
    if (!finalRecords) throw new Error("the run ended without writing its manifest");
    return resultWithManifest(
      { exitCode, summary, manifestPath, cancelHandled: result.cancelHandled },
      finalRecords,
    );
  } finally {
    await journal?.close().catch(() => undefined);
    await api?.close();
    await lock.release();
  }
}

async function loadPlanFor(options: RunJobOptions, cwd: string): Promise<LoadedPlan> {
  if (options.file === undefined) throw new UserError("runJob needs a job file or a plan");
  return loadPlan(options.file, { maxTasks: options.maxTasks, outDir: options.outDir, cwd });
}

function foldOrExplain(
  records: Parameters<typeof foldJournal>[0],
  outputDir: string,
): ReturnType<typeof foldJournal> {
  try {
    return foldJournal(records);
  } catch (error) {
    if (error instanceof JournalCorruptError)
      throw new UserError(
        `the journal ${journalPath(outputDir)} is inconsistent (${error.message}); refusing to guess which tasks were paid`,
        ExitCode.taskFailed,
      );
    throw error;
  }
}

/** ACTBATCH_TIME_SCALE: a testing and benchmark knob (the engine's clock runs this many times faster). */
export function parseTimeScale(raw: string | undefined): number | null {
  if (raw === undefined || raw.trim() === "") return null;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new UserError(`ACTBATCH_TIME_SCALE must be a positive number, got "${raw}"`);
  return value;
}

/**
 * The result, whose manifest object (every record copied and normalised: tens of MB for a large job)
 * is assembled on first access, once: a run that writes no report never builds it.
 */
function resultWithManifest(result: Omit<RunJobResult, "manifest">, records: ManifestInput): RunJobResult {
  let manifest: Manifest | null = null;
  return Object.defineProperty(result, "manifest", {
    enumerable: true,
    get: () => (manifest ??= assembleManifest(records)),
  }) as RunJobResult;
}
