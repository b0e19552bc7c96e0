// Property 15: the key never leaks. A fresh canary key (sk-canary-<hex>) is the only key the simulator
// accepts; the proxy in front of it echoes the Authorization header back in error bodies and headers
// in every form a careless server might (the header line, inside JSON, base64, URL-encoded, a
// 20-character prefix), on creates and polls, with retryable, final and account-stopping statuses.
// The job is rerun until it completes; then stdout, stderr, the journal, the manifest, the output
// files and every temporary file are searched for the key, its encodings and its last 8 characters.
// Output URLs live on another origin (the simulator's own port): they must never get the header.
// Every other reliability scenario runs the same search over its own runs (see Scenario.check).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readManifest } from "../../src/manifest/manifest.js";
import type { EchoMode } from "./harness/host-protocol.js";
import { figures, replayHint, seedFor } from "./harness/mode.js";
import { describeOutcome } from "./harness/runner.js";
import { createScenario, type Scenario } from "./harness/workspace.js";
import { formatViolations, secretForms } from "./invariants.js";

// Ordered so that each one meets work still to do: the account stop first (nothing gets created), then
// final refusals of some creates (recorded in the manifest), then retryable echoes while tasks run.
const ECHOES: { label: string; mode: EchoMode }[] = [
  {
    label: "401 on creates (an account stop), 20-character prefix",
    mode: { routes: ["create"], every: 1, status: 401, form: "prefix" },
  },
  {
    label: "400 on creates (a final refusal, recorded in the manifest), URL-encoded",
    mode: { routes: ["create"], every: 4, status: 400, form: "url" },
  },
  {
    label: "503 on creates and polls, header line",
    mode: { routes: ["create", "get"], every: 3, status: 503, form: "header" },
  },
  {
    label: "429 on creates and polls, inside JSON",
    mode: { routes: ["create", "get"], every: 2, status: 429, form: "json" },
  },
  { label: "500 on polls, base64", mode: { routes: ["get"], every: 2, status: 500, form: "base64" } },
  { label: "403 on polls, header line", mode: { routes: ["get"], every: 5, status: 403, form: "header" } },
];

describe("the key never leaks", () => {
  const seed = seedFor("secrets");
  let scenario: Scenario;

  beforeAll(async () => {
    scenario = await createScenario({
      job: { pairs: 1, seeds: 4, intensities: 3 },
      speed: 100,
      concurrency: 6,
      host: { sim: { seed, outputBytes: 32 * 1024, concurrency: 6, faults: "fail=0.2" } },
    });
  });
  afterAll(async () => {
    await scenario?.close();
  });

  it("in any output, file, manifest, journal or message, whatever the server echoes; and never to the output host", async () => {
    const log: string[] = [];
    for (const { label, mode } of ECHOES) {
      await scenario.sim.setEcho(mode);
      const outcome = await scenario.run();
      log.push(`${label}: ${describeOutcome(outcome)}`);
    }
    await scenario.sim.setEcho(null);
    for (let rerun = 0; rerun < 6; rerun++) {
      const outcome = await scenario.run();
      log.push(`clean rerun: ${describeOutcome(outcome)}`);
      if ((await readManifest(scenario.outDir)).summary.pending === 0 && outcome.code !== 3) break;
    }
    // The key typed as a flag by mistake: refused, and not repeated back.
    const flag = await scenario.run({ args: ["run", "job.yaml", `--api-key=${scenario.key}`] });
    log.push(`--api-key=<key>: ${describeOutcome(flag)}`);
    const context = `${log.join("\n")}\nseed ${seed}; ${replayHint("secrets.test.ts")}`;
    expect(flag.code).toBe(2);

    const echoed = (await scenario.sim.proxyLog()).filter((record) => record.status.endsWith("-echo")).length;
    expect(echoed).toBeGreaterThan(10);
    expect(formatViolations(await scenario.check()), `${context}`).toBe("");

    // Downloads go to the simulator's own origin, not the API's: no Authorization header there.
    const downloads = (await scenario.sim.simLog()).filter((record) =>
      record.route.endsWith("/media/:id.mp4"),
    );
    expect(downloads.length).toBeGreaterThan(0);
    expect(downloads.filter((record) => record.authorized).length).toBe(0);

    // The echoes did reach the runner's messages, and were cut there (the search above would catch a miss).
    const redacted = scenario.runs.reduce((sum, run) => sum + run.stderr.split("[REDACTED]").length - 1, 0);
    expect(redacted).toBeGreaterThan(0);

    const manifest = await readManifest(scenario.outDir);
    const forms = secretForms(scenario.key);
    const bytes = scenario.runs.reduce((sum, run) => sum + run.stdout.length + run.stderr.length, 0);
    figures(
      "property 15 (the key never leaks)",
      `${echoed} answers echoing the key (${ECHOES.map((echo) => `${echo.mode.status} ${echo.mode.form}`).join(", ")}) over ${scenario.runs.length} runs; ${bytes} bytes of stdout/stderr, the journal, the manifest (${manifest.tasks.length} tasks) and every file of the output folder searched for the key (${forms.map((form) => form.label).join(", ")}): 0 hits, ${redacted} echoes cut to [REDACTED] in the messages; ${downloads.length} output downloads on another origin, 0 with an Authorization header`,
    );
  }, 120_000);
});
