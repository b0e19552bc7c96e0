import { RunwayML } from "@runwayml/sdk";
import { afterEach, describe, expect, it } from "vitest";
import type { CostEstimate } from "../../src/cost/index.js";
import { createApiClient } from "../../src/api/client.js";
import type { OrganizationOutcome } from "../../src/api/types.js";
import { assessOrganization } from "../../src/preflight/index.js";
import { startSimulator, type Simulator } from "../../src/sim/index.js";

const KEY = "key_org_test";
let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

/** The account as actbatch's API client reads it (provider runway, the run's client). */
async function fetchOrganization(options: { baseUrl: string; apiKey: string }): Promise<OrganizationOutcome> {
  const api = createApiClient({ provider: "runway", ...options, concurrency: 1 });
  try {
    return await api.getOrganization();
  } finally {
    await api.close();
  }
}

async function createTask(s: Simulator): Promise<void> {
  const response = await fetch(`${s.origin}/v1/character_performance`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${KEY}`,
      "x-runway-version": "2024-11-06",
      "content-type": "application/json",
    },
    body: JSON.stringify({
      model: "act_two",
      character: { type: "image", uri: "https://assets.example.com/hero.png" },
      reference: { type: "video", uri: "https://assets.example.com/take.mp4?simDuration=10" },
      ratio: "1280:720",
      bodyControl: true,
      expressionIntensity: 1,
      seed: Math.floor(Math.random() * 1e9),
      contentModeration: { publicFigureThreshold: "auto" },
    }),
  });
  expect(response.status).toBe(200);
}

const estimate = (tasks: number, credits: number): CostEstimate => ({
  provider: "runway",
  basis: "5 credits per second of reference",
  tasks,
  credits,
  usd: credits / 100,
  unknownTasks: 0,
  unknownReferences: [],
  perTask: new Map(),
});

describe("GET /v1/organization (simulator) and the run's account check", () => {
  it("answers in Runway's shape, which the official SDK reads", async () => {
    sim = await startSimulator({ speed: 100, credits: 1000, dailyLimit: 50, concurrency: 3, apiKey: KEY });
    await createTask(sim);
    const runway = new RunwayML({ baseURL: sim.origin, apiKey: KEY, maxRetries: 0 });
    const details = await runway.organization.retrieve();
    expect(details).toMatchObject({
      creditBalance: 950,
      tier: { models: { act_two: { maxConcurrentGenerations: 3, maxDailyGenerations: 50 } } },
      usage: { models: { act_two: { dailyGenerations: 1 } } },
    });
  });

  it("needs the key, and is not on the CometAPI routes", async () => {
    sim = await startSimulator({ speed: 100, apiKey: KEY });
    expect(
      (await fetch(`${sim.origin}/v1/organization`, { headers: { "x-runway-version": "2024-11-06" } }))
        .status,
    ).toBe(401);
    expect(await fetchOrganization({ baseUrl: sim.baseUrl, apiKey: KEY })).toMatchObject({
      kind: "unusable",
      status: 404,
    });
  });

  it("warns when the job cannot finish today or the balance does not cover it, and reports the tier's concurrency", async () => {
    sim = await startSimulator({ speed: 100, credits: 500, dailyLimit: 12, concurrency: 2, apiKey: KEY });
    for (let i = 0; i < 4; i++) await createTask(sim);
    const outcome = await fetchOrganization({ baseUrl: sim.origin, apiKey: KEY });
    expect(outcome).toEqual({
      kind: "ok",
      organization: {
        creditBalance: 300,
        maxConcurrentGenerations: 2,
        maxDailyGenerations: 12,
        dailyGenerations: 4,
      },
    });
    const org = outcome.kind === "ok" ? outcome.organization : null;
    const assessment = assessOrganization(org!, 10, estimate(10, 500));
    expect(assessment.tierConcurrency).toBe(2);
    expect(assessment.generationsLeftToday).toBe(8);
    expect(assessment.warnings).toEqual([
      "the job cannot finish today: 10 tasks to submit, 8 of the account's 12 daily generations left; the rest will be refused with 429 and stay resumable (run again after the 24 h window moves on)",
      "the credit balance (300 credits) is below the estimate (500 credits): about 6 of 10 tasks are covered; creates stop at 'not enough credits'",
    ]);
    expect(assessOrganization(org!, 8, estimate(8, 300)).warnings).toEqual([]);
  });
});
