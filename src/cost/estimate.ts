// What a plan will cost, before anything is spent (DESIGN.md section 1, "Cost"): at Runway 5
// credits (US$0.05) per second of output, which is as long as the reference video; at CometAPI a
// flat price per task. A duration that is not known is reported as unknown, never guessed.
import { Mp4Error, parseMp4 } from "../media/index.js";
import type { Plan, PlanReport, ProviderName } from "../job/types.js";

/** CometAPI's price per Act-Two task at the time of writing; the job file's provider.pricePerTaskUsd replaces it. */
export const COMETAPI_PRICE_PER_TASK_USD = 0.4;
export const RUNWAY_CREDITS_PER_SECOND = 5;
export const USD_PER_CREDIT = 0.01;

/** The cost of one task, or null when it cannot be known (a reference of unknown duration). */
export interface TaskCost {
  /** Runway credits; at CometAPI, the price expressed in credits at US$0.01 each. */
  credits: number;
  usd: number;
}

export interface CostEstimate {
  provider: ProviderName;
  /** How a task is priced, for display: "US$0.40 per task" or "5 credits per second of reference". */
  basis: string;
  tasks: number;
  /** Totals over the tasks whose cost is known. */
  credits: number;
  usd: number;
  /** Tasks whose cost is unknown (0 when the estimate is complete). */
  unknownTasks: number;
  /** Reference URIs of unknown duration that make it incomplete. */
  unknownReferences: string[];
  /** Per task key. */
  perTask: Map<string, TaskCost | null>;
}

/** Where a reference's duration came from. */
export type DurationSource = "probe" | "hint" | "data-uri";

/**
 * Reference durations known without the network: the job file's `duration` hints and video data:
 * URIs (their header is in the file). Probed durations (preflight) replace both.
 */
export function knownDurations(
  report: PlanReport,
  probed: ReadonlyMap<string, number> = new Map(),
): Map<string, { seconds: number; source: DurationSource }> {
  const known = new Map<string, { seconds: number; source: DurationSource }>();
  for (const asset of report.assets ?? []) {
    if (asset.type !== "video" || !asset.roles.includes("reference")) continue;
    const probe = probed.get(asset.uri);
    if (probe !== undefined) known.set(asset.uri, { seconds: probe, source: "probe" });
    else if (asset.durationHint !== undefined)
      known.set(asset.uri, { seconds: asset.durationHint, source: "hint" });
    else {
      const fromData = dataUriDuration(asset.uri);
      if (fromData !== undefined) known.set(asset.uri, { seconds: fromData, source: "data-uri" });
    }
  }
  return known;
}

export function estimateCost(
  plan: Plan,
  durations: ReadonlyMap<string, { seconds: number } | number>,
): CostEstimate {
  const perTask = new Map<string, TaskCost | null>();
  const unknown = new Set<string>();
  let credits = 0;
  let usd = 0;
  let unknownTasks = 0;
  const price = plan.provider.pricePerTaskUsd ?? COMETAPI_PRICE_PER_TASK_USD;
  for (const task of plan.tasks) {
    let cost: TaskCost | null;
    if (plan.provider.name === "cometapi") {
      cost = { usd: price, credits: price / USD_PER_CREDIT };
    } else {
      const entry = durations.get(task.request.reference.uri);
      const seconds = typeof entry === "number" ? entry : entry?.seconds;
      cost = seconds === undefined ? null : runwayTaskCost(seconds);
      if (seconds === undefined) unknown.add(task.request.reference.uri);
    }
    perTask.set(task.key, cost);
    if (cost === null) unknownTasks++;
    else {
      credits += cost.credits;
      usd += cost.usd;
    }
  }
  return {
    provider: plan.provider.name,
    basis:
      plan.provider.name === "cometapi"
        ? `${formatUsd(price)} per task`
        : `${RUNWAY_CREDITS_PER_SECOND} credits per second of reference`,
    tasks: plan.tasks.length,
    credits: round(credits),
    usd: round(usd),
    unknownTasks,
    unknownReferences: [...unknown],
    perTask,
  };
}

/**
 * Credits for a Runway task: 5 per second of output, the output being as long as the reference.
 * Seconds are rounded up (a 12.4 s clip is charged as 13 s): an estimate must not come in low.
 */
export function runwayTaskCost(seconds: number): TaskCost {
  const credits = RUNWAY_CREDITS_PER_SECOND * Math.ceil(seconds - 1e-9);
  return { credits, usd: round(credits * USD_PER_CREDIT) };
}

/** "US$4.80", "1,350 credits (US$13.50)", with "+ N tasks of unknown cost" when incomplete. */
export function formatCost(estimate: CostEstimate): string {
  const known =
    estimate.provider === "cometapi"
      ? formatUsd(estimate.usd)
      : `${estimate.credits.toLocaleString("en-US")} credits (${formatUsd(estimate.usd)})`;
  const tasks = `${estimate.tasks} task${estimate.tasks === 1 ? "" : "s"}`;
  if (estimate.unknownTasks === 0) return `${known} for ${tasks} at ${estimate.basis} (${estimate.provider})`;
  const knownTasks = estimate.tasks - estimate.unknownTasks;
  if (knownTasks === 0)
    return `unknown for ${tasks} at ${estimate.basis} (${estimate.provider}): the reference durations are not known`;
  return `${known} for ${knownTasks} of ${tasks}, plus ${estimate.unknownTasks} of unknown cost, at ${estimate.basis} (${estimate.provider})`;
}

/**
 * A run's cost line. Against the simulator nothing is paid: the line says the figure is what the
 * service would charge, so a demo's "US$4.80" is not read as money spent.
 */
export function formatCostLine(estimate: CostEstimate, simulated: boolean): string {
  return `cost: ${formatCost(estimate)}${simulated ? "; simulated: nothing is charged" : ""}`;
}

export function formatUsd(usd: number): string {
  return `US$${usd.toFixed(2)}`;
}

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

function dataUriDuration(uri: string): number | undefined {
  if (!uri.startsWith("data:")) return undefined;
  const comma = uri.indexOf(",");
  if (comma < 0 || !uri.slice(0, comma).endsWith(";base64")) return undefined;
  try {
    return parseMp4(Buffer.from(uri.slice(comma + 1), "base64")).durationSec;
  } catch (error) {
    if (error instanceof Mp4Error) return undefined;
    throw error;
  }
}
