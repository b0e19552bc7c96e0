import { afterEach, describe, expect, it } from "vitest";
import { parseFaultSpec, type Simulator } from "../../src/sim/index.js";
import { call, create, getTask, HEADERS, rawGet, startTestSimulator, validBody } from "./helpers.js";

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function faultStatuses(seed: number): Promise<number[]> {
  const s = await startTestSimulator({ seed, faults: "get:5xx=0.5" });
  try {
    const seen: number[] = [];
    for (let i = 0; i < 24; i++) seen.push((await getTask(s.origin, "x")).status);
    return seen;
  } finally {
    await s.close();
  }
}

describe("fault spec grammar", () => {
  it("parses kinds, scopes and rates, splitting 5xx evenly and defaulting to the API routes", () => {
    const table = parseFaultSpec("429=0.1, get:5xx=0.2 ,truncate=0.05,fail=0.3,create:lost=0.01");
    expect(table.fail).toBe(0.3);
    expect(table.byScope.create).toEqual([
      { fault: "429", rate: 0.1 },
      { fault: "lost", rate: 0.01 },
    ]);
    expect(table.byScope.get).toEqual([
      { fault: "429", rate: 0.1 },
      { fault: "500", rate: 0.05 },
      { fault: "502", rate: 0.05 },
      { fault: "503", rate: 0.05 },
      { fault: "504", rate: 0.05 },
    ]);
    expect(table.byScope.delete).toEqual([{ fault: "429", rate: 0.1 }]);
    expect(table.byScope.download).toEqual([{ fault: "truncate", rate: 0.05 }]);
    expect(parseFaultSpec({ "download:reset": 0.5, slow: 0.5 }).byScope.download).toEqual([
      { fault: "reset", rate: 0.5 },
      { fault: "slow", rate: 0.5 },
    ]);
    expect(parseFaultSpec("")).toEqual(parseFaultSpec(undefined));
  });

  it.each([
    ["429", /no "=rate"/],
    ["teapot=0.1", /unknown fault "teapot"/],
    ["429=1.5", /from 0 to 1/],
    ["429=abc", /from 0 to 1/],
    ["get:truncate=0.1", /cannot apply to get/],
    ["lost=0.1,get:lost=0.1", /cannot apply to get/],
    ["moon:429=0.1", /unknown scope "moon"/],
    ["429=0.6,503=0.6", /add up to/],
  ])("refuses %s", (spec, message) => {
    expect(() => parseFaultSpec(spec)).toThrow(message);
  });
});

