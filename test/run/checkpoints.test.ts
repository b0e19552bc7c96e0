// Checkpoint spacing, driven by hand: no real timer is waited on.
import { describe, expect, it } from "vitest";
import { CheckpointScheduler } from "../../src/run/checkpoints.js";
import { manualTimers } from "../helpers/manual-timers.js";

describe("manifest checkpoints", () => {
  it("write at most once per interval, and once more for changes made meanwhile", async () => {
    const timers = manualTimers();
    let writes = 0;
    const checkpoints = new CheckpointScheduler(5_000, async () => void writes++, timers);
    checkpoints.request();
    await timers.advance(0);
    expect(writes).toBe(1);
    checkpoints.request();
    checkpoints.request();
    await timers.advance(4_999);
    expect(writes).toBe(1);
    await timers.advance(1);
    expect(writes).toBe(2);
    await timers.advance(60_000);
    expect(writes).toBe(2);
  });

  it("space slow checkpoints by twenty times their cost, and write nothing once closed", async () => {
    const timers = manualTimers();
    let writes = 0;
    // Each write takes 1 s of the clock: the next may come 20 s after the last began.
    const checkpoints = new CheckpointScheduler(
      5_000,
      async () => {
        writes++;
        await timers.advance(1_000);
      },
      timers,
    );
    checkpoints.request();
    await timers.advance(0);
    expect(writes).toBe(1);
    checkpoints.request();
    await timers.advance(18_000);
    expect(writes).toBe(1);
    await timers.advance(2_000);
    expect(writes).toBe(2);
    checkpoints.request();
    await checkpoints.close();
    expect(timers.pending()).toBe(0);
    await timers.advance(60_000);
    expect(writes).toBe(2);
  });
});
