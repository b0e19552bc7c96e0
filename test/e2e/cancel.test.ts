// The promised cancel, reachable by a person: a first Ctrl-C on a `--simulate` run says what is still
// rendering and how to resume or cancel; `actbatch cancel OUT --simulate` cancels exactly those tasks
// at the API (in the simulator the run left in the folder), records it, and is safe to run twice; a
// cancelled task stays cancelled on a plain rerun and is submitted again only with --retry-failed.
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { binPath, runCli } from "../helpers/cli.js";

const ENV = { CI: "true", NO_COLOR: "1", ACTBATCH_TIME_SCALE: "20" };
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "actbatch-cancel-"));
  // Four tasks, all in flight at once: enough to interrupt mid-render, few enough to finish quickly.
  await writeFile(
    join(dir, "demo.yaml"),
    [
      "version: 1",
      "name: cancel",
      "concurrency: 4",
      "assets:",
      '  hero: { type: image, uri: "https://assets.example.com/hero.png" }',
      '  dance: { type: video, uri: "https://assets.example.com/dance-take1.mp4" }',
      "pairs:",
      "  - { id: hero-dance, character: hero, reference: dance }",
      "sweep:",
      "  expressionIntensity: [1, 3]",
      "  seed: [7, 42]",
      "",
    ].join("\n"),
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs the demo and sends SIGINT once its first task is submitted (an awaited line, not a delay). */
function runAndInterrupt(): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [binPath, "run", "demo.yaml", "--simulate", "--out", "out"], {
      cwd: dir,
      env: { ...process.env, ...ENV },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    let sent = false;
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
      if (!sent && / submitted /.test(stderr)) {
        sent = true;
        child.kill("SIGINT");
      }
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

describe("actbatch cancel", () => {
  it("cancels what a stopped run left in flight, once, and a rerun leaves it cancelled", async () => {
    const stopped = await runAndInterrupt();
    expect(stopped.code).toBe(130);
    const rendering = /^(\d+) tasks? (?:is|are) still rendering at the service \(and paid for\)/m.exec(
      stopped.stderr,
    );
    expect({ rendering: rendering?.[1], stderr: stopped.stderr }).toMatchObject({
      rendering: expect.any(String),
    });
    expect(stopped.stderr).toContain("to collect them later: actbatch run demo.yaml --out out --simulate");
    expect(stopped.stderr).toContain(
      "to cancel them at the API: press Ctrl-C again now, or later: actbatch cancel out --simulate",
    );
    expect(stopped.stderr).toMatch(/^to resume: actbatch run demo\.yaml --out \S+ --simulate$/m);

    const inFlight = JSON.parse(await readFile(join(dir, "out", "manifest.json"), "utf8")).tasks.filter(
      (task: { status: string }) => ["PENDING", "RUNNING", "THROTTLED"].includes(task.status),
    ).length as number;
    expect(inFlight).toBeGreaterThan(0);

    // Without --simulate it refuses, saying why, and sends nothing.
    const refused = await runCli(["cancel", "out"], { cwd: dir, env: ENV });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("was run with --simulate");

    const cancelled = await runCli(["cancel", "out", "--simulate"], { cwd: dir, env: ENV });
    expect(cancelled).toMatchObject({ code: 0 });
    expect(cancelled.stderr).toContain(
      `${inFlight} of ${inFlight} tasks in flight cancelled; manifest.json updated`,
    );
    expect(cancelled.stderr.match(/^cancelled /gm)).toHaveLength(inFlight);
    const manifest = JSON.parse(await readFile(join(dir, "out", "manifest.json"), "utf8")) as {
      tasks: { status: string }[];
    };
    expect(manifest.tasks.filter((task) => task.status === "CANCELLED")).toHaveLength(inFlight);

    const again = await runCli(["cancel", "out", "--simulate"], { cwd: dir, env: ENV });
    expect(again.code).toBe(0);
    expect(again.stderr).toContain("nothing to cancel: out records no task in flight");

    // A plain rerun submits the rest and leaves the cancelled ones: a failure, said with the way back.
    const rerun = await runCli(["run", "demo.yaml", "--simulate", "--out", "out"], { cwd: dir, env: ENV });
    expect(rerun.code).toBe(1);
    expect(rerun.stderr).toContain(
      `cancelled (${inFlight}): a rerun leaves them cancelled; rerun with --retry-failed`,
    );
    const retried = await runCli(["run", "demo.yaml", "--simulate", "--out", "out", "--retry-failed"], {
      cwd: dir,
      env: ENV,
    });
    expect(retried).toMatchObject({ code: 0 });
    // Six CLI processes, two of which render: a long story, not a slow step.
  }, 120_000);
});
