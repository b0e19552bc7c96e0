// The API client and the downloader against the simulator (src/sim): both GET shapes, task_not_exist,
// account stops and injected faults, over real loopback HTTP at scaled time.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createApiClient } from "../../src/api/client.js";
import type { ApiClient, ApiClientOptions, TaskState } from "../../src/api/types.js";
import { taskKeyOf } from "../../src/canonical.js";
import { downloadOutput } from "../../src/run/downloader.js";
import { startSimulator, type Simulator, type SimulatorOptions } from "../../src/sim/index.js";
import type { RequestBody } from "../../src/job/types.js";

const SPEED = 200;

function body(seed: number): RequestBody {
  return {
    model: "act_two",
    character: { type: "image", uri: "https://assets.example.com/hero.png" },
    reference: { type: "video", uri: "https://assets.example.com/take1.mp4" },
    ratio: "1280:720",
    bodyControl: true,
    expressionIntensity: 3,
    seed,
    contentModeration: { publicFigureThreshold: "auto" },
  };
}

const cleanups: Array<() => Promise<void>> = [];
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "actbatch-sim-client-"));
});

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
  await rm(dir, { recursive: true, force: true });
});

async function simulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const sim = await startSimulator({ speed: SPEED, taskNotExistMs: 0, failureCodes: [null], ...options });
  cleanups.push(() => sim.close());
  return sim;
}

function client(baseUrl: string, options: Partial<ApiClientOptions> = {}): ApiClient {
  const api = createApiClient({
    provider: "cometapi",
    baseUrl,
    apiKey: "sk-simulated-0123456789abcdef",
    concurrency: 4,
    timeScale: SPEED,
    ...options,
  });
  cleanups.push(() => api.close());
  return api;
}

/** Polls until the task is terminal (a test-only loop; the engine has its own poller). */
async function settle(api: ApiClient, taskId: string, createdAtMs: number): Promise<TaskState> {
  const seen: string[] = [];
  for (let i = 0; i < 1000; i++) {
    const outcome = await api.getTask(taskId, createdAtMs);
    if (outcome.kind === "state") {
      seen.push(outcome.state.status);
      if (["succeeded", "failed", "cancelled", "missing"].includes(outcome.state.status))
        return outcome.state;
    }
    await delay(10);
  }
  throw new Error(`task ${taskId} never finished: ${seen.slice(-5).join(",")}`);
}

async function createOne(api: ApiClient, seed: number): Promise<string> {
  const outcome = await api.createTask(body(seed));
  if (outcome.kind !== "created") throw new Error(`create failed: ${JSON.stringify(outcome)}`);
  return outcome.taskId;
}

describe.each([
  ["Runway routes (bare)", "bare" as const, (sim: Simulator) => sim.origin],
  ["CometAPI routes, bare", "bare" as const, (sim: Simulator) => sim.baseUrl],
  ["CometAPI routes, wrapped", "wrapped" as const, (sim: Simulator) => sim.baseUrl],
  ["CometAPI routes, mixed", "mixed" as const, (sim: Simulator) => sim.baseUrl],
])("%s", (_name, shape, baseOf) => {
  it("creates, polls to SUCCEEDED and downloads the exact output bytes", async () => {
    const sim = await simulator({ shape, outputBytes: 200_000 });
    const api = client(baseOf(sim));
    const taskIds = await Promise.all([1, 2, 3].map((seed) => createOne(api, seed)));
    for (const taskId of taskIds) {
      const state = await settle(api, taskId, Date.now());
      expect(state.status).toBe("succeeded");
      if (state.status !== "succeeded") continue;
      const finalPath = join(dir, `${taskId}.mp4`);
      const result = await downloadOutput({
        api,
        url: state.outputs[0] ?? "",
        refreshUrl: async () => null,
        finalPath,
        tempPath: `${finalPath}.part`,
        timeScale: SPEED,
      });
      expect(result).toEqual({ kind: "ok", ...sim.expectedOutput(taskId) });
      expect((await readFile(finalPath)).length).toBe(200_000);
    }
    expect(sim.stats().creates).toBe(3);
    expect(api.counts().create).toBe(3);
  });
});

