// The live view on an 80-column terminal, as a person sees it: the job's line and one row per pair,
// how each ends (✔ ✖ ⚠), and no line wider than the terminal, the summary after it included.
import { describe, expect, it } from "vitest";
import type { LivePhase, PairPhases, RunEvent, RunSnapshot } from "../../src/run/events.js";
import { fitLines } from "../../src/report/fit-lines.js";
import { formatEta, jobTitle, pairRow } from "../../src/report/live-text.js";
import {
  chooseProgressMode,
  createProgressReporter,
  formatSnapshot,
  useColor,
  type ProgressOptions,
} from "../../src/report/progress.js";
import { describeTask } from "../../src/report/run-summary-text.js";
import { snapshotOf as engineSnapshot } from "../../src/run/snapshot.js";
import { FakeTerminal } from "../helpers/fake-terminal.js";

const noPhases: Record<LivePhase, number> = {
  queued: 0,
  submitting: 0,
  pending: 0,
  running: 0,
  downloading: 0,
  succeeded: 0,
  failed: 0,
  held: 0,
  "not-submitted": 0,
};

function pair(name: string, phases: Partial<Record<LivePhase, number>>): PairPhases {
  return { pair: name, phases: { ...noPhases, ...phases } };
}

function snapshotOf(pairs: PairPhases[], over: Partial<RunSnapshot> = {}): RunSnapshot {
  const phases = { ...noPhases };
  for (const row of pairs)
    for (const [phase, n] of Object.entries(row.phases)) phases[phase as LivePhase] += n;
  const total = Object.values(phases).reduce((sum, n) => sum + n, 0);
  return {
    job: "demo",
    elapsedMs: 12_000,
    phases,
    total,
    requests: { create: 4, get: 20, cancel: 0, download: 2, retries: 0 },
    getsPerTask: 5,
    etaMs: 35_000,
    pairs,
    ...over,
  };
}

const started = (total: number): RunEvent => ({
  kind: "run-started",
  job: "demo",
  outputDir: "/tmp/out",
  total,
  inShard: total,
  concurrency: 4,
  toSubmit: total,
  toPoll: 0,
  toDownload: 0,
  skipped: 0,
  held: 0,
  orphans: 0,
  ambiguousResubmits: 0,
});

const task = { key: "0123456789abcdef", pair: "hero-dance", params: { expressionIntensity: 3, seed: 7 } };

