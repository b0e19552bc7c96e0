// Polls one task until it reaches a terminal state. The delays come from poll-policy.ts; every GET
// takes a token from the run's shared bucket, so the total GET rate stays bounded however many tasks
// are in flight.
import type { AccountStopReason, ApiClient, TaskState } from "../api/types.js";
import { nextPollDelay, type ProgressSample } from "./poll-policy.js";
import type { RunTiming } from "./timing.js";
import type { TokenBucket } from "./token-bucket.js";

export type TerminalTaskState = Extract<
  TaskState,
  { status: "succeeded" | "failed" | "cancelled" | "missing" }
>;

export type PollResult =
  | {
      kind: "terminal";
      state: TerminalTaskState;
      atMs: number;
      /** When the task stopped waiting for the account's concurrency (its creation, unless seen THROTTLED). */
      startedAtMs: number;
    }
  /** The run is stopping (Ctrl-C): the task stays in flight and resumable. */
  | { kind: "stopped" }
  | { kind: "account-stop"; reason: AccountStopReason; status: number; message: string }
  /** No valid answer for this task for too long (or too many times): it stays in flight and resumable; `message` says why. */
  | { kind: "unreachable"; message: string };

export interface PollTaskInput {
  api: ApiClient;
  taskId: string;
  /** When the task id was obtained, on `clock`: the visibility grace period and the render estimate count from it. */
  createdAtMs: number;
  bucket: TokenBucket;
  timing: RunTiming;
  clock: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  signal: AbortSignal;
  /** The run's current estimate of creation-to-terminal time. */
  expectedRenderMs: () => number;
  /** Poll at once (a task resumed from an earlier run: its state is unknown) rather than after the policy's delay. */
  immediate: boolean;
  /** Consecutive failed GETs after which the task is left for a later run. */
  maxConsecutiveErrors?: number;
  /** Consecutive "gone" answers (404 / task_not_exist after the grace period) before the task is taken as gone. */
  missingConfirmations?: number;
  onState?: (state: TaskState) => void;
  /** A GET gave no valid answer for a reason other than the last one's (said at once, not only when polling gives up). */
  onProblem?: (message: string) => void;
  onGet?: () => void;
}

/** Consecutive "gone" answers before a task we hold the id of is taken as gone (and resubmitted, paid). */
export const MISSING_CONFIRMATIONS = 3;

const TERMINAL = new Set<TaskState["status"]>(["succeeded", "failed", "cancelled", "missing"]);

export function isTerminalState(state: TaskState): state is TerminalTaskState {
  return TERMINAL.has(state.status);
}

export async function pollTask(input: PollTaskInput): Promise<PollResult> {
  const { api, taskId, timing, clock, signal } = input;
  const maxErrors = input.maxConsecutiveErrors ?? 30;
  // Silence is bounded in time too (one bad answer can take minutes: a server that never sends headers),
  // counted from the first GET: waiting for it is not silence.
  let lastValidAtMs: number | null = null;
  const missingConfirmations = input.missingConfirmations ?? MISSING_CONFIRMATIONS;
  let last: TaskState["status"] | "error" | null = null;
  let firstProgress: ProgressSample | null = null;
  let lastProgress: ProgressSample | null = null;
  let errors = 0;
  let missing = 0;
  let lastError = "";
  let first = true;
  // A task waiting in THROTTLED has not started: its render is timed from the last time it was seen waiting.
  let startedAtMs = input.createdAtMs;
  for (;;) {
    const delay =
      first && input.immediate
        ? 0
        : nextPollDelay(
            {
              now: clock(),
              createdAtMs: startedAtMs,
              state: last,
              firstProgress,
              lastProgress,
              expectedRenderMs: input.expectedRenderMs(),
            },
            timing,
          );
    first = false;
    await input.sleep(delay, signal);
    if (signal.aborted) return { kind: "stopped" };
    await input.bucket.take(signal);
    if (signal.aborted) return { kind: "stopped" };
    input.onGet?.();
    lastValidAtMs ??= clock();
    const outcome = await api.getTask(taskId, input.createdAtMs, signal);
    // A GET answered while the run was being stopped (or its tasks cancelled) proves nothing about the task.
    if (signal.aborted) return { kind: "stopped" };
    if (outcome.kind === "account-stop") return outcome;
    if (outcome.kind === "error") {
      errors++;
      if (outcome.message !== lastError) input.onProblem?.(outcome.message);
      lastError = outcome.message;
      last = "error";
      const silentMs = clock() - lastValidAtMs;
      if (errors >= maxErrors || silentMs >= timing.maxSilenceMs)
        return { kind: "unreachable", message: gaveUpMessage(errors, silentMs, lastError) };
      continue;
    }
    errors = 0;
    lastError = "";
    lastValidAtMs = clock();
    const state = outcome.state;
    if (state.status === "missing" && ++missing < missingConfirmations) {
      // A task we hold the id of has vanished: make sure before it is given up (and resubmitted, paid).
      last = "error";
      continue;
    }
    if (isTerminalState(state)) return { kind: "terminal", state, atMs: clock(), startedAtMs };
    missing = 0;
    if (state.status === "running" && state.progress !== null) {
      const sample = { atMs: clock(), progress: state.progress };
      if (!firstProgress || sample.progress < firstProgress.progress) firstProgress = sample;
      lastProgress = sample;
    }
    if (state.status === "throttled") startedAtMs = clock();
    last = state.status;
    input.onState?.(state);
  }
}

function gaveUpMessage(errors: number, silentMs: number, lastError: string): string {
  const seconds = Math.round(silentMs / 1000);
  const span = seconds >= 120 ? `${Math.round(seconds / 60)} min` : `${seconds} s`;
  return `no valid answer in ${errors} GET${errors === 1 ? "" : "s"} over ${span}; the last: ${lastError}`;
}