describe("task_not_exist right after creation", () => {
  it("is not-visible within the grace period, then the task appears", async () => {
    const sim = await simulator({
      speed: 1,
      taskNotExistMs: 1_000,
      renderMeanMs: 1_000,
      pendingMs: [10, 20],
    });
    const api = client(sim.baseUrl, { timeScale: 1 });
    const createdAt = Date.now();
    const taskId = await createOne(api, 1);
    expect(await api.getTask(taskId, createdAt)).toEqual({ kind: "state", state: { status: "not-visible" } });
    await delay(1_100);
    const later = await api.getTask(taskId, createdAt);
    expect(later.kind === "state" && later.state.status).not.toBe("not-visible");
  });

  it("is 'missing' once the grace period is over", async () => {
    const sim = await simulator({ speed: 1, taskNotExistMs: 5_000, taskNotExistStatus: 404 });
    const api = client(sim.baseUrl, { timeScale: 1, clock: () => Date.now() + 60_000 });
    const taskId = await createOne(api, 1);
    const outcome = await api.getTask(taskId, Date.now());
    expect(outcome.kind === "state" && outcome.state.status).toBe("missing");
  });
});

describe("account stops", () => {
  it("the daily limit stops at once (Runway's 429)", async () => {
    const sim = await simulator({ dailyLimit: 1 });
    const api = client(sim.origin, { provider: "runway" });
    await createOne(api, 1);
    expect(await api.createTask(body(2))).toMatchObject({
      kind: "account-stop",
      reason: "daily-limit",
      status: 429,
    });
    expect(sim.stats().creates).toBe(1);
    expect(api.counts().create).toBe(2);
  });

  it("no credits stops at once", async () => {
    const sim = await simulator({ credits: 0 });
    const api = client(sim.origin, { provider: "runway" });
    expect(await api.createTask(body(1))).toMatchObject({
      kind: "account-stop",
      reason: "no-credits",
      status: 400,
    });
  });

  it("a wrong key stops at once, on both routes", async () => {
    const sim = await simulator({ apiKey: "sk-the-right-one" });
    for (const base of [sim.origin, sim.baseUrl]) {
      const api = client(base, { apiKey: "sk-a-wrong-one-000000000000" });
      expect(await api.createTask(body(1))).toMatchObject({ kind: "account-stop", reason: "bad-key" });
    }
    expect(sim.stats().creates).toBe(0);
  });

  it("an invalid body is rejected with the field named", async () => {
    const sim = await simulator();
    const api = client(sim.baseUrl);
    const outcome = await api.createTask({ ...body(1), expressionIntensity: 9 });
    expect(outcome.kind).toBe("rejected");
    expect(outcome.kind === "rejected" && outcome.message).toContain("expressionIntensity");
  });
});

/** A sleeper that really waits (briefly) and clears the simulator's faults before the retry. */
function healingSleep(sim: Simulator, sleeps: number[]) {
  return async (ms: number) => {
    sleeps.push(ms);
    sim.setFaults(undefined);
    await delay(Math.min(ms, 50));
  };
}

