// `actbatch cancel OUT`: every task the folder records as in flight is cancelled at the API (DELETE),
// each confirmed cancel recorded in the journal and the manifest. Safe to run twice: a task already
// cancelled (or finished) is not in flight any more, and nothing is sent for it.
import { access } from "node:fs/promises";
import { resolve } from "node:path";
import { createApiClient } from "../api/client.js";
import { resolveConnection } from "../api/connection.js";
import type { ProviderName } from "../api/wire-types.js";
import { ExitCode, UserError } from "../errors.js";
import { applyRecord, foldJournal, isInFlight, lastAttempt, type JournalFold } from "../journal/fold.js";
import { JournalCorruptError } from "../journal/records.js";
import { journalPath } from "../journal/paths.js";
import { JournalWriter, readJournal } from "../journal/writer.js";
import { readManifest, resolveManifestPath, summarizeTasks, writeManifest } from "../manifest/manifest.js";
import type { ManifestTask } from "../manifest/types.js";
import { InFlightCanceller } from "./cancel.js";
import { readConnectionRecord } from "./connection-record.js";
import type { RunEvent, TaskRef } from "./events.js";
import { acquireRunLock } from "./lock.js";
import { deriveManifestTask } from "./manifest-tasks.js";
import { resumeFromManifest } from "./resume-from-manifest.js";
import type { SimulatorEndpoint } from "./run-job.js";
import { scaleTiming } from "./timing.js";

export interface CancelFolderOptions {
  /** Absolute, or relative to `cwd`. */
  outDir: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Beat what the folder's last run recorded. */
  provider?: ProviderName;
  baseUrl?: string;
  /** The in-process simulator a `--simulate` folder's tasks live in. */
  simulator?: SimulatorEndpoint;
  onEvent?: (event: RunEvent) => void;
}

export interface CancelFolderResult {
  /** Tasks the folder recorded as in flight when the command started. */
  inFlight: number;
  cancelled: TaskRef[];
  /** Cancels the API did not confirm: the tasks stay in flight (a rerun polls them). */
  failed: { task: TaskRef; taskId: string; message: string }[];
  /** The manifest now says CANCELLED for each cancelled task (false when the folder has none). */
  manifestUpdated: boolean;
}

export async function cancelFolder(options: CancelFolderOptions): Promise<CancelFolderResult> {
  const outputDir = resolve(options.cwd ?? process.cwd(), options.outDir);
  const emit = options.onEvent ?? ((): void => undefined);
  try {
    await access(outputDir);
  } catch {
    throw new UserError(`${options.outDir} does not exist`, ExitCode.usage);
  }
  const lock = await acquireRunLock(outputDir, { command: "cancel" });
  let journal: JournalWriter | null = null;
  try {
    const existing = await readJournal(outputDir);
    const fold = foldOrRefuse(existing.records, outputDir);
    journal = new JournalWriter(outputDir, existing);
    // A folder that travelled without its journal still knows its tasks from its manifest.
    for (const message of (await resumeFromManifest(outputDir, fold, journal, new Map())).notes)
      emit({ kind: "note", message });
    const targets = [...fold.values()].filter((state) => isInFlight(lastAttempt(state)));
    const result: CancelFolderResult = {
      inFlight: targets.length,
      cancelled: [],
      failed: [],
      manifestUpdated: false,
    };
    // Nothing in flight: no key needed, nothing sent.
    if (targets.length === 0) return result;

    const api = await connect(options, outputDir);
    const writer = journal;
    try {
      const canceller = new InFlightCanceller({
        api,
        fold,
        append: async (record) => {
          const written = await writer.append(record);
          applyRecord(fold, written);
          return written;
        },
        onAppendError: (error) => {
          throw error;
        },
        refOf: (key) => refOf(fold, key),
        onCancelled: () => undefined,
        emit: (event) => {
          if (event.kind === "task-cancelled") {
            if (event.ok) result.cancelled.push(event.task);
            else
              result.failed.push({
                task: event.task,
                taskId: event.taskId,
                message: event.message ?? "unknown",
              });
          }
          emit(event);
        },
      });
      await canceller.cancel(new Set(targets.map((state) => state.key)));
    } finally {
      await api.close();
    }
    await writer.settle();
    result.manifestUpdated = await recordInManifest(
      outputDir,
      fold,
      new Set(result.cancelled.map((task) => task.key)),
    );
    return result;
  } finally {
    await journal?.close().catch(() => undefined);
    await lock.release();
  }
}

async function connect(options: CancelFolderOptions, outputDir: string) {
  const env = options.env ?? process.env;
  const recorded = await readConnectionRecord(outputDir);
  if (recorded?.simulated && !options.simulator)
    throw new UserError(
      `${options.outDir} was run with --simulate: its tasks live in the simulator; cancel them with --simulate`,
      ExitCode.usage,
    );
  const provider = options.provider ?? recorded?.provider ?? "cometapi";
  const simulator = options.simulator;
  const connection = resolveConnection({
    provider,
    jobProvider: { name: provider, ...(recorded?.baseUrl && { baseUrl: recorded.baseUrl }) },
    baseUrlFlag: options.baseUrl,
    env,
    simulateBaseUrl: simulator ? (provider === "runway" ? simulator.origin : simulator.baseUrl) : undefined,
  });
  const timeScale = simulator?.speed ?? 1;
  return createApiClient({
    provider: connection.provider,
    baseUrl: connection.baseUrl,
    apiKey: connection.apiKey,
    runwayVersion: connection.runwayVersion,
    concurrency: 4,
    timeScale,
    visibilityGraceMs: scaleTiming(timeScale).visibilityGraceMs,
  });
}

/** Rewrites the manifest's records of the cancelled keys (the others are left byte for byte). */
async function recordInManifest(
  outputDir: string,
  fold: JournalFold,
  keys: ReadonlySet<string>,
): Promise<boolean> {
  if (keys.size === 0) return false;
  let path: string;
  try {
    path = await resolveManifestPath(outputDir);
    await access(path);
  } catch {
    return false;
  }
  const manifest = await readManifest(path);
  const update = (task: ManifestTask): ManifestTask => {
    const state = fold.get(task.key);
    if (!keys.has(task.key) || !state) return task;
    return deriveManifestTask(task, state.output, state, new Set());
  };
  const tasks = manifest.tasks.map(update);
  const orphans = manifest.orphans.map(update);
  await writeManifest(outputDir, { ...manifest, tasks, orphans, summary: summarizeTasks(tasks, orphans) });
  return true;
}

function refOf(fold: JournalFold, key: string): TaskRef {
  const state = fold.get(key);
  return { key, pair: state?.pair ?? "?", params: state?.params ?? {} };
}

function foldOrRefuse(records: Parameters<typeof foldJournal>[0], outputDir: string): JournalFold {
  try {
    return foldJournal(records);
  } catch (error) {
    if (error instanceof JournalCorruptError)
      throw new UserError(
        `the journal ${journalPath(outputDir)} is inconsistent (${error.message}); refusing to guess which tasks are in flight`,
        ExitCode.taskFailed,
      );
    throw error;
  }
}
