// Cost estimate and budget: what a plan will cost, and whether it may be spent.
export {
  COMETAPI_PRICE_PER_TASK_USD,
  estimateCost,
  formatCost,
  formatCostLine,
  formatUsd,
  knownDurations,
  runwayTaskCost,
  RUNWAY_CREDITS_PER_SECOND,
  USD_PER_CREDIT,
  type CostEstimate,
  type DurationSource,
  type TaskCost,
} from "./estimate.js";
export {
  assertWithinBudget,
  BudgetLedger,
  checkBudget,
  effectiveBudget,
  type Budget,
  type BudgetVerdict,
  type CheckBudgetOptions,
} from "./budget.js";
export { planCostLines } from "./plan-lines.js";
