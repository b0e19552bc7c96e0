import { afterEach, describe, expect, it } from "vitest";
import { taskKeyOf } from "../../src/canonical.js";
import type { SimRequestRecord, Simulator } from "../../src/sim/index.js";
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

async function renderOf(seed: number): Promise<number | undefined> {
  const s = await startTestSimulator({ seed });
  try {
    await create(s.origin, validBody({ seed: 7 }));
    return s.stats().tasks[0]?.renderMs;
  } finally {
    await s.close();
  }
}

describe("task lifecycle (bare shape on /v1)", () => {
  it("creates a task and moves it PENDING -> RUNNING with rising progress -> SUCCEEDED with an output", async () => {
    sim = await startTestSimulator();
    const answer = await call(`${sim.origin}/v1/character_performance`, {
      method: "POST",
      body: validBody(),
    });
    expect(answer.status).toBe(200);
    expect(answer.headers.get("content-type")).toBe("application/json");
    const { id, estimatedCost } = answer.body as { id: string; estimatedCost: { credits: number } };
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(estimatedCost.credits).toBe(50);

    const seen = await driveToEnd(sim, id);
    const statuses = [...new Set(seen.map((task) => task.status))];
    expect(statuses).toEqual(["PENDING", "RUNNING", "SUCCEEDED"]);
    const progress = seen.filter((task) => task.status === "RUNNING").map((task) => task.progress ?? -1);
    expect(progress.every((p) => p >= 0 && p < 1)).toBe(true);
    expect(progress).toEqual(progress.toSorted((a, b) => a - b));
    expect(new Set(progress).size).toBeGreaterThan(2);
    expect(
      seen.filter((task) => task.status !== "RUNNING").every((task) => task.progress === undefined),
    ).toBe(true);

    const done = seen.at(-1) as BareTask & { cost: { credits: number } };
    expect(done.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(done.output).toHaveLength(1);
    expect(done.cost.credits).toBe(50);
    const video = await fetch(done.output?.[0] ?? "");
    expect(video.status).toBe(200);
    expect(video.headers.get("content-type")).toBe("video/mp4");
    const bytes = Buffer.from(await video.arrayBuffer());
    expect(bytes.subarray(4, 8).toString("latin1")).toBe("ftyp");
  });

  it("mints a fresh signed URL on every GET of a SUCCEEDED task", async () => {
    sim = await startTestSimulator();
    const id = await create(sim.origin);
    await driveToEnd(sim, id);
    const first = (await getTask(sim.origin, id)).body as BareTask;
    const second = (await getTask(sim.origin, id)).body as BareTask;
    expect(first.output?.[0]).not.toBe(second.output?.[0]);
    expect(first.output?.[0]).toMatch(/\?exp=\d+&n=\w+&sig=[\w-]{32}$/);
    for (const url of [first.output?.[0], second.output?.[0]])
      expect((await fetch(url ?? "")).status).toBe(200);
  });

  it("changes a task's state only on its ~5 s update grid (scaled by speed)", async () => {
    sim = await startTestSimulator({ speed: 1, clock: () => 1_000_000 });
    const id = await create(sim.origin);
    sim.advance(5_000 + 10_000); // past the longest PENDING
    const a = (await getTask(sim.origin, id)).body as BareTask;
    sim.advance(4_000);
    const b = (await getTask(sim.origin, id)).body as BareTask;
    sim.advance(1_000);
    const c = (await getTask(sim.origin, id)).body as BareTask;
    expect(a.status).toBe("RUNNING");
    expect(b).toEqual(a);
    expect(c.progress).toBeGreaterThan(a.progress ?? 1);
  });

  it("keeps tasks beyond the account concurrency THROTTLED and promotes them first in, first out", async () => {
    sim = await startTestSimulator({ concurrency: 2 });
    const ids: string[] = [];
    for (let seed = 0; seed < 5; seed++) ids.push(await create(sim.origin, validBody({ seed })));
    const first = await Promise.all(
      ids.map(async (id) => ((await getTask(sim!.origin, id)).body as BareTask).status),
    );
    expect(first).toEqual(["PENDING", "PENDING", "THROTTLED", "THROTTLED", "THROTTLED"]);
    for (const id of ids) await driveToEnd(sim, id);
    const stats = sim.stats();
    expect(stats.peakActive).toBe(5);
    expect(stats.peakRunning).toBeLessThanOrEqual(2);
    const slots = stats.tasks.map((task) => task.slotAt ?? Infinity);
    expect(slots).toEqual(slots.toSorted((a, b) => a - b));
    // A throttled task gets its slot exactly when (on its own 5 s grid after) an earlier one ends.
    const ends = stats.tasks.map((task) => task.finishedAt ?? 0).toSorted((a, b) => a - b);
    expect(stats.tasks[2]?.slotAt).toBeGreaterThanOrEqual(ends[0] ?? Infinity);
    expect(stats.tasksByStatus).toEqual({ SUCCEEDED: 5 });
  });

  it("DELETE cancels a running task, frees its slot for a throttled one, and the task is gone", async () => {
    sim = await startTestSimulator({ concurrency: 1 });
    const running = await create(sim.origin, validBody({ seed: 1 }));
    const waiting = await create(sim.origin, validBody({ seed: 2 }));
    expect(((await getTask(sim.origin, waiting)).body as BareTask).status).toBe("THROTTLED");
    const deleted = await call(`${sim.origin}/v1/tasks/${running}`, { method: "DELETE" });
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe("");
    const gone = await getTask(sim.origin, running);
    expect(gone.status).toBe(404);
    expect(gone.body).toEqual({ error: "Could not find Task" });
    expect((await call(`${sim.origin}/v1/tasks/${running}`, { method: "DELETE" })).status).toBe(404);
    sim.advance(60); // the next tick of the waiting task's grid
    expect(["PENDING", "RUNNING"]).toContain(((await getTask(sim.origin, waiting)).body as BareTask).status);
    const record = sim.stats().tasks[0];
    expect(record?.status).toBe("CANCELLED");
    expect(record?.deleted).toBe(true);
    expect(record?.cancelledAt).not.toBeNull();
  });

  it("DELETE of a finished task deletes it; with deleteMode cancelled a cancelled task stays visible", async () => {
    sim = await startTestSimulator({ deleteMode: "cancelled" });
    const done = await create(sim.origin, validBody({ seed: 1 }));
    await driveToEnd(sim, done);
    expect((await call(`${sim.origin}/v1/tasks/${done}`, { method: "DELETE" })).status).toBe(204);
    expect((await getTask(sim.origin, done)).status).toBe(404);
    const live = await create(sim.origin, validBody({ seed: 2 }));
    expect((await call(`${sim.origin}/v1/tasks/${live}`, { method: "DELETE" })).status).toBe(204);
    const cancelled = await getTask(sim.origin, live);
    expect(cancelled.status).toBe(200);
    expect((cancelled.body as BareTask).status).toBe("CANCELLED");
  });

  it("answers 404 Could not find Task for an unknown id on /v1", async () => {
    sim = await startTestSimulator();
    const answer = await getTask(sim.origin, "00000000-0000-4000-8000-000000000000");
    expect(answer.status).toBe(404);
    expect(answer.body).toEqual({ error: "Could not find Task" });
  });

  it("fails tasks with the code a character URI asks for, or without a code", async () => {
    sim = await startTestSimulator();
    const coded = await create(
      sim.origin,
      validBody({
        character: { type: "image", uri: "https://assets.example.com/a.png?simFail=SAFETY.INPUT.IMAGE" },
      }),
    );
    const uncoded = await create(
      sim.origin,
      validBody({ character: { type: "image", uri: "https://assets.example.com/a.png?simFail=none" } }),
    );
    const a = (await driveToEnd(sim, coded)).at(-1);
    const b = (await driveToEnd(sim, uncoded)).at(-1);
    expect(a).toMatchObject({ status: "FAILED", failureCode: "SAFETY.INPUT.IMAGE" });
    expect(a?.failure).toMatch(/moderation/);
    expect(b?.status).toBe("FAILED");
    expect(b).not.toHaveProperty("failureCode");
    expect(b?.failure).toBeTruthy();
  });

  it("is deterministic for a seed: same body, same timeline; another seed, another timeline", async () => {
    expect(await renderOf(1)).toBe(await renderOf(1));
    expect(await renderOf(1)).not.toBe(await renderOf(2));
  });

  it("counts creates per canonical request body, whatever the key order", async () => {
    sim = await startTestSimulator();
    const body = validBody();
    const reordered = Object.fromEntries(Object.entries(body).toReversed());
    await create(sim.origin, body);
    await create(sim.origin, reordered);
    await create(sim.origin, validBody({ seed: 2 }));
    const stats = sim.stats();
    expect(stats.creates).toBe(3);
    expect(stats.createsByKey[taskKeyOf(body)]).toBe(2);
    expect(stats.createsByKey[taskKeyOf(validBody({ seed: 2 }))]).toBe(1);
    expect(stats.tasks.map((task) => task.attempt)).toEqual([1, 2, 1]);
  });

  it("serves its stats as JSON at /__sim/stats, with requests per route template and status", async () => {
    sim = await startTestSimulator();
    const id = await create(sim.origin);
    await getTask(sim.origin, id);
    await getTask(sim.origin, id);
    await getTask(sim.origin, "nope");
    const stats = (await call(`${sim.origin}/__sim/stats`)).body as ReturnType<Simulator["stats"]>;
    expect(stats.requests["POST /v1/character_performance"]).toEqual({ "200": 1 });
    expect(stats.requests["GET /v1/tasks/:id"]).toEqual({ "200": 2, "404": 1 });
    expect(stats.getsByTaskId[id]).toBe(2);
    expect(stats.creates).toBe(1);
    const log = (await call(`${sim.origin}/__sim/requests`)).body as SimRequestRecord[];
    expect(log.slice(0, 4).map((entry) => [entry.route, entry.status])).toEqual([
      ["POST /v1/character_performance", "200"],
      ["GET /v1/tasks/:id", "200"],
      ["GET /v1/tasks/:id", "200"],
      ["GET /v1/tasks/:id", "404"],
    ]);
    expect(log[0]?.body).toEqual(validBody());
    expect(log[0]).toMatchObject({ authorized: true, runwayVersion: "2024-11-06" });
    expect(JSON.stringify(log)).not.toContain("key_test");
  });
});
