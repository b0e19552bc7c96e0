// The engine's downloads: a succeeded task's outputs queued under the download slots, and the start
// step that reads tasks whose files are lost again for fresh URLs (a task the provider no longer has
// is recorded as lost and becomes a new render).
import type { TaskPlan } from "../job/types.js";
import { DISK_FULL } from "../manifest/codes.js";
import { nextAttemptNumber, type StartAction } from "./decide.js";
import { readOutputUrls } from "./engine-polls.js";
import { refOf, type EngineState } from "./engine-state.js";
import { downloadTaskOutputs } from "./task-downloads.js";

export interface DownloadJob {
  task: TaskPlan;
  attempt: number;
  taskId: string;
  /** Outputs the task has; the task succeeds once each is on disk and verified. */
  outputCount: number;
  /** URLs read by this run, or null to read them from the task. */
  urls: readonly string[] | null;
  /** Which outputs to download. */
  indexes: readonly number[];
  createdAtMs: number;
}

export function queueDownload(state: EngineState, job: DownloadJob): void {
  const key = job.task.key;
  state.setPhase(key, "downloading");
  state.overlayOf(key).downloading = true;
  state.changed(key);
  const done = state
    .downloadSlots(() => downloadOutputs(state, job))
    .catch((error: unknown) => state.onWorkError(error))
    .finally(() => {
      state.overlayOf(key).downloading = false;
      state.changed(key);
      state.checkpoints.request();
    });
  state.downloads.push(done);
}

async function downloadOutputs(state: EngineState, job: DownloadJob): Promise<void> {
  const { ctx } = state;
  const { task } = job;
  const overlay = state.overlayOf(task.key);
  const outcome = await downloadTaskOutputs(
    {
      task,
      ref: refOf(task),
      attempt: job.attempt,
      taskId: job.taskId,
      urls: job.urls,
      indexes: job.indexes,
      createdAtMs: job.createdAtMs,
    },
    {
      outputDir: ctx.outputDir,
      outputRoot: () => state.outputRootPath(),
      api: ctx.api,
      download: ctx.download,
      ...(ctx.checkOutput && { checkOutput: ctx.checkOutput }),
      fetchOutputUrls: (id, at) => readOutputUrls(state, id, at),
      append: (record) => state.append(record),
      emit: ctx.emit,
      signal: state.halt.signal,
      timeScale: ctx.timeScale,
    },
    {
      saved: (index) => {
        state.verifiedOf(task.key).add(index);
        state.changed(task.key);
      },
      failed: (failure) => {
        overlay.downloadError = failure;
        state.changed(task.key);
        // A full disk stops the run: every other download would fail the same way.
        if (failure.code === DISK_FULL) state.diskFull(new Error(failure.message));
      },
    },
  );
  if (outcome.kind === "stopped") return;
  const failed = outcome.failures.length > 0;
  if (!failed) delete overlay.downloadError;
  state.changed(task.key);
  const verified = state.verifiedOf(task.key);
  const complete = Array.from({ length: job.outputCount }, (_, i) => i).every((i) => verified.has(i));
  state.setPhase(task.key, complete && !failed ? "succeeded" : "failed");
}

/**
 * Start decisions to fetch outputs again: each task is read once for fresh URLs (kept for its
 * download). A task the provider no longer has becomes a new render: recorded as lost, then submitted.
 */
export async function fetchAgain(
  state: EngineState,
  runTasks: readonly TaskPlan[],
  actions: Map<string, StartAction>,
): Promise<Map<string, readonly string[]>> {
  const fresh = new Map<string, readonly string[]>();
  await Promise.all(
    runTasks.map(async (task) => {
      const action = actions.get(task.key);
      if (action?.kind !== "download" || state.halt.signal.aborted) return;
      state.touched.add(task.key);
      const found = await readOutputUrls(state, action.taskId, state.createdAtOf(task.key));
      if (found.kind === "urls") fresh.set(task.key, found.urls);
      if (found.kind !== "gone" || state.submissionStopped()) return;
      await state.append({
        t: "lost",
        key: task.key,
        attempt: action.attempt,
        taskId: action.taskId,
        message: found.message,
      });
      actions.set(task.key, {
        kind: "submit",
        attempt: nextAttemptNumber(state.ctx.fold.get(task.key)),
        reason: "output-lost",
      });
      state.setPhase(task.key, "queued");
    }),
  );
  return fresh;
}
