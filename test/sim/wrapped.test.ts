import { afterEach, describe, expect, it } from "vitest";
import type { Simulator } from "../../src/sim/index.js";
import { call, create, getTask, startTestSimulator, validBody } from "./helpers.js";

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

interface Envelope {
  code: string;
  message: string;
  data: {
    task_id: string;
    action: string;
    status: string;
    fail_reason: string;
    submit_time: number;
    start_time: number;
    finish_time: number;
    progress: string;
    result_url?: string;
    data: { id: string; status: string; createdAt: string; output?: string[]; failureCode?: string };
  };
}

describe("CometAPI routes (/runwayml)", () => {
  it("answers task_not_exist (HTTP 400) during the window after creation, then the task", async () => {
    sim = await startTestSimulator({ taskNotExistMs: 3000, clock: () => 5_000_000 });
    const id = await create(sim.baseUrl);
    const early = await getTask(sim.baseUrl, id);
    expect(early.status).toBe(400);
    expect(early.body).toEqual({ code: "task_not_exist", message: "task_not_exist", data: null });
    // On /v1 the same task is visible at once: Runway's own API shows no such window.
    expect((await getTask(sim.origin, id)).status).toBe(200);
    sim.advance(3000 / 100);
    const later = await getTask(sim.baseUrl, id);
    expect(later.status).toBe(200);
    expect((later.body as { id: string }).id).toBe(id);
  });

  it("can send task_not_exist as 404 or 200, and hide new tasks on /v1 too", async () => {
    sim = await startTestSimulator({ taskNotExistMs: 3000, taskNotExistStatus: 200, taskNotExistOnV1: true });
    const id = await create(sim.baseUrl);
    const comet = await getTask(sim.baseUrl, id);
    expect(comet.status).toBe(200);
    expect(comet.body).toMatchObject({ code: "task_not_exist" });
    const runway = await getTask(sim.origin, id);
    expect(runway.status).toBe(404);
    expect(runway.body).toEqual({ error: "Could not find Task" });
    await sim.close();
    sim = await startTestSimulator({ taskNotExistMs: 3000, taskNotExistStatus: 404 });
    expect((await getTask(sim.baseUrl, await create(sim.baseUrl))).status).toBe(404);
  });

  it("answers task_not_exist for an id it never issued", async () => {
    sim = await startTestSimulator();
    const answer = await getTask(sim.baseUrl, "00000000-0000-4000-8000-000000000000");
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ code: "task_not_exist" });
  });

  it("wraps the task in the envelope, with a wrapper status that lags the inner one", async () => {
    sim = await startTestSimulator({ shape: "wrapped", clock: () => 1_700_000_000_000 });
    const id = await create(sim.baseUrl);
    const seen: Envelope[] = [];
    for (let i = 0; i < 2000; i++) {
      const envelope = (await getTask(sim.baseUrl, id)).body as Envelope;
      seen.push(envelope);
      if (envelope.data.status === "SUCCESS") break;
      sim.advance(10);
    }
    const first = seen[0] as Envelope;
    expect(first).toMatchObject({
      code: "success",
      message: "",
      data: { task_id: id, action: "CHARACTER_PERFORMANCE" },
    });
    expect(first.data.status).toBe("NOT_START");
    expect(first.data.progress).toBe("0%");
    expect(first.data.start_time).toBe(0);
    expect(first.data.finish_time).toBe(0);
    expect(first.data.submit_time).toBe(1_700_000_000);
    expect(first.data.data.createdAt).toBe("2023-11-15T06:13:20+08:00");

    const wrapperStatuses = [...new Set(seen.map((e) => e.data.status))];
    expect(wrapperStatuses).toEqual(["NOT_START", "QUEUED", "IN_PROGRESS", "SUCCESS"]);
    for (const e of seen) expect(e.data.progress).toMatch(/^\d{1,3}%$/);
    // For a while the inner task already says SUCCEEDED while the wrapper still says IN_PROGRESS.
    const disagreeing = seen.filter(
      (e) => e.data.data.status === "SUCCEEDED" && e.data.status === "IN_PROGRESS",
    );
    expect(disagreeing.length).toBeGreaterThan(0);
    expect(disagreeing[0]?.data.data.output?.[0]).toMatch(/\/media\//);
    expect(disagreeing[0]?.data.result_url).toBeUndefined();

    const done = seen.at(-1) as Envelope;
    expect(done.data.progress).toBe("100%");
    expect(done.data.result_url).toBe(done.data.data.output?.[0]);
    expect(done.data.start_time).toBeGreaterThan(0);
    expect(done.data.finish_time).toBeGreaterThanOrEqual(done.data.start_time);
    expect((await fetch(done.data.result_url ?? "")).status).toBe(200);
  });

  it("reports a failure in fail_reason and data.data.failureCode", async () => {
    sim = await startTestSimulator({ shape: "wrapped" });
    const id = await create(sim.baseUrl, {
      ...validBody(),
      character: { type: "image", uri: "https://assets.example.com/a.png?simFail=INTERNAL" },
    });
    sim.advance(60_000);
    const envelope = (await getTask(sim.baseUrl, id)).body as Envelope;
    expect(envelope.data.status).toBe("FAILURE");
    expect(envelope.data.fail_reason).toBe("An internal error occurred.");
    expect(envelope.data.data.failureCode).toBe("INTERNAL");
  });

  it("mixes both shapes per request in mixed mode, and /v1 stays bare", async () => {
    sim = await startTestSimulator({ shape: "mixed" });
    const id = await create(sim.baseUrl);
    const shapes = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const body = (await getTask(sim.baseUrl, id)).body as Record<string, unknown>;
      shapes.add("code" in body ? "wrapped" : "bare");
    }
    expect(shapes).toEqual(new Set(["wrapped", "bare"]));
    sim.setShape("wrapped");
    const runway = (await getTask(sim.origin, id)).body as Record<string, unknown>;
    expect(runway["status"]).toBeDefined();
    expect(runway).not.toHaveProperty("code");
  });

  it("uses CometAPI's error envelope on /runwayml and Runway's on /v1", async () => {
    sim = await startTestSimulator();
    const comet = await call(`${sim.baseUrl}/v1/tasks/x`, { headers: {} });
    expect(comet.status).toBe(401);
    expect(comet.body).toEqual({
      error: {
        message: expect.stringMatching(/^invalid token \(request id: \S+\)$/),
        type: "comet_api_error",
        param: "",
        code: "",
      },
    });
    const runway = await call(`${sim.origin}/v1/tasks/x`, { headers: {} });
    expect(runway.status).toBe(401);
    expect(runway.body).toEqual({ error: expect.stringContaining("Authorization") });
  });

  it("after DELETE answers 404 on both route families", async () => {
    sim = await startTestSimulator();
    const id = await create(sim.baseUrl);
    expect((await call(`${sim.baseUrl}/v1/tasks/${id}`, { method: "DELETE" })).status).toBe(204);
    expect((await getTask(sim.baseUrl, id)).status).toBe(404);
    expect((await getTask(sim.origin, id)).status).toBe(404);
  });
});
