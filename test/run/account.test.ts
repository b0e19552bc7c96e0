// Provider runway: the account (GET /v1/organization) is read before the first create; its tier
// sizes a concurrency nobody chose, and a job that cannot finish today is said so before it starts.
import { afterEach, describe, expect, it } from "vitest";
import { CANARY_KEY, createWorkspace, jobYaml, type Workspace } from "../e2e/harness.js";

let ws: Workspace | undefined;
afterEach(async () => {
  await ws?.close();
  ws = undefined;
});

/** jobYaml's job without its concurrency line: the job leaves it to actbatch. */
const withoutConcurrency = (yaml: string): string =>
  yaml
    .split("\n")
    .filter((line) => !line.startsWith("concurrency:"))
    .join("\n");

function notes(workspace: Workspace): string[] {
  return workspace.events.flatMap((event) => (event.kind === "note" ? [event.message] : []));
}

/** runJob options for provider runway against the workspace's simulator. */
const runway = (workspace: Workspace) => ({
  provider: "runway" as const,
  baseUrl: workspace.sim.origin,
  env: { RUNWAYML_API_SECRET: CANARY_KEY },
});

describe("the Runway account before a run", () => {
  it("sizes an unset concurrency to the tier, and says what the account has", async () => {
    ws = await createWorkspace(withoutConcurrency(jobYaml({ pairs: 2, intensities: [1, 2, 3, 4] })), {
      concurrency: 3,
      credits: 100_000,
    });
    const result = await ws.run(runway(ws));
    expect(result.exitCode).toBe(0);
    expect(notes(ws)).toContain("concurrency 3: the account's limit for act_two");
    expect(notes(ws).some((note) => note.startsWith("account: 100,000 credits; act_two: 3 at once"))).toBe(
      true,
    );
    // Never more tasks at the service than the tier runs: none waited THROTTLED.
    expect(ws.sim.stats().peakActive).toBeLessThanOrEqual(3);
    expect(ws.sim.stats().requests["GET /v1/organization"]).toBeDefined();

    // A rerun with nothing to submit asks the account nothing.
    const before = ws.sim.stats().requests["GET /v1/organization"];
    expect((await ws.run(runway(ws))).exitCode).toBe(0);
    expect(ws.sim.stats().requests["GET /v1/organization"]).toEqual(before);
  });

  it("keeps a concurrency the job sets, warning when it is above the tier", async () => {
    ws = await createWorkspace(jobYaml({ pairs: 1, intensities: [1, 2, 3, 4], concurrency: 4 }), {
      concurrency: 2,
    });
    expect((await ws.run(runway(ws))).exitCode).toBe(0);
    expect(notes(ws)).toContain(
      "concurrency 4 is above the account's limit of 2 for act_two: the extra tasks wait THROTTLED at the service",
    );
    // Not sized down: more tasks at the service than the tier runs at once.
    expect(ws.sim.stats().peakActive).toBeGreaterThan(2);
  });

  it("warns before the first create when the job cannot finish today", async () => {
    ws = await createWorkspace(jobYaml({ pairs: 1, intensities: [1, 2, 3, 4] }), { dailyLimit: 2 });
    const result = await ws.run(runway(ws));
    const warning = notes(ws).find((note) => note.includes("cannot finish today"));
    expect(warning).toContain("4 tasks to submit, 2 of the account's 2 daily generations left");
    // The daily limit then stops submission, and the rest stays resumable.
    expect(result.exitCode).toBe(3);
    expect(ws.sim.stats().creates).toBe(2);
  });
});
