// A service whose task GETs never give a valid answer (an unknown status, a body that is not JSON):
// each task is left in flight and resumable, and the run says why at once, in the summary and in the
// manifest, instead of "still in flight" with no reason. Over real sockets, against a scripted server.
import { afterEach, describe, expect, it } from "vitest";
import { NO_VALID_ANSWER } from "../../src/manifest/codes.js";
import { formatRunSummary } from "../../src/report/run-summary-text.js";
import type { RunEventOf } from "../../src/run/events.js";
import { createWorkspace, jobYaml, type Workspace } from "../e2e/harness.js";
import { sendJson, startScriptedServer, type ScriptedServer } from "../helpers/scripted-server.js";

let ws: Workspace | undefined;
let server: ScriptedServer | undefined;
afterEach(async () => {
  await server?.close();
  await ws?.close();
  ws = server = undefined;
});

/** Creates answer task-1, task-2...; GETs of task-1 answer an unknown status, of task-2 a body that is not JSON. */
async function hostileService(): Promise<ScriptedServer> {
  let created = 0;
  return startScriptedServer((request, response) => {
    if (request.method === "POST") return sendJson(response, 200, { id: `task-${++created}` });
    if (request.url.endsWith("/task-1"))
      return sendJson(response, 200, { id: "task-1", status: "EXPLODED", createdAt: "2026-12-06T00:00:00Z" });
    response.writeHead(200, { "content-type": "application/json" });
    response.end("<html>upstream error</html>");
  });
}

describe("task GETs that never give a valid answer", () => {
  it("leave the tasks in flight with the reason in the progress, the summary and the manifest", async () => {
    ws = await createWorkspace(jobYaml({ pairs: 1, intensities: [1, 2], concurrency: 2 }));
    server = await hostileService();
    const result = await ws.run({ baseUrl: server.origin, preflight: false, timeScale: 600 });

    // Paid tasks in flight: not a success (exit 1), resumable, never submitted again in the run.
    expect(result.exitCode).toBe(1);
    expect(server.requests.filter((r) => r.method === "POST")).toHaveLength(2);
    const byId = new Map(result.manifest.tasks.map((task) => [task.taskId, task]));
    expect(byId.get("task-1")).toMatchObject({
      status: "PENDING",
      error: { code: NO_VALID_ANSWER, retryable: true },
    });
    // Left after 30 GETs or 10 (scaled) minutes, whichever comes first: the message says which, and why.
    expect(byId.get("task-1")?.error?.message).toMatch(/^no valid answer in \d+ GETs? over .*EXPLODED/);
    expect(byId.get("task-2")?.error?.message).toMatch(/the task answer is not JSON$/);

    // Said once per reason while polling, and once more when polling leaves the task.
    const unanswered = ws.events.filter(
      (event): event is RunEventOf<"task-unanswered"> => event.kind === "task-unanswered",
    );
    expect(unanswered.map((e) => [e.taskId, e.leftInFlight]).toSorted()).toEqual([
      ["task-1", false],
      ["task-1", true],
      ["task-2", false],
      ["task-2", true],
    ]);

    const summary = formatRunSummary(result.summary).join("\n");
    expect(summary).toContain("2 tasks are still in flight and resumable");
    expect(summary).toMatch(/NO_VALID_ANSWER: no valid answer in \d+ GETs? .*EXPLODED/);
  });

  it("a rerun against a healthy answer collects them, and the reason leaves the manifest", async () => {
    ws = await createWorkspace(jobYaml({ pairs: 1, intensities: [1], concurrency: 1 }));
    server = await hostileService();
    const first = await ws.run({ baseUrl: server.origin, preflight: false, timeScale: 600 });
    expect(first.manifest.tasks[0]?.error?.code).toBe(NO_VALID_ANSWER);
    await server.close();
    // The same task now answers RUNNING, then stays so: the run is stopped by the test once it was seen.
    let gets = 0;
    server = await startScriptedServer((_request, response) => {
      gets++;
      sendJson(response, 200, {
        id: "task-1",
        status: "RUNNING",
        progress: 0.4,
        createdAt: "2026-12-06T00:00:00Z",
      });
    });
    const stop = new AbortController();
    const second = await ws.run({
      baseUrl: server.origin,
      preflight: false,
      timeScale: 600,
      signal: stop.signal,
      onEvent: (event) => {
        if (event.kind === "task-state") stop.abort();
      },
    });
    expect(gets).toBeGreaterThan(0);
    expect(second.manifest.tasks[0]).toMatchObject({ taskId: "task-1", status: "RUNNING", error: null });
  });
});