describe("faults over real sockets", () => {
  it("429 without Retry-After, in each family's error shape", async () => {
    sim = await startTestSimulator({ faults: "get:429=1" });
    const runway = await getTask(sim.origin, "x");
    expect(runway.status).toBe(429);
    expect(runway.headers.get("retry-after")).toBeNull();
    expect(runway.body).toEqual({ error: expect.any(String) });
    const comet = await getTask(sim.baseUrl, "x");
    expect(comet.status).toBe(429);
    expect(comet.body).toMatchObject({
      error: { type: "comet_api_error", message: expect.stringContaining("当前分组上游负载已饱和") },
    });
    expect(sim.stats().faults).toEqual({ "get:429": 2 });
  });

  it("429 with Retry-After in seconds and retry-after-ms, both divided by speed", async () => {
    sim = await startTestSimulator({ faults: "429ra=1", retryAfterMs: 3000, speed: 100 });
    const answer = await getTask(sim.origin, "x");
    expect(answer.status).toBe(429);
    expect(answer.headers.get("retry-after")).toBe("0.03");
    expect(answer.headers.get("retry-after-ms")).toBe("30");
  });

  it.each([
    ["500", 500],
    ["502", 502],
    ["503", 503],
    ["504", 504],
  ])("%s on create creates nothing", async (kind, status) => {
    sim = await startTestSimulator({ faults: `create:${kind}=1` });
    const answer = await call(`${sim.origin}/v1/character_performance`, {
      method: "POST",
      body: validBody(),
    });
    expect(answer.status).toBe(status);
    expect(answer.body).toEqual({ error: expect.any(String) });
    expect(sim.stats().creates).toBe(0);
  });

  it("500ir: CometAPI's non-retryable 500 with code invalid_request", async () => {
    sim = await startTestSimulator({ faults: "500ir=1" });
    const answer = await getTask(sim.baseUrl, "x");
    expect(answer.status).toBe(500);
    expect(answer.body).toMatchObject({ error: { code: "invalid_request", type: "comet_api_error" } });
    expect(answer.headers.get("x-should-retry")).toBe("false");
  });

  it("reset: the connection dies before any answer and nothing is created", async () => {
    sim = await startTestSimulator({ faults: "create:reset=1" });
    await expect(
      fetch(`${sim.origin}/v1/character_performance`, {
        method: "POST",
        headers: HEADERS,
        body: JSON.stringify(validBody()),
      }),
    ).rejects.toThrow("fetch failed");
    expect(sim.stats().creates).toBe(0);
    expect(sim.stats().requests["POST /v1/character_performance"]).toEqual({ reset: 1 });
  });

  it("lost: the task is created and charged, then the connection resets (the double-charge hazard)", async () => {
    sim = await startTestSimulator({ faults: "lost=1" });
    await expect(
      fetch(`${sim.origin}/v1/character_performance`, {
        method: "POST",
        headers: HEADERS,
        body: JSON.stringify(validBody()),
      }),
    ).rejects.toThrow("fetch failed");
    sim.setFaults(undefined);
    await create(sim.origin);
    const stats = sim.stats();
    expect(stats.creates).toBe(2);
    expect(Object.values(stats.createsByKey)).toEqual([2]);
    expect(stats.faults).toEqual({ "create:lost": 1 });
  });

  it("lost5xx: the task is created, then the answer is a 502", async () => {
    sim = await startTestSimulator({ faults: "lost5xx=1" });
    const answer = await call(`${sim.origin}/v1/character_performance`, {
      method: "POST",
      body: validBody(),
    });
    expect(answer.status).toBe(502);
    expect(sim.stats().creates).toBe(1);
  });

  it("stall: no answer at all until the client gives up", async () => {
    sim = await startTestSimulator({ faults: "get:stall=1" });
    const started = Date.now();
    await expect(
      fetch(`${sim.origin}/v1/tasks/x`, { headers: HEADERS, signal: AbortSignal.timeout(300) }),
    ).rejects.toThrow(/timeout|abort/i);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(sim.stats().requests["GET /v1/tasks/:id"]).toEqual({ stall: 1 });
  });

  it("stall: the connection is reset after stallMs", async () => {
    sim = await startTestSimulator({ faults: "get:stall=1", stallMs: 5000, speed: 100 });
    const answer = await rawGet(`${sim.origin}/v1/tasks/x`, HEADERS);
    expect(answer.status).toBeNull();
    expect(answer.error).toMatch(/ECONNRESET|socket hang up|aborted/);
  });

  it("fail: a share of tasks end FAILED with a code drawn from failureCodes", async () => {
    sim = await startTestSimulator({ faults: "fail=1", failureCodes: ["THIRD_PARTY.UNAVAILABLE"] });
    const id = await create(sim.origin);
    sim.advance(60_000);
    expect((await getTask(sim.origin, id)).body).toMatchObject({
      status: "FAILED",
      failureCode: "THIRD_PARTY.UNAVAILABLE",
      failure: expect.any(String),
    });
    expect(sim.stats().faults).toEqual({ "task:fail": 1 });
  });

  it("fail draws cover every default code family, retryable and final, and failures without a code", async () => {
    sim = await startTestSimulator({ faults: "fail=1" });
    for (let seed = 0; seed < 120; seed++) await create(sim.origin, validBody({ seed }));
    const codes = new Set(sim.stats().tasks.map((task) => task.failureCode));
    for (const code of [
      "SAFETY.INPUT.IMAGE",
      "INTERNAL.BAD_OUTPUT.CODE01",
      "ASSET.INVALID",
      "INTERNAL",
      "THIRD_PARTY.UNAVAILABLE",
      null,
    ])
      expect(codes).toContain(code);
  });

  it("draws the same faults for the same seed and different ones for another", async () => {
    const a = await faultStatuses(3);
    expect(await faultStatuses(3)).toEqual(a);
    expect(await faultStatuses(4)).not.toEqual(a);
    expect(new Set(a).size).toBeGreaterThan(2);
  });

  it("changes faults at run time with setFaults", async () => {
    sim = await startTestSimulator();
    expect((await getTask(sim.origin, "x")).status).toBe(404);
    sim.setFaults({ "get:503": 1 });
    expect((await getTask(sim.origin, "x")).status).toBe(503);
    sim.setFaults(undefined);
    expect((await getTask(sim.origin, "x")).status).toBe(404);
  });
});