/** Drives a live reporter through a run on `terminal` and returns it closed. */
async function liveRun(
  terminal: FakeTerminal,
  events: RunEvent[],
  options: Partial<ProgressOptions> = {},
): Promise<ReturnType<typeof createProgressReporter>> {
  const reporter = createProgressReporter({
    stream: terminal,
    mode: "live",
    color: true,
    animate: false,
    ...options,
  });
  for (const event of events) {
    reporter.handle(event);
    // listr2 starts drawing asynchronously (it loads its helpers): let it catch up between events.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  await reporter.close();
  return reporter;
}

describe("the live view", () => {
  it("ends a failed run with ✖ on the job and on the pair that failed, ✔ on the pair that succeeded", async () => {
    const terminal = new FakeTerminal(80);
    const running = snapshotOf([
      pair("hero-dance", { running: 2, queued: 4 }),
      pair("robot-speech", { queued: 6 }),
    ]);
    const end = snapshotOf(
      [pair("hero-dance", { succeeded: 5, failed: 1 }), pair("robot-speech", { succeeded: 6 })],
      { etaMs: 0 },
    );
    await liveRun(terminal, [
      started(12),
      { kind: "snapshot", snapshot: running },
      {
        kind: "task-finished",
        task,
        taskId: "t-1",
        attempt: 1,
        status: "FAILED",
        error: { code: "SAFETY.INPUT.IMAGE", message: "flagged", retryable: false },
        retrying: false,
      },
      { kind: "snapshot", snapshot: end },
      { kind: "run-finished", job: "demo", exitCode: 1 },
    ]);
    expect(terminal.screen()).toEqual([
      "✖ demo: failed: 11/12 tasks done · 1 failed · 12.0 s · 5.0 GETs/task",
      "  ✖ hero-dance   ████████████████████████ 5/6 · 1 failed",
      "  ✔ robot-speech ████████████████████████ 6/6",
    ]);
    expect(terminal.raw).toContain("\u001b[31m✖\u001b[39m demo");
    expect(terminal.overflows).toEqual([]);
  });

  it("ends an interrupted run with a yellow ⚠ on the job and on each pair left unfinished", async () => {
    const terminal = new FakeTerminal(80);
    const end = snapshotOf([
      pair("hero-dance", { succeeded: 6 }),
      pair("robot-speech", { succeeded: 2, running: 1, queued: 3 }),
    ]);
    await liveRun(terminal, [
      started(12),
      { kind: "snapshot", snapshot: end },
      { kind: "interrupted", signal: "SIGINT", cancelling: false },
      { kind: "run-finished", job: "demo", exitCode: 130 },
    ]);
    expect(terminal.screen()).toEqual([
      "⚠ demo: stopped: 8/12 tasks done · 1 running · 3 queued · 12.0 s",
      "  ✔ hero-dance   ████████████████████████ 6/6",
      "  ⚠ robot-speech ████████░░░░░░░░░░░░░░░░ 2/6 · 1 running · 3 queued",
    ]);
    expect(terminal.raw).toContain("\u001b[33m⚠\u001b[39m demo");
    expect(terminal.raw).not.toContain("✔ demo");
  });

  it("ends a run whose every task succeeded with a green ✔", async () => {
    const terminal = new FakeTerminal(80);
    await liveRun(terminal, [
      started(2),
      { kind: "snapshot", snapshot: snapshotOf([pair("hero", { succeeded: 2 })]) },
      { kind: "run-finished", job: "demo", exitCode: 0 },
    ]);
    expect(terminal.screen()).toEqual([
      "✔ demo: 2/2 tasks done · 12.0 s · 5.0 GETs/task",
      "  ✔ hero ████████████████████████ 2/2",
    ]);
    expect(terminal.raw).toContain("\u001b[32m✔\u001b[39m demo");
  });

  it("shows one row per pair, each with its bar and counts, while the run goes on", async () => {
    const terminal = new FakeTerminal(80);
    const pairs = Array.from({ length: 10 }, (_, i) =>
      pair(`pair-${i}`, { succeeded: i, running: 1, queued: 9 - i }),
    );
    const reporter = createProgressReporter({ stream: terminal, mode: "live", animate: false });
    reporter.handle(started(100));
    reporter.handle({ kind: "snapshot", snapshot: snapshotOf(pairs) });
    // The view is drawn on events; wait until the rows are on screen.
    while (!terminal.screen().some((line) => line.includes("pair-9"))) await new Promise(setImmediate);
    const screen = terminal.screen();
    expect(screen[0]).toBe("❯ demo: 45/100 tasks done · 10 running · 45 queued · 12.0 s · ETA 35 s");
    expect(screen.slice(1)).toEqual([
      "  ❯ pair-0 ░░░░░░░░░░░░░░░░░░░░░░░░ 0/10 · 1 running · 9 queued",
      "  ❯ pair-1 ██░░░░░░░░░░░░░░░░░░░░░░ 1/10 · 1 running · 8 queued",
      "  ❯ pair-2 █████░░░░░░░░░░░░░░░░░░░ 2/10 · 1 running · 7 queued",
      "  ❯ pair-3 ███████░░░░░░░░░░░░░░░░░ 3/10 · 1 running · 6 queued",
      "  ❯ pair-4 ██████████░░░░░░░░░░░░░░ 4/10 · 1 running · 5 queued",
      "  ❯ pair-5 ████████████░░░░░░░░░░░░ 5/10 · 1 running · 4 queued",
      "  ❯ pair-6 ██████████████░░░░░░░░░░ 6/10 · 1 running · 3 queued",
      "  ❯ pair-7 █████████████████░░░░░░░ 7/10 · 1 running · 2 queued",
      "  ❯ pair-8 ███████████████████░░░░░ 8/10 · 1 running · 1 queued",
      "  ❯ pair-9 ██████████████████████░░ 9/10 · 1 running",
    ]);
    reporter.handle({ kind: "run-finished", job: "demo", exitCode: 130 });
    await reporter.close();
  });

  it("keeps every line within 80 columns, the summary after the view included (wrapped at words)", async () => {
    const terminal = new FakeTerminal(80);
    const longPair = "a-pair-whose-name-is-much-longer-than-any-column-should-be";
    const reporter = await liveRun(terminal, [
      {
        kind: "note",
        message: "cost: US$4.80 for 12 tasks at US$0.40 per task (cometapi); simulated: nothing is charged",
      },
      started(12),
      {
        kind: "snapshot",
        snapshot: snapshotOf(
          [pair(longPair, { succeeded: 1, failed: 1, running: 2, downloading: 1, queued: 7 })],
          {
            elapsedMs: 3_723_000,
            etaMs: 7_384_000,
          },
        ),
      },
      {
        kind: "task-finished",
        task: { ...task, pair: longPair },
        taskId: "t-1",
        attempt: 1,
        status: "FAILED",
        error: {
          code: "SAFETY.INPUT.IMAGE",
          message: "the character image was flagged by moderation",
          retryable: false,
        },
        retrying: false,
      },
      { kind: "run-finished", job: "demo", exitCode: 1 },
    ]);
    // The summary's lines as formatRunSummary gives them: a failed task's line is long.
    const failed = {
      key: "0123456789abcdef",
      pair: "hero-dance",
      params: { expressionIntensity: 3, seed: 7, bodyControl: false, ratio: "1280:720" },
    };
    const summary = [
      "demo: 12 tasks: 11 succeeded, 1 failed, 0 pending, in 1 min 2 s",
      "failed (1):",
      `  ${describeTask(failed)}: SAFETY.INPUT.IMAGE: the character image was flagged`,
      "manifest: /tmp/out/manifest.json",
    ];
    const failedLine = summary.find((line) => line.includes("SAFETY.INPUT.IMAGE")) ?? "";
    expect(failedLine.length).toBeGreaterThan(100);
    reporter.summary(summary, 1);
    expect(terminal.overflows).toEqual([]);
    const screen = terminal.screen();
    expect(screen.every((line) => line.length <= 80)).toBe(true);
    // The failed task's line goes on, indented, at a word boundary.
    const at = screen.findIndex((line) => line.startsWith("  hero-dance expressionIntensity=3"));
    expect(screen[at]?.endsWith(" ")).toBe(false);
    expect(screen[at + 1]).toMatch(/^ {4}\S/);
    expect(`${screen[at]} ${screen[at + 1]?.trim()}`.replace(/ +/g, " ")).toContain(
      "[0123456789abcdef]: SAFETY.INPUT.IMAGE",
    );
  });

  it("draws no colour under NO_COLOR", async () => {
    const terminal = new FakeTerminal(80);
    expect(useColor(terminal, { NO_COLOR: "1" })).toBe(false);
    expect(useColor(terminal, {})).toBe(true);
    await liveRun(
      terminal,
      [
        started(2),
        { kind: "snapshot", snapshot: snapshotOf([pair("hero", { succeeded: 1, failed: 1 })]) },
        { kind: "run-finished", job: "demo", exitCode: 1 },
      ],
      { color: useColor(terminal, { NO_COLOR: "1" }) },
    );
    expect(terminal.hasColour()).toBe(false);
    expect(terminal.screen()[0]).toMatch(/^✖ demo: failed: /);
  });
});

describe("choosing the progress", () => {
  it("is live on a terminal, plain in CI, off a terminal or under TERM=dumb, and as --progress says", () => {
    const terminal = new FakeTerminal(80);
    const file = Object.assign(new FakeTerminal(80), { isTTY: false });
    expect(chooseProgressMode(terminal, {})).toBe("live");
    expect(chooseProgressMode(terminal, { CI: "true" })).toBe("plain");
    expect(chooseProgressMode(terminal, { TERM: "dumb" })).toBe("plain");
    expect(chooseProgressMode(file, {})).toBe("plain");
    expect(chooseProgressMode(terminal, {}, "plain")).toBe("plain");
    expect(chooseProgressMode(file, { CI: "true" }, "live")).toBe("live");
    expect(chooseProgressMode(terminal, {}, "none")).toBe("silent");
    expect(useColor(terminal, { TERM: "dumb" })).toBe(false);
  });

  it("quiet: no progress at all, and the summary only for a run that did not succeed", async () => {
    const terminal = new FakeTerminal(80);
    const reporter = createProgressReporter({ stream: terminal, mode: "live", quiet: true });
    reporter.handle(started(1));
    reporter.handle({ kind: "note", message: "cost: US$0.40" });
    await reporter.close();
    reporter.summary(["demo: 1 task: 1 succeeded"], 0);
    expect(terminal.raw).toBe("");
    reporter.summary(["demo: 1 task: 0 succeeded, 1 failed"], 1);
    expect(terminal.screen()).toEqual(["demo: 1 task: 0 succeeded, 1 failed"]);
  });
});

describe("the counts", () => {
  it("never say ETA 0 ms: no time left is no ETA, and time left is whole seconds", () => {
    const s = snapshotOf([pair("hero", { succeeded: 1, downloading: 1 })], { etaMs: 0 });
    expect(formatSnapshot(s)).not.toContain("ETA");
    expect(jobTitle("demo", s, 76)).not.toContain("ETA");
    expect(formatEta(0)).toBeNull();
    expect(formatEta(400)).toBe("1 s");
    expect(formatEta(95_000)).toBe("1 min 35 s");
    expect(formatEta(120_000)).toBe("2 min");
  });

  it("say one task as one task", () => {
    const s = snapshotOf([pair("hero", { running: 1 })]);
    expect(jobTitle("demo", s, 76)).toContain("0/1 task done");
    const line = createPlainLine({
      ...(started(1) as Extract<RunEvent, { kind: "run-started" }>),
      ambiguousResubmits: 1,
    });
    expect(line).toContain("started: 1 task, 1 to submit");
    expect(line).toContain("1 ambiguous create will be submitted again");
  });

  it("fit a pair's row to its room: the bar shrinks, then goes, before a count is dropped", () => {
    const row = pair("hero-dance", { succeeded: 3, failed: 1, running: 2 });
    expect(pairRow(row, 74, 10)).toBe("hero-dance ████████████████░░░░░░░░ 3/6 · 1 failed · 2 running");
    expect(pairRow(row, 50, 10)).toBe("hero-dance ████████░░░░ 3/6 · 1 failed · 2 running");
    expect(pairRow(row, 40, 10)).toBe("hero-dance 3/6 · 1 failed · 2 running");
    expect(pairRow(row, 30, 10)).toBe("hero-dance 3/6 · 1 failed");
  });
});

/** The plain line of an event, as a log shows it. */
function createPlainLine(event: RunEvent): string {
  const log = new FakeTerminal(200);
  const reporter = createProgressReporter({ stream: log, mode: "plain", clock: () => 0 });
  reporter.handle(event);
  // An interrupt is written at once (a forced exit may follow).
  reporter.handle({ kind: "interrupted", signal: "SIGINT", cancelling: false });
  return log.screen().join("\n");
}

describe("the engine's snapshot", () => {
  it("counts each pair's tasks by phase, pairs in the order of their first task", () => {
    const tracked = [
      { task: { pair: "hero" }, phase: "succeeded" as const },
      { task: { pair: "robot" }, phase: "running" as const },
      { task: { pair: "hero" }, phase: "failed" as const },
    ];
    const s = engineSnapshot({
      job: "demo",
      elapsedMs: 1_000,
      phases: tracked,
      requests: { create: 0, get: 0, cancel: 0, download: 0, retries: 0 },
      polledTasks: 0,
      taskGets: 0,
      meanRenderMs: null,
      slots: 4,
      stopped: false,
    });
    expect(s.pairs).toEqual([pair("hero", { succeeded: 1, failed: 1 }), pair("robot", { running: 1 })]);
    expect(s.phases).toEqual({ ...noPhases, succeeded: 1, failed: 1, running: 1 });
  });
});

describe("fitting lines to a terminal", () => {
  it("wraps at spaces, indents the continuation past the line's own indent, and cuts only a word too long for any line", () => {
    expect(fitLines(["short"], 20)).toEqual(["short"]);
    expect(fitLines(["  hero seed=1 [abc]: ASSET.INVALID: the asset is bad"], 24)).toEqual([
      "  hero seed=1 [abc]:",
      "    ASSET.INVALID: the",
      "    asset is bad",
    ]);
    expect(fitLines(["manifest: /a/very/long/path/that/has/no/spaces/at/all.json"], 24)).toEqual([
      "manifest:",
      "  /a/very/long/path/that",
      "  /has/no/spaces/at/all.",
      "  json",
    ]);
    for (const line of fitLines(["x ".repeat(200)], 30)) expect(line.length).toBeLessThanOrEqual(30);
  });
});
