// The official client, unchanged apart from its base URL, against the simulator's Runway routes.
// It is a client nobody here wrote: if it cannot talk to the simulator, the simulator is wrong.
// The first test takes about 5-8 s: the SDK sleeps 6 s (+-1.5 s) before its first poll.
import {
  AuthenticationError,
  BadRequestError,
  NotFoundError,
  RateLimitError,
  RunwayML,
  TaskFailedError,
} from "@runwayml/sdk";
import { afterEach, describe, expect, it } from "vitest";
import type { Simulator } from "../../src/sim/index.js";
import { KEY, startTestSimulator, validBody } from "./helpers.js";

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

function client(s: Simulator, options: { apiKey?: string; maxRetries?: number } = {}): RunwayML {
  return new RunwayML({
    baseURL: s.origin,
    apiKey: options.apiKey ?? KEY,
    maxRetries: options.maxRetries ?? 2,
  });
}

describe("@runwayml/sdk against the simulator (bare shape)", () => {
  it("characterPerformance.create(...).waitForTaskOutput() returns a SUCCEEDED task with a downloadable MP4", async () => {
    sim = await startTestSimulator({ speed: 100, clock: Date.now });
    const runway = client(sim);
    const task = await runway.characterPerformance
      .create({
        model: "act_two",
        character: { type: "image", uri: "https://assets.example.com/hero.png" },
        reference: { type: "video", uri: "https://assets.example.com/take1.mp4" },
        ratio: "1280:720",
        bodyControl: true,
        expressionIntensity: 3,
        seed: 42,
        contentModeration: { publicFigureThreshold: "auto" },
      })
      .waitForTaskOutput({ timeout: 30_000 });
    expect(task.status).toBe("SUCCEEDED");
    expect(task.output).toHaveLength(1);
    const video = await fetch(task.output[0] ?? "");
    expect(video.status).toBe(200);
    expect(
      Buffer.from(await video.arrayBuffer())
        .subarray(4, 8)
        .toString("latin1"),
    ).toBe("ftyp");
    const apiCalls = sim.requestLog().filter((entry) => entry.path.startsWith("/v1/"));
    expect(apiCalls.length).toBeGreaterThanOrEqual(2);
    expect(apiCalls.every((entry) => entry.runwayVersion === "2024-11-06" && entry.authorized)).toBe(true);
    expect(sim.stats().creates).toBe(1);
  }, 20_000);

  it("tasks.retrieve(id).waitForTaskOutput() throws TaskFailedError with Runway's failure text", async () => {
    sim = await startTestSimulator();
    const runway = client(sim);
    const { id } = await runway.characterPerformance.create({
      ...validBody(),
      character: { type: "image", uri: "https://assets.example.com/hero.png?simFail=SAFETY.OUTPUT.VIDEO" },
    });
    sim.advance(60_000);
    const error = await runway.tasks
      .retrieve(id)
      .waitForTaskOutput()
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TaskFailedError);
    expect((error as TaskFailedError).message).toMatch(/moderation/);
    expect((error as TaskFailedError).taskDetails).toMatchObject({
      status: "FAILED",
      failureCode: "SAFETY.OUTPUT.VIDEO",
    });
  });

  it("maps the simulator's errors to the SDK's error classes", async () => {
    sim = await startTestSimulator({ dailyLimit: 1 });
    const runway = client(sim, { maxRetries: 0 });
    const invalid = await runway.characterPerformance
      .create({ ...validBody(), expressionIntensity: 7 })
      .catch((caught: unknown) => caught);
    expect(invalid).toBeInstanceOf(BadRequestError);
    expect(String(invalid)).toContain("Validation of body failed");
    const { id } = await runway.characterPerformance.create(validBody());
    const limited = await runway.characterPerformance
      .create(validBody({ seed: 2 }))
      .catch((caught: unknown) => caught);
    expect(limited).toBeInstanceOf(RateLimitError);
    expect(String(limited)).toContain("Your daily task limit has been reached.");
    await runway.tasks.delete(id);
    expect(await runway.tasks.retrieve(id).catch((caught: unknown) => caught)).toBeInstanceOf(NotFoundError);
    const locked = await startTestSimulator({ apiKey: "key_other" });
    try {
      const refused = await client(locked, { maxRetries: 0 })
        .tasks.retrieve(id)
        .catch((caught: unknown) => caught);
      expect(refused).toBeInstanceOf(AuthenticationError);
    } finally {
      await locked.close();
    }
  });

  it("the SDK's own retries get through 429s and 503s, honouring retry-after-ms", async () => {
    sim = await startTestSimulator({ faults: "get:429ra=0.3,get:503=0.1" });
    const runway = client(sim, { maxRetries: 2 });
    const { id } = await runway.characterPerformance.create(validBody());
    const outcomes: (number | string)[] = [];
    for (let i = 0; i < 10; i++) {
      const task = await runway.tasks.retrieve(id).catch((caught: unknown) => caught);
      outcomes.push(
        task instanceof Error
          ? ((task as RateLimitError).status ?? "no status")
          : (task as { id: string }).id,
      );
    }
    const succeeded = outcomes.filter((outcome) => outcome === id).length;
    expect(outcomes.filter((outcome) => outcome !== id && outcome !== 429 && outcome !== 503)).toEqual([]);
    expect(succeeded).toBeGreaterThan(5);
    const retried = sim.requestLog().filter((entry) => entry.retryCount !== null && entry.retryCount !== "0");
    expect(retried.length).toBeGreaterThan(0);
    expect(sim.stats().faults["get:429ra"]).toBeGreaterThan(0);
  });
});
