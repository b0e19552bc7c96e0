// The budget: a run whose estimate exceeds it refuses to start (exit 3, with the figures); an
// unknown estimate needs an explicit --allow-unknown-cost; while running, a task is submitted only
// if what has been submitted so far plus this task still fits.
import { ExitCode, UserError } from "../errors.js";
import type { BudgetSpec } from "../job/types.js";
import { formatUsd, type CostEstimate, type TaskCost } from "./estimate.js";

export type Budget = BudgetSpec;

export type BudgetVerdict =
  { ok: true } | { ok: false; reason: "over-budget" | "unknown-cost"; message: string };

export interface CheckBudgetOptions {
  allowUnknownCost?: boolean;
}

/** The budget of a run: the command line's limits replace the job file's, one by one. */
export function effectiveBudget(fromJob: Budget | undefined, fromFlags: Budget): Budget | undefined {
  const merged: Budget = { ...fromJob, ...definedOnly(fromFlags) };
  return merged.maxCredits === undefined && merged.maxUsd === undefined ? undefined : merged;
}

export function checkBudget(
  estimate: CostEstimate,
  budget: Budget | undefined,
  options: CheckBudgetOptions = {},
): BudgetVerdict {
  if (budget === undefined) return { ok: true };
  const over = overBy(budget, estimate.credits, estimate.usd);
  if (over !== null)
    return {
      ok: false,
      reason: "over-budget",
      message: `the estimate, ${describeTotal(estimate)}, is over the budget of ${over}; nothing was submitted`,
    };
  if (estimate.unknownTasks > 0 && options.allowUnknownCost !== true)
    return {
      ok: false,
      reason: "unknown-cost",
      message:
        `${estimate.unknownTasks} of ${estimate.tasks} tasks have an unknown cost (reference duration unknown), ` +
        "so the budget cannot be checked; probe the assets (preflight), add duration: to the assets, " +
        "or pass --allow-unknown-cost",
    };
  return { ok: true };
}

/** checkBudget, as the UserError a run stops with (exit 3). */
export function assertWithinBudget(
  estimate: CostEstimate,
  budget: Budget | undefined,
  options: CheckBudgetOptions = {},
): void {
  const verdict = checkBudget(estimate, budget, options);
  if (!verdict.ok) throw new UserError(`budget: ${verdict.message}`, ExitCode.accountStop);
}

/**
 * Spending while a run goes: `reserve(key)` before each create (every attempt of a task is paid
 * again); false means the budget does not cover it, and it must not be submitted.
 */
export class BudgetLedger {
  credits = 0;
  usd = 0;

  constructor(
    private readonly budget: Budget | undefined,
    private readonly perTask: ReadonlyMap<string, TaskCost | null>,
    /** What was submitted before this run started (a resumed job), if known. */
    already: { credits: number; usd: number } = { credits: 0, usd: 0 },
  ) {
    this.credits = already.credits;
    this.usd = already.usd;
  }

  /** Records the task as submitted and returns true, or returns false when it would exceed the budget. */
  reserve(key: string): boolean {
    // A task of unknown cost counts as free: the run only got here with --allow-unknown-cost.
    const cost = this.perTask.get(key) ?? { credits: 0, usd: 0 };
    if (
      this.budget !== undefined &&
      overBy(this.budget, this.credits + cost.credits, this.usd + cost.usd) !== null
    )
      return false;
    this.credits += cost.credits;
    this.usd += cost.usd;
    return true;
  }

  /** Gives back a reservation whose create was never sent (or certainly failed before creating anything). */
  release(key: string): void {
    const cost = this.perTask.get(key) ?? { credits: 0, usd: 0 };
    this.credits = Math.max(0, this.credits - cost.credits);
    this.usd = Math.max(0, this.usd - cost.usd);
  }
}

/** The limit exceeded, described, or null when within the budget. */
function overBy(budget: Budget, credits: number, usd: number): string | null {
  const epsilon = 1e-9;
  if (budget.maxCredits !== undefined && credits > budget.maxCredits + epsilon)
    return `${budget.maxCredits.toLocaleString("en-US")} credits`;
  if (budget.maxUsd !== undefined && usd > budget.maxUsd + epsilon) return formatUsd(budget.maxUsd);
  return null;
}

function describeTotal(estimate: CostEstimate): string {
  const credits = `${estimate.credits.toLocaleString("en-US")} credits`;
  const total =
    estimate.provider === "cometapi" ? formatUsd(estimate.usd) : `${credits} (${formatUsd(estimate.usd)})`;
  return estimate.unknownTasks > 0 ? `at least ${total}` : total;
}

function definedOnly(budget: Budget): Budget {
  return {
    ...(budget.maxCredits !== undefined && { maxCredits: budget.maxCredits }),
    ...(budget.maxUsd !== undefined && { maxUsd: budget.maxUsd }),
  };
}
