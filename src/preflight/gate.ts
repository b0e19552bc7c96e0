// Everything checked before a run's first create, in one call: asset preflight (problems: exit 2),
// the cost estimate, and the budget (over it, or unknown without --allow-unknown-cost: exit 3).
import type { Writable } from "node:stream";
import {
  assertWithinBudget,
  BudgetLedger,
  effectiveBudget,
  estimateCost,
  formatCostLine,
  knownDurations,
  type Budget,
  type CostEstimate,
} from "../cost/index.js";
import type { VerifyOutputOptions } from "../media/index.js";
import { formatDiagnostic } from "../job/diagnostics.js";
import type { LoadedPlan, ProviderName, TaskPlan } from "../job/types.js";
import {
  assertPreflightPassed,
  preflightPlan,
  probeCachePath,
  probedDurations,
  type PreflightReport,
} from "./preflight.js";
import { formatPreflightSummary } from "./preflight-summary-text.js";

export interface RunGateOptions {
  /** The run's output folder, absolute (the probe cache goes in its .actbatch/). */
  outputDir: string;
  /** false with --no-preflight: no network, durations from hints and data: URIs only. */
  preflight: boolean;
  /** The API is on loopback, the simulator (--simulate or another process): probe loopback URLs only; the cost is simulated. */
  loopbackOnly?: boolean;
  /** --max-credits / --max-usd; they replace the job file's limits. */
  budgetFlags?: Budget;
  allowUnknownCost?: boolean;
  /**
   * The tasks this run will submit (not those already rendered or in flight): only their assets
   * are probed and only they are priced. None: no probe at all (a finished job's rerun stays
   * offline). Default: every task of the plan.
   */
  tasks?: readonly TaskPlan[];
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

export async function gateRun(whole: LoadedPlan, options: RunGateOptions): Promise<RunGate> {
  const loaded = options.tasks === undefined ? whole : narrowTo(whole, options.tasks);
  let report: PreflightReport | undefined;
  if (options.preflight && loaded.plan.tasks.length > 0) {
    report = await preflightPlan(loaded, {
      cacheFile: probeCachePath(options.outputDir),
      loopbackOnly: options.loopbackOnly === true,
      ...(options.provider !== undefined && { provider: options.provider }),
    });
    for (const warning of report.warnings) options.stderr.write(`${formatDiagnostic(warning, "warning")}\n`);
    options.stderr.write(`${formatPreflightSummary(report)}\n`);
    assertPreflightPassed(report);
  }
  const durations = knownDurations(loaded.report, report && probedDurations(report));
  const plan =
    options.provider === undefined || options.provider === loaded.plan.provider.name
      ? loaded.plan
      : { ...loaded.plan, provider: { ...loaded.plan.provider, name: options.provider } };
  const estimate = estimateCost(plan, durations);
  // An API on loopback is the simulator (DESIGN.md section 3: only the simulator and tests are
  // reached there), in this process (--simulate) or another: its cost is simulated.
  options.stderr.write(`${formatCostLine(estimate, options.loopbackOnly === true)}\n`);
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

/** The plan restricted to some of its tasks, and its asset list to the assets they use. */
function narrowTo(loaded: LoadedPlan, tasks: readonly TaskPlan[]): LoadedPlan {
  const used = new Set<string>();
  for (const task of tasks) {
    used.add(`${task.request.character.type} ${task.request.character.uri}`);
    used.add(`video ${task.request.reference.uri}`);
  }
  const assets = (loaded.report.assets ?? []).filter((asset) => used.has(`${asset.type} ${asset.uri}`));
  return { plan: { ...loaded.plan, tasks: [...tasks] }, report: { ...loaded.report, assets } };
}

/** What verifyRenderedOutput needs for a task's output. */
export function outputCheckOptions(
  task: TaskPlan,
  gate: Pick<RunGate, "referenceDurations">,
): VerifyOutputOptions {
  const seconds = gate.referenceDurations.get(task.request.reference.uri);
  return { ratio: task.request.ratio, ...(seconds !== undefined && { referenceDurationSec: seconds }) };
}
