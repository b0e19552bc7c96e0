// The run engine in process (runJob) against the simulator over real loopback sockets.
import { mkdir, readFile, symlink } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { readJournal } from "../../src/journal/writer.js";
import { serializeManifest } from "../../src/manifest/manifest.js";
import {
  CANARY_KEY,
  createWorkspace,
  expectOutputsMatchSimulator,
  keyForms,
  readTree,
  totalRequests,
  type Workspace,
} from "../e2e/harness.js";

let ws: Workspace | null = null;
afterEach(async () => {
  await ws?.close();
  ws = null;
});

describe("runJob against the simulator", () => {
  it("renders every task, never more than --concurrency at once, and writes verified files and a valid manifest", async () => {
    ws = await createWorkspace({ pairs: 3, intensities: [1, 3, 5], concurrency: 3 });
    const result = await ws.run();
    expect(result.exitCode).toBe(0);
    const stats = ws.sim.stats();
    expect(stats.creates).toBe(9);
    expect(Object.values(stats.createsByKey).every((n) => n === 1)).toBe(true);
    expect(stats.peakActive).toBe(3);
    const manifest = await expectOutputsMatchSimulator(ws);
    expect(manifest.summary).toMatchObject({
      total: 9,
      succeeded: 9,
      failed: 0,
      pending: 0,
      possiblyChargedTwice: 0,
    });
    expect(result.summary.counts).toMatchObject({ succeeded: 9, failed: 0 });
    expect(result.summary.getsPerPolledTask).toBeGreaterThan(0);
  });

  it("rerunning a finished job makes zero API calls, appends nothing, and leaves the manifest byte-identical", async () => {
    ws = await createWorkspace({ pairs: 2, intensities: [1, 2] });
    expect((await ws.run()).exitCode).toBe(0);
    const manifestBefore = await readFile(join(ws.outDir, "manifest.json"));
    const journalBefore = await readFile(join(ws.outDir, ".actbatch", "journal.ndjson"));
    const requestsBefore = totalRequests(ws.sim);
    const again = await ws.run();
    expect(again.exitCode).toBe(0);
    expect(totalRequests(ws.sim)).toBe(requestsBefore);
    expect(await readFile(join(ws.outDir, "manifest.json"))).toEqual(manifestBefore);
    expect(await readFile(join(ws.outDir, ".actbatch", "journal.ndjson"))).toEqual(journalBefore);
    expect(again.summary.counts.alreadyDone).toBe(4);
  });

  it("downloads a deleted or damaged output again from the same task, without a new create", async () => {
    ws = await createWorkspace({ pairs: 1, intensities: [1, 2] });
    await ws.run();
    const manifest = await expectOutputsMatchSimulator(ws);
    const [first, second] = manifest.tasks;
    const { rm, writeFile } = await import("node:fs/promises");
    await rm(join(ws.outDir, first!.outputs[0]!.file));
    await writeFile(join(ws.outDir, second!.outputs[0]!.file), "not a video");
    const creates = ws.sim.stats().creates;
    const result = await ws.run();
    expect(result.exitCode).toBe(0);
    expect(ws.sim.stats().creates).toBe(creates);
    const after = await expectOutputsMatchSimulator(ws);
    expect(after.tasks.map((t) => t.taskId)).toEqual(manifest.tasks.map((t) => t.taskId));
  });

  // The window is long here so that the first poll (half the expected render time after creation) falls in it.
  it.each(["wrapped", "mixed"] as const)(
    "handles the %s GET shape and task_not_exist after creation",
    async (shape) => {
      ws = await createWorkspace({ pairs: 2, intensities: [1, 2] }, { shape, taskNotExistMs: 45_000 });
      const result = await ws.run();
      expect(result.exitCode).toBe(0);
      expect(ws.sim.stats().requests["GET /runwayml/v1/tasks/:id"]?.["400"]).toBeGreaterThan(0);
      await expectOutputsMatchSimulator(ws);
    },
  );

  it("keeps paid work safe through 429s (with and without Retry-After), 5xx, resets and bad downloads", async () => {
    ws = await createWorkspace(
      { pairs: 3, intensities: [1, 2, 3], concurrency: 4 },
      {
        faults:
          "get:429=0.1,get:429ra=0.1,get:5xx=0.1,get:reset=0.05,create:503=0.1,create:429=0.05,create:429ra=0.05,download:truncate=0.3",
      },
    );
    const result = await ws.run();
    expect(result.exitCode).toBe(0);
    const stats = ws.sim.stats();
    expect(stats.faults["download:truncate"]).toBeGreaterThan(0);
    // 503 on create happens before any task exists: never a duplicate.
    expect(Object.values(stats.createsByKey).every((n) => n === 1)).toBe(true);
    await expectOutputsMatchSimulator(ws);
    // The file pieced together from checkpoints is the one the final records assemble into.
    expect(await readFile(join(ws.outDir, "manifest.json"), "utf8")).toBe(serializeManifest(result.manifest));
  });

  it("reads the task again for fresh URLs when a signed output URL expired before its download", async () => {
    // Every download trickles for 2 s (scaled) and URLs live 20 ms: the downloads queued behind the
    // first ones find their URLs expired.
    ws = await createWorkspace(
      { pairs: 2, intensities: [1, 2, 3], concurrency: 3 },
      { urlTtlMs: 3_000, faults: "download:slow=1", slowMs: 300_000 },
    );
    const result = await ws.run({ concurrency: 3 });
    expect(result.exitCode).toBe(0);
    expect(ws.sim.stats().requests["GET /media/:id.mp4"]?.["403"]).toBeGreaterThan(0);
    await expectOutputsMatchSimulator(ws);
  });

  it("resubmits a create whose answer was lost, and reports the possible double charge", async () => {
    ws = await createWorkspace({ pairs: 2, intensities: [1, 2, 3] }, { faults: "create:lost=0.3" });
    const result = await ws.run({ maxAttempts: 5 });
    expect(result.exitCode).toBe(0);
    const manifest = await expectOutputsMatchSimulator(ws);
    const stats = ws.sim.stats();
    // A key created more than once is always flagged, and a flagged key always shows its ambiguous attempt.
    const unflagged = manifest.tasks.filter(
      (t) => (stats.createsByKey[t.key] ?? 0) > 1 && !t.possiblyChargedTwice,
    );
    expect(unflagged).toEqual([]);
    const unexplained = manifest.tasks.filter(
      (t) => t.possiblyChargedTwice && !t.history.some((a) => a.status === "AMBIGUOUS"),
    );
    expect(unexplained).toEqual([]);
    expect(Object.values(stats.createsByKey).some((n) => n > 1)).toBe(true);
    expect(result.summary.counts.possiblyChargedTwice).toBeGreaterThan(0);
  });

  it("holds an ambiguous create with resubmitAmbiguous false: status AMBIGUOUS, exit 1", async () => {
    ws = await createWorkspace({ pairs: 1, intensities: [1] }, { faults: "create:lost=1" });
    const result = await ws.run({ resubmitAmbiguous: false });
    expect(result.exitCode).toBe(1);
    expect(result.manifest.tasks[0]).toMatchObject({
      status: "AMBIGUOUS",
      taskId: null,
      possiblyChargedTwice: false,
    });
    expect(ws.sim.stats().creates).toBe(1);
    // The hold survives a rerun: no second create.
    ws.sim.setFaults(undefined);
    expect((await ws.run({ resubmitAmbiguous: false })).exitCode).toBe(1);
    expect(ws.sim.stats().creates).toBe(1);
    // Resubmitting it is the default, and flagged.
    const resumed = await ws.run();
    expect(resumed.exitCode).toBe(0);
    expect(resumed.manifest.tasks[0]).toMatchObject({
      status: "SUCCEEDED",
      attempts: 2,
      possiblyChargedTwice: true,
    });
  });

  it("resubmits a retryable failure within the run up to --max-attempts, recording every attempt", async () => {
    ws = await createWorkspace(
      { pairs: 1, intensities: [1, 2] },
      { faults: "fail=1", failureCodes: ["INTERNAL"] },
    );
    const result = await ws.run({ maxAttempts: 3 });
    expect(result.exitCode).toBe(1);
    for (const task of result.manifest.tasks) {
      expect(task).toMatchObject({
        status: "FAILED",
        attempts: 3,
        error: { code: "INTERNAL", retryable: true },
      });
      expect(task.history.map((a) => a.attempt)).toEqual([1, 2]);
      expect(ws.sim.stats().createsByKey[task.key]).toBe(3);
    }
    expect(result.summary.unfinished).toHaveLength(2);
  });

  it("retries INTERNAL.BAD_OUTPUT once at most, whatever --max-attempts says", async () => {
    ws = await createWorkspace(
      { pairs: 1, intensities: [1] },
      { faults: "fail=1", failureCodes: ["INTERNAL.BAD_OUTPUT.CODE01"] },
    );
    const result = await ws.run({ maxAttempts: 5 });
    expect(result.manifest.tasks[0]).toMatchObject({
      status: "FAILED",
      attempts: 2,
      error: { retryable: false },
    });
    // Final for reruns: "rarely succeeds on retry", and every attempt is paid.
    await ws.run({ maxAttempts: 5 });
    expect(ws.sim.stats().creates).toBe(2);
  });

  it("gives a final failure one attempt, holds it on rerun, and retries it with --retry-failed", async () => {
    ws = await createWorkspace(
      { pairs: 1, intensities: [1] },
      { faults: "fail=1", failureCodes: ["ASSET.INVALID"] },
    );
    const first = await ws.run();
    expect(first.exitCode).toBe(1);
    expect(first.manifest.tasks[0]).toMatchObject({
      status: "FAILED",
      attempts: 1,
      error: { code: "ASSET.INVALID", retryable: false },
    });
    expect((await ws.run()).exitCode).toBe(1);
    expect(ws.sim.stats().creates).toBe(1);
    ws.sim.setFaults(undefined);
    const retried = await ws.run({ retryFailed: true });
    expect(retried.exitCode).toBe(0);
    expect(retried.manifest.tasks[0]).toMatchObject({
      status: "SUCCEEDED",
      attempts: 2,
      possiblyChargedTwice: false,
    });
  });

  it("stops submitting after --max-moderation-failures moderation failures (exit 3)", async () => {
    ws = await createWorkspace(
      { pairs: 2, intensities: [1, 2, 3], concurrency: 1 },
      { faults: "fail=1", failureCodes: ["SAFETY.INPUT.IMAGE"] },
    );
    const result = await ws.run({ concurrency: 1, maxModerationFailures: 2 });
    expect(result.exitCode).toBe(3);
    expect(ws.sim.stats().creates).toBe(2);
    expect(result.summary.stop?.reason).toBe("moderation");
    expect(result.manifest.tasks.filter((t) => t.status === "NOT_SUBMITTED")).toHaveLength(4);
    expect(ws.events.filter((e) => e.kind === "submission-stopped")).toHaveLength(1);
  });

  it.each([
    ["no credits", { credits: 15, taskCost: 5 }, "NO_CREDITS"],
    ["daily limit", { dailyLimit: 3 }, "DAILY_LIMIT"],
  ] as const)(
    "stops on %s with one message, keeps what is in flight, and resumes the rest later",
    async (_, account, code) => {
      ws = await createWorkspace({ pairs: 2, intensities: [1, 2, 3, 4], concurrency: 2 }, account);
      const result = await ws.run({ concurrency: 2 });
      expect(result.exitCode).toBe(3);
      expect(ws.events.filter((e) => e.kind === "submission-stopped")).toHaveLength(1);
      expect(result.manifest.summary.succeeded).toBe(3);
      const notCreated = result.manifest.tasks.filter((t) => t.status === "NOT_SUBMITTED");
      expect(notCreated).toHaveLength(5);
      expect(notCreated.some((t) => t.error?.code === code)).toBe(true);
      await expectOutputsMatchSimulator(ws);
      ws.sim.setAccount({ credits: null, dailyLimit: null });
      const resumed = await ws.run({ concurrency: 2 });
      expect(resumed.exitCode).toBe(0);
      expect(Object.values(ws.sim.stats().createsByKey).every((n) => n === 1)).toBe(true);
      expect(ws.sim.stats().creates).toBe(8);
    },
  );

  it("stops at once on a bad key (exit 3) and names the variable, never the key", async () => {
    ws = await createWorkspace({ pairs: 1, intensities: [1, 2] }, { apiKey: "the-right-key" });
    const result = await ws.run();
    expect(result.exitCode).toBe(3);
    expect(result.summary.stop?.message).toContain("COMETAPI_KEY");
    expect(result.manifest.tasks.every((t) => t.status === "NOT_SUBMITTED")).toBe(true);
  });

  it("first abort: stops submitting, keeps every task id, exits 130; a rerun collects them without a new create", async () => {
    ws = await createWorkspace({ pairs: 2, intensities: [1, 2, 3], concurrency: 2 });
    const stop = new AbortController();
    let submitted = 0;
    const result = await ws.run({
      concurrency: 2,
      signal: stop.signal,
      onEvent: (event) => {
        if (event.kind === "task-submitted" && ++submitted === 2) stop.abort("SIGINT");
      },
    });
    expect(result.exitCode).toBe(130);
    const creates = ws.sim.stats().creates;
    expect(creates).toBeGreaterThanOrEqual(2);
    expect(creates).toBeLessThan(6);
    const journal = await readJournal(ws.outDir);
    expect(journal.records.filter((r) => r.t === "created")).toHaveLength(creates);
    const resumed = await ws.run({ concurrency: 2 });
    expect(resumed.exitCode).toBe(0);
    expect(Object.values(ws.sim.stats().createsByKey).every((n) => n === 1)).toBe(true);
    await expectOutputsMatchSimulator(ws);
  });

  it("second abort: cancels the tasks in flight at the API and records it; a rerun holds them, --retry-failed submits them again", async () => {
    ws = await createWorkspace({ pairs: 1, intensities: [1, 2], concurrency: 2 });
    const stop = new AbortController();
    const cancel = new AbortController();
    let submitted = 0;
    const result = await ws.run({
      concurrency: 2,
      signal: stop.signal,
      cancelSignal: cancel.signal,
      onEvent: (event) => {
        if (event.kind === "task-submitted" && ++submitted === 2) {
          stop.abort("SIGINT");
          cancel.abort("SIGINT");
        }
      },
    });
    expect(result.exitCode).toBe(130);
    expect(ws.sim.stats().requests["DELETE /runwayml/v1/tasks/:id"]?.["204"]).toBe(2);
    const journal = await readJournal(ws.outDir);
    expect(journal.records.filter((r) => r.t === "cancel")).toHaveLength(2);
    expect(result.manifest.tasks.map((t) => t.status)).toEqual(["CANCELLED", "CANCELLED"]);
    // A cancel is a decision: a plain rerun creates nothing and keeps them CANCELLED (a failure: exit 1).
    const creates = ws.sim.stats().creates;
    const held = await ws.run({ concurrency: 2 });
    expect(held.exitCode).toBe(1);
    expect(ws.sim.stats().creates).toBe(creates);
    expect(held.manifest.tasks.map((t) => t.status)).toEqual(["CANCELLED", "CANCELLED"]);
    const resumed = await ws.run({ concurrency: 2, retryFailed: true });
    expect(resumed.exitCode).toBe(0);
    expect(resumed.manifest.tasks.map((t) => t.attempts)).toEqual([2, 2]);
  });

  it("keeps keys that left the job file as orphans, still polled, never dropped", async () => {
    ws = await createWorkspace({ pairs: 1, intensities: [1, 2, 3] });
    const stop = new AbortController();
    let submitted = 0;
    await ws.run({
      signal: stop.signal,
      onEvent: (event) => {
        if (event.kind === "task-submitted" && ++submitted === 3) stop.abort("SIGINT");
      },
    });
    // The sweep loses intensity 3 while its task is in flight.
    await ws.writeJob({ pairs: 1, intensities: [1, 2] });
    const result = await ws.run();
    expect(result.exitCode).toBe(0);
    expect(result.manifest.tasks).toHaveLength(2);
    expect(result.manifest.orphans).toHaveLength(1);
    expect(result.manifest.orphans[0]).toMatchObject({
      status: "SUCCEEDED",
      params: { expressionIntensity: 3 },
    });
    expect(result.manifest.orphans[0]?.taskId).not.toBeNull();
    expect(Object.values(ws.sim.stats().createsByKey).every((n) => n === 1)).toBe(true);
    expect(await readFile(join(ws.outDir, "manifest.json"), "utf8")).toBe(serializeManifest(result.manifest));
  });

  it("runs shards by key: together they cover the job once, and the manifest lists every task", async () => {
    ws = await createWorkspace({ pairs: 2, intensities: [1, 2, 3, 4, 5] });
    const one = await ws.run({ shard: { index: 1, count: 2 } });
    const two = await ws.run({ shard: { index: 2, count: 2 } });
    expect(one.summary.counts.inRun + two.summary.counts.inRun).toBe(10);
    expect(one.summary.counts.inRun).toBeGreaterThan(0);
    expect(two.summary.counts.inRun).toBeGreaterThan(0);
    expect([one.exitCode, two.exitCode]).toEqual([0, 0]);
    expect(one.manifest.tasks).toHaveLength(10);
    expect(two.manifest.summary.succeeded).toBe(10);
    expect(ws.sim.stats().creates).toBe(10);
  });

  it("refuses a second run on the same output folder while the first holds it, before any request", async () => {
    ws = await createWorkspace({ pairs: 1, intensities: [1, 2] });
    const first = ws.run();
    // Once the first run has started its work, it holds the lock (however busy the machine is).
    const workspace = ws;
    await vi.waitUntil(() => workspace.events.some((event) => event.kind === "run-started"), {
      timeout: 20_000,
      interval: 5,
    });
    await expect(ws.run()).rejects.toThrow(/another actbatch run \(pid \d+/);
    expect((await first).exitCode).toBe(0);
    expect(ws.sim.stats().creates).toBe(2);
  });

  it("stops before any POST when the journal cannot be written", async () => {
    ws = await createWorkspace({ pairs: 1, intensities: [1, 2] });
    // The journal is a link into a folder that does not exist: it reads as empty, and the first append
    // (the intent, before any POST) fails.
    await mkdir(join(ws.outDir, ".actbatch"), { recursive: true });
    await symlink(join(ws.dir, "no-such-folder", "journal"), join(ws.outDir, ".actbatch", "journal.ndjson"));
    await expect(ws.run()).rejects.toThrow(/cannot write the journal/);
    expect(ws.sim.stats().creates).toBe(0);
    expect(totalRequests(ws.sim)).toBe(0);
  });

  it.each(["cometapi", "runway"] as const)(
    "runs against an in-process simulator as %s, with no key",
    async (provider) => {
      ws = await createWorkspace({ pairs: 1, intensities: [1, 2] });
      const result = await ws.run({ simulate: { speed: 200 }, provider, env: {}, baseUrl: undefined });
      expect(result.exitCode).toBe(0);
      expect(result.summary.requests.create).toBe(2);
      // The workspace's own simulator saw nothing.
      expect(totalRequests(ws.sim)).toBe(0);
    },
  );

  it("never writes or reports the API key, whatever fails", async () => {
    ws = await createWorkspace(
      { pairs: 2, intensities: [1, 2] },
      {
        faults: "get:5xx=0.2,create:lost=0.2,download:truncate=0.2,fail=0.3",
        failureCodes: ["INTERNAL", "SAFETY.INPUT.IMAGE"],
      },
    );
    const result = await ws.run();
    const text = [JSON.stringify(result), JSON.stringify(ws.events)].join("\n");
    for (const file of await readTree(ws.dir))
      for (const form of keyForms(CANARY_KEY)) expect(file.bytes.includes(form)).toBe(false);
    for (const form of keyForms(CANARY_KEY)) expect(text).not.toContain(form);
  });
});
