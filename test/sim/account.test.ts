import { afterEach, describe, expect, it } from "vitest";
import type { Simulator } from "../../src/sim/index.js";
import {
  call,
  create,
  driveToEnd,
  getTask,
  startTestSimulator,
  validBody,
  type BareTask,
} from "./helpers.js";

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

const createAt = (base: string, seed: number) =>
  call(`${base}/v1/character_performance`, { method: "POST", body: validBody({ seed }) });

describe("account conditions", () => {
  it("answers 429 'Your daily task limit has been reached.' once the rolling 24 h limit is used", async () => {
    sim = await startTestSimulator({ dailyLimit: 2 });
    expect((await createAt(sim.origin, 1)).status).toBe(200);
    expect((await createAt(sim.origin, 2)).status).toBe(200);
    const refused = await createAt(sim.origin, 3);
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({ error: "Your daily task limit has been reached." });
    expect(refused.headers.get("retry-after")).toBeNull();
    const comet = await createAt(sim.baseUrl, 3);
    expect(comet.status).toBe(429);
    expect(comet.body).toMatchObject({
      error: { message: expect.stringContaining("daily task limit"), type: "comet_api_error" },
    });
    expect(sim.stats().creates).toBe(2);
    sim.advance((24 * 3600_000) / 100);
    expect((await createAt(sim.origin, 3)).status).toBe(200);
  });

  it("answers 400 'You do not have enough credits to run this task.' when the balance is short", async () => {
    sim = await startTestSimulator({ credits: 120, taskCost: 50 });
    expect((await createAt(sim.origin, 1)).status).toBe(200);
    expect((await createAt(sim.origin, 2)).status).toBe(200);
    const refused = await createAt(sim.origin, 3);
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({
      error: "You do not have enough credits to run this task.",
      docUrl: "https://docs.dev.runwayml.com/api",
    });
    expect(sim.stats().account).toMatchObject({ credits: 20, creditsSpent: 100 });
    sim.setAccount({ credits: 50 });
    expect((await createAt(sim.origin, 3)).status).toBe(200);
    sim.setAccount({ credits: null });
    expect((await createAt(sim.origin, 4)).status).toBe(200);
  });

  it("refunds a task that failed for an internal reason (cost 0), not a moderated one", async () => {
    sim = await startTestSimulator({ credits: 100, taskCost: 50 });
    const internal = await create(
      sim.origin,
      validBody({ character: { type: "image", uri: "https://a.example.com/c.png?simFail=INTERNAL" } }),
    );
    const moderated = await create(
      sim.origin,
      validBody({
        character: { type: "image", uri: "https://a.example.com/c.png?simFail=SAFETY.INPUT.IMAGE" },
      }),
    );
    expect((await createAt(sim.origin, 9)).status).toBe(400);
    expect(((await driveToEnd(sim, internal)).at(-1) as BareTask & { cost: unknown }).cost).toEqual({
      credits: 0,
    });
    expect(((await driveToEnd(sim, moderated)).at(-1) as BareTask & { cost: unknown }).cost).toEqual({
      credits: 50,
    });
    expect((await createAt(sim.origin, 9)).status).toBe(200);
  });

  it("raising the concurrency promotes THROTTLED tasks; creates never fail for concurrency", async () => {
    sim = await startTestSimulator({ concurrency: 1 });
    const ids: string[] = [];
    for (let seed = 0; seed < 4; seed++) ids.push(await create(sim.origin, validBody({ seed })));
    const statuses = async () =>
      Promise.all(ids.map(async (id) => ((await getTask(sim!.origin, id)).body as BareTask).status));
    expect(await statuses()).toEqual(["PENDING", "THROTTLED", "THROTTLED", "THROTTLED"]);
    sim.setAccount({ concurrency: 3 });
    sim.advance(50);
    expect((await statuses()).filter((s) => s === "THROTTLED")).toHaveLength(1);
    expect(sim.stats().account.concurrency).toBe(3);
    for (const id of ids) await driveToEnd(sim, id);
    expect(sim.stats().peakRunning).toBeLessThanOrEqual(3);
  });
});
