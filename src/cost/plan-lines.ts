// The cost lines `actbatch plan` prints under its header.
import type { LoadedPlan } from "../job/types.js";
import { checkBudget } from "./budget.js";
import { estimateCost, formatCost, formatUsd, knownDurations } from "./estimate.js";

/** Probed durations (seconds per reference URI) replace hints when given. */
export function* planCostLines(loaded: LoadedPlan, probed?: ReadonlyMap<string, number>): Generator<string> {
  const estimate = estimateCost(loaded.plan, knownDurations(loaded.report, probed));
  yield `cost: ${formatCost(estimate)}`;
  if (estimate.unknownReferences.length > 0) {
    const names = estimate.unknownReferences.map((uri) => {
      const asset = loaded.report.assets?.find((entry) => entry.uri === uri);
      const name = asset?.names[0];
      return name === undefined ? `the reference at line ${asset?.sources[0]?.line ?? "?"}` : `"${name}"`;
    });
    yield `  duration unknown: ${names.join(", ")}; add duration: (seconds) to the asset, or let preflight read it`;
  }
  const budget = loaded.plan.budget;
  if (budget !== undefined) {
    const limits = [
      budget.maxCredits === undefined ? undefined : `${budget.maxCredits.toLocaleString("en-US")} credits`,
      budget.maxUsd === undefined ? undefined : formatUsd(budget.maxUsd),
    ].filter((limit) => limit !== undefined);
    const verdict = checkBudget(estimate, budget);
    yield `budget: ${limits.join(" and ")}: ${verdict.ok ? "the estimate is within it" : verdict.message.replace(/; nothing was submitted$/, "")}`;
  }
}
