// Progress lines, the live view and the final summary, as a user reads them.
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { ManifestTask } from "../../src/manifest/types.js";
import type { RunEvent, RunSnapshot } from "../../src/run/events.js";
import { createProgressReporter, formatEvent, formatSnapshot } from "../../src/report/progress.js";
import { formatRunSummary } from "../../src/report/run-summary-text.js";
import { buildRunSummary, type SummaryInput } from "../../src/run/run-summary.js";

class Collect extends Writable {
  text = "";
  isTTY = false;
  columns = 100;
  rows = 30;
  override _write(chunk: Buffer, _enc: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString();
    callback();
  }
}

const task = { key: "0123456789abcdef", pair: "hero", params: { expressionIntensity: 3, seed: 7 } };
const snapshot: RunSnapshot = {
  job: "demo",
  elapsedMs: 12_000,
  phases: {
    queued: 5,
    submitting: 1,
    pending: 2,
    running: 3,
    downloading: 1,
    succeeded: 7,
    failed: 1,
    held: 0,
    "not-submitted": 0,
  },
  total: 20,
  requests: { create: 14, get: 80, cancel: 0, download: 7, retries: 2 },
  getsPerTask: 5.7,
  etaMs: 95_000,
};

describe("progress", () => {
  it("formats a task with its pair, params and key, and the run as counts (never one line per task)", () => {
    expect(
      formatEvent({
        kind: "task-finished",
        task,
        taskId: "t-1",
        attempt: 1,
        status: "FAILED",
        error: { code: "SAFETY.INPUT.IMAGE", message: "flagged", retryable: false },
        retrying: false,
      }),
    ).toBe("failed hero expressionIntensity=3 seed=7 [0123456789abcdef]: SAFETY.INPUT.IMAGE: flagged");
    expect(formatSnapshot(snapshot)).toBe(
      "5 queued · 3 submitted · 3 running · 1 downloading · 7 done · 1 failed · 5.7 GETs/task · 12.0 s · ETA 1 min 35 s",
    );
    expect(formatEvent({ kind: "snapshot", snapshot })).toBeNull();
  });

  it("plain mode: timestamped lines per event and a summary line per interval", async () => {
    const out = new Collect();
    let now = Date.parse("2026-01-01T10:00:00Z");
    const reporter = createProgressReporter({
      stream: out,
      mode: "plain",
      summaryIntervalMs: 10_000,
      clock: () => now,
    });
    reporter.handle({ kind: "task-submitted", task, attempt: 1, taskId: "t-1" });
    reporter.handle({ kind: "snapshot", snapshot });
    now += 11_000;
    reporter.handle({ kind: "snapshot", snapshot });
    await reporter.close();
    expect(out.text.split("\n")).toEqual([
      "10:00:00 submitted hero expressionIntensity=3 seed=7 [0123456789abcdef] as t-1",
      `10:00:11 progress: ${formatSnapshot(snapshot)}`,
      "",
    ]);
  });

  it("plain mode: lines are written together, shortly after their events, without waiting for the end", async () => {
    const out = new Collect();
    let writes = 0;
    const count = out.write.bind(out);
    out.write = ((chunk: string) => (writes++, count(chunk))) as typeof out.write;
    const reporter = createProgressReporter({ stream: out, mode: "plain" });
    for (let i = 0; i < 50; i++)
      reporter.handle({ kind: "task-submitted", task, attempt: 1, taskId: `t-${i}` });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(out.text.split("\n").filter((line) => line.includes("submitted"))).toHaveLength(50);
    expect(writes).toBeLessThan(5);
    reporter.handle({ kind: "interrupted", signal: "SIGINT", cancelling: false });
    // Said at once: a forced exit may follow a signal.
    expect(out.text).toContain("SIGINT: stopping");
    await reporter.close();
  });

  it("live mode draws on the given stream only (stderr), with the counts in the title", async () => {
    const out = new Collect();
    out.isTTY = true;
    const written: string[] = [];
    const realWrite = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) =>
      written.push(String(chunk)) > 0) as typeof process.stdout.write;
    try {
      const reporter = createProgressReporter({ stream: out, mode: "live" });
      const started: RunEvent = {
        kind: "run-started",
        job: "demo",
        outputDir: "/tmp/out",
        total: 20,
        inShard: 20,
        concurrency: 4,
        toSubmit: 20,
        toPoll: 0,
        toDownload: 0,
        skipped: 0,
        held: 0,
        orphans: 0,
        ambiguousResubmits: 0,
      };
      reporter.handle(started);
      await new Promise((resolve) => setTimeout(resolve, 50));
      reporter.handle({ kind: "snapshot", snapshot });
      await new Promise((resolve) => setTimeout(resolve, 150));
      reporter.handle({ kind: "run-finished", job: "demo", exitCode: 0 });
      await reporter.close();
    } finally {
      process.stdout.write = realWrite;
    }
    expect(written).toEqual([]);
    expect(out.text).toContain("7/20 tasks done · 1 failed · 3 running");
  });
});

