// `actbatch run` on a terminal, in-process against the simulator: what --progress, --quiet,
// TERM=dumb and NO_COLOR make of stderr.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { FakeTerminal } from "../helpers/fake-terminal.js";

let dir: string;
let job: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "actbatch-progress-"));
  job = join(dir, "job.yaml");
  await writeFile(
    job,
    [
      "version: 1",
      "name: progress",
      "assets:",
      '  hero: { type: image, uri: "https://assets.example.com/hero.png" }',
      '  take: { type: video, uri: "https://assets.example.com/take.mp4" }',
      "pairs:",
      "  - { id: hero-take, character: hero, reference: take }",
      "sweep:",
      "  seed: [1, 2]",
      "",
    ].join("\n"),
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let runs = 0;

/** Runs the job to its end with stderr on an 80-column terminal. */
async function run(flags: string[], env: NodeJS.ProcessEnv = {}) {
  const stderr = new FakeTerminal(80);
  const stdout = new PassThrough();
  const out = join(dir, `out-${++runs}`);
  const code = await main(["run", job, "--simulate", "--out", out, ...flags], {
    stdout,
    stderr,
    // The simulator's renders take 1/1000 of their time, and the engine's clock keeps pace.
    env: { ACTBATCH_TIME_SCALE: "1000", ...env },
    cwd: dir,
  });
  return { code, stderr };
}

/** A live view redraws in place (synchronized output, cursor movement). */
const LIVE = "\u001b[?2026h";

describe("run's progress on a terminal", () => {
  it("is the live view by default, ✔ at the end, then the summary", async () => {
    const { code, stderr } = await run([]);
    expect(code).toBe(0);
    expect(stderr.raw).toContain(LIVE);
    const screen = stderr.screen();
    expect(screen).toContainEqual(expect.stringMatching(/^✔ progress: 2\/2 tasks done · /));
    expect(screen).toContainEqual(expect.stringMatching(/^ {2}✔ hero-take █+ 2\/2$/));
    const jobLine = screen.findIndex((line) => line.startsWith("✔ progress:"));
    const summary = screen.findIndex((line) => line.startsWith("progress: 2 tasks: 2 succeeded, 0 failed"));
    expect(jobLine).toBeGreaterThanOrEqual(0);
    expect(summary).toBeGreaterThan(jobLine);
    expect(stderr.overflows).toEqual([]);
    expect(stderr.hasColour()).toBe(true);
  });

  it("has no colour under NO_COLOR", async () => {
    const { stderr } = await run([], { NO_COLOR: "1" });
    expect(stderr.raw).toContain(LIVE);
    expect(stderr.hasColour()).toBe(false);
  });

  it("is timestamped lines under TERM=dumb, or with --progress plain", async () => {
    for (const [flags, env] of [
      [[], { TERM: "dumb" }],
      [["--progress", "plain"], {}],
    ] as const) {
      const { code, stderr } = await run([...flags], env);
      expect(code).toBe(0);
      expect(stderr.raw).not.toContain(LIVE);
      expect(stderr.screen()).toContainEqual(
        expect.stringMatching(/^\d\d:\d\d:\d\d started: 2 tasks, 2 to submit; /),
      );
      expect(stderr.overflows).toEqual([]);
    }
  });

  it("says the cost is simulated and nothing is charged under --simulate", async () => {
    const { stderr } = await run(["--progress", "plain"]);
    // Lines wrapped to the terminal, joined again.
    const lines = stderr.screen().join("\n").replaceAll("\n  ", " ").split("\n");
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^\d\d:\d\d:\d\d cost: US\$0\.80 for 2 tasks at US\$0\.40 per task \(cometapi\); simulated: nothing is charged$/,
      ),
    );
  });

  it("is nothing but the summary with --progress none", async () => {
    const { code, stderr } = await run(["--progress", "none"]);
    expect(code).toBe(0);
    expect(stderr.raw).not.toContain(LIVE);
    expect(stderr.screen()[0]).toMatch(/^progress: 2 tasks: 2 succeeded, 0 failed, 0 pending, in /);
  });

  it("is nothing at all with --quiet when every task succeeded", async () => {
    const { code, stderr } = await run(["--quiet"]);
    expect(code).toBe(0);
    expect(stderr.raw).toBe("");
  });

  it("refuses an unknown --progress, and --progress with --quiet", async () => {
    const bad = await run(["--progress", "fancy"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.screen()[0]).toBe('actbatch: --progress expects live, plain, none, got "fancy"');
    const both = await run(["--quiet", "--progress", "plain"]);
    expect(both.code).toBe(2);
    expect(both.stderr.screen()[0]).toBe(
      "actbatch: --quiet already turns progress off: give --quiet or --progress",
    );
  });
});
