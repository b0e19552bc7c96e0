// Runway's account before a run (provider runway): GET /v1/organization gives the credit balance,
// the model's concurrency and daily-generation limits and today's usage. A run warns when it
// cannot finish today or the balance will not cover it, and sizes its default concurrency to the tier.
// The account is read through the API port (ApiClient.getOrganization); this file only judges it.
import type { OrganizationInfo } from "../api/types.js";
import type { CostEstimate } from "../cost/index.js";

export { parseOrganization } from "../api/outcomes.js";
export type { OrganizationInfo } from "../api/types.js";

export interface OrganizationAssessment {
  /** One line each, for the run's progress stream. */
  warnings: string[];
  /** The tier's concurrency for this model: the default when neither the job nor --concurrency sets one. */
  tierConcurrency: number | null;
  /** Generations left in the rolling 24 h window, when the tier has a limit. */
  generationsLeftToday: number | null;
}

/** `tasksToSubmit`: tasks this run will create (not those already done or in flight). */
export function assessOrganization(
  org: OrganizationInfo,
  tasksToSubmit: number,
  estimate: CostEstimate,
): OrganizationAssessment {
  const warnings: string[] = [];
  const left =
    org.maxDailyGenerations === null ? null : Math.max(0, org.maxDailyGenerations - org.dailyGenerations);
  if (left !== null && tasksToSubmit > left)
    warnings.push(
      `the job cannot finish today: ${tasksToSubmit} tasks to submit, ${left} of the account's ${org.maxDailyGenerations} daily generations left; ` +
        "the rest will be refused with 429 and stay resumable (run again after the 24 h window moves on)",
    );
  const perTaskKnown = estimate.tasks - estimate.unknownTasks;
  if (perTaskKnown > 0 && estimate.credits > org.creditBalance) {
    const average = estimate.credits / perTaskKnown;
    const covered = Math.floor(org.creditBalance / average);
    warnings.push(
      `the credit balance (${org.creditBalance.toLocaleString("en-US")} credits) is below the estimate ` +
        `(${estimate.credits.toLocaleString("en-US")} credits): about ${covered} of ${estimate.tasks} tasks are covered; ` +
        "creates stop at 'not enough credits'",
    );
  }
  return { warnings, tierConcurrency: org.maxConcurrentGenerations, generationsLeftToday: left };
}