describe("injected faults", () => {
  it.each(["503", "429", "429ra"])("create:%s is retried and creates exactly one task", async (fault) => {
    const sim = await simulator({ faults: `create:${fault}=1` });
    const sleeps: number[] = [];
    const api = client(sim.baseUrl, { sleep: healingSleep(sim, sleeps) });
    expect((await api.createTask(body(1))).kind).toBe("created");
    expect(sim.stats().creates).toBe(1);
    expect(sim.stats().createsByKey[taskKeyOf(body(1))]).toBe(1);
    expect(api.counts()).toMatchObject({ create: 2, retries: 1 });
    expect(sleeps).toHaveLength(1);
  });

  it.each(["502", "500"])(
    "create:%s is ambiguous: not retried blindly, one create on the wire",
    async (fault) => {
      const sim = await simulator({ faults: `create:${fault}=1` });
      const api = client(sim.baseUrl, { sleep: healingSleep(sim, []) });
      expect((await api.createTask(body(1))).kind).toBe("ambiguous");
      expect(api.counts()).toMatchObject({ create: 1, retries: 0 });
    },
  );

  it("a 429 with Retry-After waits what the server asked", async () => {
    const sim = await simulator({ faults: "create:429ra=1", retryAfterMs: 4_000 });
    const sleeps: number[] = [];
    const api = client(sim.baseUrl, { sleep: healingSleep(sim, sleeps), random: () => 0 });
    await api.createTask(body(1));
    expect(sleeps).toEqual([4_000 / SPEED]);
  });

  it("create:500ir (CometAPI invalid_request) is not retried", async () => {
    const sim = await simulator({ faults: "create:500ir=1" });
    const api = client(sim.baseUrl);
    expect(await api.createTask(body(1))).toMatchObject({
      kind: "rejected",
      status: 500,
      code: "invalid_request",
    });
    expect(api.counts().create).toBe(1);
  });

  it.each(["lost", "reset", "504"])("create:%s is ambiguous and never sent twice", async (fault) => {
    const sim = await simulator({ faults: `create:${fault}=1` });
    const api = client(sim.baseUrl);
    expect((await api.createTask(body(1))).kind).toBe("ambiguous");
    expect(api.counts().create).toBe(1);
    expect(sim.stats().requests["POST /runwayml/v1/character_performance"]).toBeDefined();
  });

  it("create:stall is ambiguous after the headers timeout", async () => {
    const sim = await simulator({ faults: "create:stall=1", stallMs: 60_000 });
    const api = client(sim.baseUrl, { timeouts: { headersMs: 300 } });
    expect((await api.createTask(body(1))).kind).toBe("ambiguous");
    expect(api.counts().create).toBe(1);
  });

  it("polling survives GET faults (5xx, 429, resets) and reaches every task's end", async () => {
    const sim = await simulator({ faults: "get:5xx=0.2,get:429=0.1,get:reset=0.1", shape: "mixed" });
    const api = client(sim.baseUrl, { maxAttempts: 6 });
    const ids = await Promise.all([1, 2, 3, 4].map((seed) => createOne(api, seed)));
    for (const id of ids) expect((await settle(api, id, Date.now())).status).toBe("succeeded");
    const injected = Object.entries(sim.stats().faults).filter(([name]) => name.startsWith("get:"));
    expect(injected.length).toBeGreaterThan(0);
    expect(api.counts().retries).toBeGreaterThan(0);
  });

  it("downloads survive truncation and 5xx, ending with the exact bytes", async () => {
    const sim = await simulator({ outputBytes: 300_000, seed: 7 });
    const api = client(sim.baseUrl, { maxAttempts: 6 });
    const taskId = await createOne(api, 1);
    const state = await settle(api, taskId, Date.now());
    expect(state.status).toBe("succeeded");
    sim.setFaults("download:truncate=0.5,download:503=0.2");
    const url = state.status === "succeeded" ? (state.outputs[0] ?? "") : "";
    const finalPath = join(dir, "out.mp4");
    const result = await downloadOutput({
      api,
      url,
      refreshUrl: async () => null,
      finalPath,
      tempPath: join(dir, "tmp", "out.part"),
      maxAttempts: 8,
      timeScale: SPEED,
    });
    expect(result).toEqual({ kind: "ok", ...sim.expectedOutput(taskId) });
    expect(sim.stats().faults["download:truncate"] ?? 0).toBeGreaterThan(0);
  });

  it("an expired output URL is refreshed through the task", async () => {
    const sim = await simulator({ urlTtlMs: 20_000, outputBytes: 10_000 });
    const api = client(sim.origin, { provider: "runway" });
    const createdAt = Date.now();
    const taskId = await createOne(api, 1);
    const state = await settle(api, taskId, createdAt);
    const url = state.status === "succeeded" ? (state.outputs[0] ?? "") : "";
    sim.advance(60_000 / SPEED + 1_000); // past the URL's lifetime
    let refreshes = 0;
    const result = await downloadOutput({
      api,
      url,
      refreshUrl: async () => {
        refreshes++;
        const fresh = await api.getTask(taskId, createdAt);
        return fresh.kind === "state" && fresh.state.status === "succeeded"
          ? (fresh.state.outputs[0] ?? null)
          : null;
      },
      finalPath: join(dir, "fresh.mp4"),
      tempPath: join(dir, "fresh.part"),
      timeScale: SPEED,
    });
    expect(result).toEqual({ kind: "ok", ...sim.expectedOutput(taskId) });
    expect(refreshes).toBe(1);
  });

  it("cancel DELETEs the task; the task is then gone", async () => {
    const sim = await simulator({ renderMeanMs: 10_000_000 });
    const api = client(sim.origin, { provider: "runway", visibilityGraceMs: 0 });
    const taskId = await createOne(api, 1);
    expect(await api.cancelTask(taskId)).toEqual({ kind: "cancelled" });
    const after = await api.getTask(taskId, Date.now() - 1_000);
    expect(after.kind === "state" && after.state.status).toBe("missing");
    expect(await api.cancelTask(taskId)).toEqual({ kind: "cancelled" });
  });
});
