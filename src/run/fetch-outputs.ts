// Fresh output URLs of a task that succeeded earlier (signed URLs expire): its outputs are downloaded
// again from it, for free. A task the provider no longer has is asked again before it is taken as gone
// (its outputs can then only be rendered, and paid for, again).
import type { AccountStopReason, ApiClient } from "../api/types.js";
import { MISSING_CONFIRMATIONS } from "./poller.js";
import type { TokenBucket } from "./token-bucket.js";

export type OutputUrls =
  | { kind: "urls"; urls: readonly string[] }
  /** The provider no longer has the task (confirmed): its outputs can only be rendered again. */
  | { kind: "gone"; message: string }
  | { kind: "unavailable"; message: string };

export interface FetchOutputsContext {
  api: Pick<ApiClient, "getTask">;
  /** The run's GET rate. */
  bucket: Pick<TokenBucket, "take">;
  signal: AbortSignal;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Between two "gone" answers. */
  retryDelayMs: number;
  onGet: () => void;
  onAccountStop: (reason: AccountStopReason, status: number, message: string) => void;
}

export async function fetchOutputUrls(
  taskId: string,
  createdAtMs: number,
  ctx: FetchOutputsContext,
): Promise<OutputUrls> {
  for (let asked = 1; ; asked++) {
    await ctx.bucket.take(ctx.signal);
    ctx.onGet();
    const outcome = await ctx.api.getTask(taskId, createdAtMs, ctx.signal);
    if (outcome.kind === "account-stop") {
      ctx.onAccountStop(outcome.reason, outcome.status, outcome.message);
      return { kind: "unavailable", message: outcome.message };
    }
    if (outcome.kind === "error")
      return {
        kind: "unavailable",
        message: `could not read the task for fresh output URLs: ${outcome.message}`,
      };
    const state = outcome.state;
    if (state.status === "succeeded") return { kind: "urls", urls: state.outputs };
    if (state.status !== "missing")
      return {
        kind: "unavailable",
        message: `the task is ${state.status}, not succeeded: cannot download its outputs`,
      };
    if (asked >= MISSING_CONFIRMATIONS)
      return { kind: "gone", message: `output lost and the task is gone at the provider (${state.message})` };
    await ctx.sleep(ctx.retryDelayMs, ctx.signal);
    if (ctx.signal.aborted)
      return { kind: "unavailable", message: "stopped before the task's outputs were fetched" };
  }
}
