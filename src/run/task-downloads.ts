// The outputs of one succeeded task, downloaded into place: each to a temporary file, verified and
// checked against its request while still open, renamed (downloader.ts), and recorded in the journal
// once on disk.
import type { FileHandle } from "node:fs/promises";
import type { ApiClient } from "../api/types.js";
import type { TaskPlan } from "../job/types.js";
import { partialPath } from "../journal/paths.js";
import type { NewJournalRecord } from "../journal/records.js";
import { DOWNLOAD_FAILED } from "../manifest/codes.js";
import type { ManifestOutputCheck } from "../manifest/types.js";
import type { DownloadOptions, DownloadResult } from "./downloader.js";
import type { RunEvent, TaskRef } from "./events.js";
import type { OutputUrls } from "./fetch-outputs.js";
import { outputFileName, prepareOutputFolder, resolveRecordedFile } from "./output-files.js";

export interface TaskDownloadContext {
  /** Absolute. */
  outputDir: string;
  /** The output folder's real path (outputs are confined to it). */
  outputRoot: () => Promise<string>;
  api: ApiClient;
  download: (options: DownloadOptions) => Promise<DownloadResult>;
  checkOutput?: (task: TaskPlan, file: FileHandle, size: number) => Promise<ManifestOutputCheck[]>;
  /** Fresh output URLs (they expire) of the task. */
  fetchOutputUrls: (taskId: string, createdAtMs: number) => Promise<OutputUrls>;
  append: (record: NewJournalRecord) => Promise<unknown>;
  emit: (event: RunEvent) => void;
  /** Stops the downloads (a Ctrl-C, a journal that cannot be written). */
  signal: AbortSignal;
  timeScale: number;
}

export interface TaskDownload {
  task: TaskPlan;
  ref: TaskRef;
  attempt: number;
  taskId: string;
  /** The output URLs the poll just got; null: fetch fresh ones first. */
  urls: readonly string[] | null;
  /** The output numbers to download. */
  indexes: readonly number[];
  createdAtMs: number;
}

/** Why an output is not on disk: actbatch's code for the task's error (manifest/codes.ts) and the words. */
export interface DownloadFailure {
  code: string;
  message: string;
}

export type TaskDownloadOutcome =
  /** Stopped before the end: what was saved is recorded, the rest stays for the next run. */
  { kind: "stopped" } | { kind: "done"; saved: number[]; failures: { file: string; message: string }[] };

export async function downloadTaskOutputs(
  job: TaskDownload,
  ctx: TaskDownloadContext,
  on: {
    /** An output is on disk and recorded. */
    saved: (index: number) => void;
    /** An output could not be downloaded (said in an event too). */
    failed: (failure: DownloadFailure) => void;
  },
): Promise<TaskDownloadOutcome> {
  const { task, attempt, taskId } = job;
  const saved: number[] = [];
  const failures: { file: string; message: string }[] = [];
  const fail = (file: string, message: string, code = DOWNLOAD_FAILED): void => {
    failures.push({ file, message });
    on.failed({ code, message });
    ctx.emit({ kind: "download-failed", task: job.ref, file, message });
  };
  if (ctx.signal.aborted) return { kind: "stopped" };
  // Outputs of an earlier run that are missing or damaged: their URLs have expired, get fresh ones.
  const found: OutputUrls = job.urls
    ? { kind: "urls", urls: job.urls }
    : await ctx.fetchOutputUrls(taskId, job.createdAtMs);
  if (ctx.signal.aborted) return { kind: "stopped" };
  if (found.kind !== "urls") {
    fail(task.output, found.message);
    return { kind: "done", saved, failures };
  }
  for (const index of job.indexes) {
    const file = outputFileName(task.output, index);
    const finalPath = resolveRecordedFile(ctx.outputDir, file);
    const url = found.urls[index];
    if (!finalPath || url === undefined) {
      fail(
        file,
        finalPath ? `the service returned no output number ${index + 1}` : `unsafe output name ${file}`,
      );
      continue;
    }
    const escapes = await prepareOutputFolder(ctx.outputDir, finalPath, await ctx.outputRoot());
    if (escapes) {
      fail(file, escapes);
      continue;
    }
    const result = await ctx.download({
      api: ctx.api,
      url,
      refreshUrl: async () => {
        const fresh = await ctx.fetchOutputUrls(taskId, job.createdAtMs);
        return fresh.kind === "urls" ? (fresh.urls[index] ?? null) : null;
      },
      finalPath,
      tempPath: partialPath(ctx.outputDir, task.key, index),
      signal: ctx.signal,
      timeScale: ctx.timeScale,
      ...(ctx.checkOutput && { check: (opened, size) => ctx.checkOutput!(task, opened, size) }),
    });
    if (ctx.signal.aborted && result.kind !== "ok") return { kind: "stopped" };
    if (result.kind === "failed") {
      fail(file, result.message, result.code);
      continue;
    }
    const checks = result.checks;
    await ctx.append({
      t: "output",
      key: task.key,
      attempt,
      taskId,
      index,
      file,
      bytes: result.bytes,
      sha256: result.sha256,
      ...(checks && { checks }),
    });
    saved.push(index);
    on.saved(index);
    ctx.emit({ kind: "download-finished", task: job.ref, file, bytes: result.bytes });
  }
  return { kind: "done", saved, failures };
}
