// A second Ctrl-C: every task of this run still in flight is cancelled at the API (DELETE). Only a
// confirmed cancel is recorded; an unconfirmed one may still be running and is polled next time.
import type { ApiClient } from "../api/types.js";
import { isInFlight, lastAttempt, type JournalFold } from "../journal/fold.js";
import type { NewJournalRecord } from "../journal/records.js";
import type { RunEvent, TaskRef } from "./events.js";

export interface CancelContext {
  api: Pick<ApiClient, "cancelTask">;
  fold: JournalFold;
  /** Appends a record durably (and applies it to the fold). */
  append(record: NewJournalRecord): Promise<unknown>;
  /** A record that could not be appended (the journal failed: the run ends). */
  onAppendError(error: unknown): void;
  refOf(key: string): TaskRef;
  /** The task's cancel was confirmed. */
  onCancelled(key: string): void;
  emit(event: RunEvent): void;
}

export class InFlightCanceller {
  /** Task ids asked once: the cancel may be asked for again after the work ends. */
  private readonly asked = new Set<string>();
  /** A cancel was acted on: the tasks in flight were asked to cancel. */
  handled = false;

  constructor(private readonly ctx: CancelContext) {}

  /** Cancels the tasks in flight among `keys` (only this run's: another shard's are that shard's business). */
  async cancel(keys: ReadonlySet<string>): Promise<void> {
    const { ctx } = this;
    this.handled = true;
    const targets = [...ctx.fold.values()].filter(
      (state) => keys.has(state.key) && isInFlight(lastAttempt(state)),
    );
    await Promise.all(
      targets.map(async (state) => {
        const attempt = lastAttempt(state);
        if (!attempt?.taskId || this.asked.has(attempt.taskId)) return;
        this.asked.add(attempt.taskId);
        const outcome = await ctx.api.cancelTask(attempt.taskId);
        if (outcome.kind === "cancelled") {
          await ctx
            .append({ t: "cancel", key: state.key, attempt: attempt.attempt, taskId: attempt.taskId })
            .catch((error: unknown) => ctx.onAppendError(error));
          ctx.onCancelled(state.key);
        }
        ctx.emit({
          kind: "task-cancelled",
          task: ctx.refOf(state.key),
          taskId: attempt.taskId,
          ok: outcome.kind === "cancelled",
          message: outcome.kind === "error" ? outcome.message : null,
        });
      }),
    );
  }
}
