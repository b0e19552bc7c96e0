// Runway's account before a run (provider runway): GET /v1/organization gives the credit balance,
// the model's concurrency and daily-generation limits and today's usage. A run warns when it
// cannot finish today or the balance will not cover it, and sizes its default concurrency to the tier.
import { Agent } from "undici";
import { urlProblem } from "../api/url-policy.js";
import type { CostEstimate } from "../cost/index.js";

/** The part of Runway's answer actbatch reads (the SDK's OrganizationRetrieveResponse). */
export interface OrganizationInfo {
  creditBalance: number;
  maxConcurrentGenerations: number | null;
  maxDailyGenerations: number | null;
  dailyGenerations: number;
}

export interface FetchOrganizationOptions {
  /** Everything before /v1/. */
  baseUrl: string;
  apiKey: string;
  runwayVersion?: string;
  model?: string;
  timeoutMs?: number;
}

/** null when the endpoint is not there (404: CometAPI does not proxy it) or its answer is not understood. */
export async function fetchOrganization(options: FetchOrganizationOptions): Promise<OrganizationInfo | null> {
  const base = new URL(options.baseUrl);
  const problem = urlProblem(base);
  if (problem !== null) throw new Error(`base URL: ${problem}`);
  const timeout = options.timeoutMs ?? 15_000;
  const agent = new Agent({ connectTimeout: timeout, headersTimeout: timeout, bodyTimeout: timeout });
  try {
    const response = await agent.request({
      origin: base.origin,
      path: `${base.pathname.replace(/\/+$/, "")}/v1/organization`,
      method: "GET",
      headers: {
        authorization: `Bearer ${options.apiKey}`,
        "x-runway-version": options.runwayVersion ?? "2024-11-06",
        accept: "application/json",
      },
    });
    const text = await response.body.text();
    if (response.statusCode !== 200) return null;
    return parseOrganization(JSON.parse(text) as unknown, options.model ?? "act_two");
  } catch (error) {
    if (error instanceof SyntaxError) return null;
    throw error;
  } finally {
    await agent.close();
  }
}

export function parseOrganization(body: unknown, model = "act_two"): OrganizationInfo | null {
  const root = body as {
    creditBalance?: unknown;
    tier?: { models?: Record<string, { maxConcurrentGenerations?: unknown; maxDailyGenerations?: unknown }> };
    usage?: { models?: Record<string, { dailyGenerations?: unknown }> };
  } | null;
  if (root === null || typeof root !== "object" || typeof root.creditBalance !== "number") return null;
  const limits = root.tier?.models?.[model];
  const usage = root.usage?.models?.[model];
  return {
    creditBalance: root.creditBalance,
    maxConcurrentGenerations: numberOrNull(limits?.maxConcurrentGenerations),
    maxDailyGenerations: numberOrNull(limits?.maxDailyGenerations),
    dailyGenerations: typeof usage?.dailyGenerations === "number" ? usage.dailyGenerations : 0,
  };
}

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

function numberOrNull(value: unknown): number | null {
  return typeof value === "number" ? value : null;
}
