// Everything checked before a run's first create, in one call: asset preflight (problems: exit 2),
// the cost estimate, and the budget (over it, or unknown without --allow-unknown-cost: exit 3).
import type { Writable } from "node:stream";
import {
  assertWithinBudget,
  BudgetLedger,
  effectiveBudget,
  estimateCost,
  formatCost,
  knownDurations,
  type Budget,
  type CostEstimate,
} from "../cost/index.js";
import type { VerifyOutputOptions } from "../media/index.js";
import { formatDiagnostic } from "../spec/diagnostics.js";
import type { LoadedPlan, ProviderName, TaskPlan } from "../spec/types.js";
import {
  assertPreflightPassed,
  preflightPlan,
  probeCachePath,
  probedDurations,
  type PreflightReport,
} from "./preflight.js";
import { formatPreflightSummary } from "./summary.js";

export interface RunGateOptions {
  /** The run's output folder, absolute (the probe cache goes in its .actbatch/). */
  outputDir: string;
  /** false with --no-preflight: no network, durations from hints and data: URIs only. */
  preflight: boolean;
  /** true with --simulate: probe loopback URLs only. */
  loopbackOnly?: boolean;
  /** --max-credits / --max-usd; they replace the job file's limits. */
  budgetFlags?: Budget;
  allowUnknownCost?: boolean;
  /** The provider in effect when --provider overrides the job file's (prices differ). */
  provider?: ProviderName;
  /** Where the preflight summary, warnings and the cost line go (the run's progress stream). */
  stderr: Writable;
}

export interface RunGate {
  estimate: CostEstimate;
  budget: Budget | undefined;
  /** Call `reserve(task.key)` before each create; false: do not submit it (budget spent). */
  ledger: BudgetLedger;
  /** Seconds per reference URI, where known (probe, hint or data: URI). */
  referenceDurations: Map<string, number>;
  preflight: PreflightReport | undefined;
}

export async function gateRun(loaded: LoadedPlan, options: RunGateOptions): Promise<RunGate> {
  let report: PreflightReport | undefined;
  if (options.preflight) {
    report = await preflightPlan(loaded, {
      cacheFile: probeCachePath(options.outputDir),
      loopbackOnly: options.loopbackOnly === true,
    });
    for (const warning of report.warnings) options.stderr.write(`${formatDiagnostic(warning)} (warning)\n`);
    options.stderr.write(`${formatPreflightSummary(report)}\n`);
    assertPreflightPassed(report);
  }
  const durations = knownDurations(loaded.report, report && probedDurations(report));
  const plan =
    options.provider === undefined || options.provider === loaded.plan.provider.name
      ? loaded.plan
      : { ...loaded.plan, provider: { ...loaded.plan.provider, name: options.provider } };
  const estimate = estimateCost(plan, durations);
  options.stderr.write(`cost: ${formatCost(estimate)}\n`);
  const budget = effectiveBudget(loaded.plan.budget, options.budgetFlags ?? {});
  assertWithinBudget(estimate, budget, { allowUnknownCost: options.allowUnknownCost === true });
  return {
    estimate,
    budget,
    ledger: new BudgetLedger(budget, estimate.perTask),
    referenceDurations: new Map([...durations].map(([uri, entry]) => [uri, entry.seconds])),
    preflight: report,
  };
}

/** What verifyRenderedOutput needs for a task's output. */
export function outputCheckOptions(
  task: TaskPlan,
  gate: Pick<RunGate, "referenceDurations">,
): VerifyOutputOptions {
  const seconds = gate.referenceDurations.get(task.request.reference.uri);
  return { ratio: task.request.ratio, ...(seconds !== undefined && { referenceDurationSec: seconds }) };
}
