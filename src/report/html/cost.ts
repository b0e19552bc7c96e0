// Cost estimates (DESIGN.md section 1): CometAPI charges a flat price per task; Runway charges
// credits per second of output, and the output is as long as the reference video.
import type { ProviderName } from "../../job/types.js";

// One source for the prices: the run's cost gate (src/cost) and the reports must never disagree.
export {
  COMETAPI_PRICE_PER_TASK_USD as COMETAPI_USD_PER_TASK,
  RUNWAY_CREDITS_PER_SECOND,
  formatUsd,
} from "../../cost/estimate.js";
import {
  formatUsd,
  COMETAPI_PRICE_PER_TASK_USD as COMETAPI_USD_PER_TASK,
  RUNWAY_CREDITS_PER_SECOND,
  USD_PER_CREDIT as RUNWAY_USD_PER_CREDIT,
} from "../../cost/estimate.js";

export interface CostEstimate {
  provider: ProviderName;
  /** Tasks counted. */
  tasks: number;
  /** Tasks whose price is known (all of them at CometAPI; those with a known duration at Runway). */
  priced: number;
  /** US dollars for the priced tasks. */
  usd: number;
  /** Runway credits for the priced tasks (null at CometAPI). */
  credits: number | null;
  /** CometAPI's price per task used (the job file's provider.pricePerTaskUsd, or the default). */
  usdPerTask: number;
}

export interface CostOptions {
  /** CometAPI's price per task; default COMETAPI_USD_PER_TASK. */
  usdPerTask?: number;
}

/**
 * The price of tasks, given each one's output duration in seconds (null when unknown). At Runway a
 * task with an unknown duration is counted but not priced: the estimate says so rather than guess.
 */
export function estimateCost(
  provider: ProviderName,
  durations: readonly (number | null)[],
  options: CostOptions = {},
): CostEstimate {
  const usdPerTask = options.usdPerTask ?? COMETAPI_USD_PER_TASK;
  if (provider === "cometapi") {
    return {
      provider,
      tasks: durations.length,
      priced: durations.length,
      usd: roundCents(durations.length * usdPerTask),
      credits: null,
      usdPerTask,
    };
  }
  let credits = 0;
  let priced = 0;
  for (const seconds of durations) {
    if (seconds === null) continue;
    priced += 1;
    credits += Math.ceil(seconds) * RUNWAY_CREDITS_PER_SECOND;
  }
  return {
    provider,
    tasks: durations.length,
    priced,
    usd: roundCents(credits * RUNWAY_USD_PER_CREDIT),
    credits,
    usdPerTask,
  };
}

/** "US$4.80 (12 tasks × US$0.40, CometAPI)", or with Runway credits and the unknown part named. */
export function formatCost(estimate: CostEstimate): string {
  const n = estimate.tasks;
  if (estimate.provider === "cometapi")
    return `${formatUsd(estimate.usd)} (${n} task${n === 1 ? "" : "s"} × ${formatUsd(estimate.usdPerTask)}, CometAPI)`;
  const unknown = estimate.tasks - estimate.priced;
  if (estimate.priced === 0)
    return n === 0
      ? "US$0.00 (Runway)"
      : `unknown (${n} task${n === 1 ? "" : "s"}, reference duration unknown; Runway charges ${RUNWAY_CREDITS_PER_SECOND} credits per second)`;
  const base = `${formatUsd(estimate.usd)} (${estimate.credits ?? 0} credits for ${estimate.priced} task${estimate.priced === 1 ? "" : "s"}, Runway)`;
  return unknown === 0 ? base : `${base} + ${unknown} task${unknown === 1 ? "" : "s"} of unknown duration`;
}

function roundCents(usd: number): number {
  return Math.round(usd * 100) / 100;
}