const manifestTask = (over: Partial<ManifestTask>): ManifestTask => ({
  key: "k",
  pair: "hero",
  params: { seed: 1 },
  request: {} as ManifestTask["request"],
  taskId: "t",
  status: "SUCCEEDED",
  attempts: 1,
  outputs: [],
  error: null,
  possiblyChargedTwice: false,
  history: [],
  ...over,
});

describe("final summary", () => {
  const input: SummaryInput = {
    specFile: "jobs/demo.yaml",
    outputDir: "/tmp/out",
    connectionFlags: [],
    shardFlags: [],
    manifest: "/tmp/out/manifest.json",
    job: "demo",
    tasks: [
      manifestTask({ key: "a" }),
      manifestTask({
        key: "b",
        status: "FAILED",
        error: { code: "ASSET.INVALID", message: "bad asset", retryable: false },
      }),
      manifestTask({ key: "c", possiblyChargedTwice: true, attempts: 2 }),
      manifestTask({ key: "d", status: "NOT_SUBMITTED", taskId: null, attempts: 0 }),
    ],
    orphans: [],
    runKeys: ["a", "b", "c", "d"],
    alreadyDone: 1,
    fetchedAgain: 0,
    renderedAgain: [],
    exitCode: 3,
    stop: { reason: "account", message: "stopped submitting: the account has no credits left (HTTP 400)" },
    interrupted: null,
    requests: { create: 4, get: 20, cancel: 0, download: 2, retries: 1 },
    polledTasks: 3,
    taskGets: 20,
    touchedTasks: 4,
    elapsedMs: 65_000,
    meanRenderMs: 90_000,
  };

  it("counts, names each failure with pair, params and error, and every possible double charge", () => {
    const summary = buildRunSummary(input);
    expect(summary.counts).toMatchObject({
      succeeded: 2,
      failed: 1,
      pending: 1,
      notSubmitted: 1,
      possiblyChargedTwice: 1,
    });
    expect(summary.getsPerPolledTask).toBe(6.67);
    expect(summary.requestsPerTask).toBe(6);
    expect(formatRunSummary(summary)).toEqual([
      "demo: 4 tasks: 2 succeeded (1 already done), 1 failed, 1 pending, in 1 min 5 s",
      "requests: 4 creates, 20 task GETs (6.67 per polled task), 2 downloads, 1 retry; 6 API requests per task",
      "stopped submitting: the account has no credits left (HTTP 400)",
      "failed (1):",
      "  hero seed=1 [b]: ASSET.INVALID: bad asset",
      "possibly charged twice (1): a create's outcome was unknown, or its task vanished at the provider, and the task was submitted again:",
      "  hero seed=1 [c]",
      "1 task was not submitted: rerun to submit it",
      "manifest: /tmp/out/manifest.json",
      "to resume: actbatch run jobs/demo.yaml --out /tmp/out",
    ]);
    const spaced = formatRunSummary(buildRunSummary({ ...input, outputDir: "/tmp/my renders" }));
    expect(spaced.at(-1)).toBe("to resume: actbatch run jobs/demo.yaml --out '/tmp/my renders'");
  });
});
