// A service that answers two different creates with the same task id: the second key must not take
// the first key's task (its file would be the other render, with no warning). It fails with
// DUPLICATE_TASK_ID, counts as possibly paid, and is held on a rerun unless --retry-failed.
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DUPLICATE_TASK_ID } from "../../src/manifest/codes.js";
import { createWorkspace, jobYaml, type Workspace } from "../e2e/harness.js";
import { sendJson, startScriptedServer, type ScriptedServer } from "../helpers/scripted-server.js";

let ws: Workspace | undefined;
let server: ScriptedServer | undefined;
afterEach(async () => {
  await server?.close();
  await ws?.close();
  ws = server = undefined;
});

const RENDER = Buffer.from("the one render the service made");

/** Every create answers task id "same"; the task has succeeded, and its output is served here. */
async function oneIdService(): Promise<ScriptedServer> {
  const started = await startScriptedServer((request, response) => {
    if (request.method === "POST") return sendJson(response, 200, { id: "same" });
    if (request.url.startsWith("/v1/tasks/"))
      return sendJson(response, 200, {
        id: "same",
        status: "SUCCEEDED",
        createdAt: "2026-12-06T00:00:00Z",
        output: [`${started.origin}/files/same.mp4`],
      });
    response.writeHead(200, { "content-type": "video/mp4", "content-length": RENDER.length });
    response.end(RENDER);
  });
  return started;
}

describe("two creates answered with one task id", () => {
  it("the second key does not take the first key's task: FAILED DUPLICATE_TASK_ID, possibly paid, held on a rerun", async () => {
    ws = await createWorkspace(jobYaml({ pairs: 1, intensities: [1, 2], concurrency: 1 }));
    server = await oneIdService();
    const options = { baseUrl: server.origin, preflight: false, outputChecks: false, timeScale: 600 };
    const result = await ws.run(options);

    expect(result.exitCode).toBe(1);
    const [first, second] = result.manifest.tasks;
    expect(first).toMatchObject({ taskId: "same", status: "SUCCEEDED" });
    expect(await readFile(join(ws.outDir, first?.outputs[0]?.file ?? "?"))).toEqual(RENDER);
    expect(second).toMatchObject({
      taskId: null,
      status: "FAILED",
      attempts: 1,
      outputs: [],
      error: { code: DUPLICATE_TASK_ID, retryable: false },
    });
    expect(second?.error?.message).toContain(
      `task id same, which is already the task of pair0 [${first?.key}]`,
    );
    // Only one key ever names the id, so a cancel or a fetch-again can never reach the other's task.
    expect(result.manifest.tasks.filter((task) => task.taskId === "same")).toHaveLength(1);
    const failed = ws.events.find((event) => event.kind === "task-finished" && event.status === "FAILED");
    expect(failed).toMatchObject({ error: { code: DUPLICATE_TASK_ID } });

    // A plain rerun creates nothing: a failure that may have been paid is held, like a FAILED task.
    const creates = (): number => server?.requests.filter((r) => r.method === "POST").length ?? 0;
    const before = creates();
    const rerun = await ws.run(options);
    expect(creates()).toBe(before);
    expect(rerun.manifest.tasks[1]).toMatchObject({ status: "FAILED", error: { code: DUPLICATE_TASK_ID } });

    // --retry-failed sends it again (and the same answer is refused again), now possibly charged twice.
    const retried = await ws.run({ ...options, retryFailed: true });
    expect(creates()).toBe(before + 1);
    expect(retried.manifest.tasks[1]).toMatchObject({
      status: "FAILED",
      attempts: 2,
      possiblyChargedTwice: true,
      error: { code: DUPLICATE_TASK_ID },
    });
  });

  it("a manifest that names one task id for two keys adopts it for the first only, and says so", async () => {
    ws = await createWorkspace(jobYaml({ pairs: 1, intensities: [1, 2], concurrency: 2 }));
    expect((await ws.run()).exitCode).toBe(0);
    // A folder that travelled without its journal, its manifest edited by hand (or merged wrongly).
    await rm(join(ws.outDir, ".actbatch"), { recursive: true });
    const path = join(ws.outDir, "manifest.json");
    const manifest = JSON.parse(await readFile(path, "utf8")) as { tasks: { key: string; taskId: string }[] };
    const [first, second] = manifest.tasks;
    if (!first || !second) throw new Error("two tasks expected");
    second.taskId = first.taskId;
    await writeFile(path, JSON.stringify(manifest, null, 2));

    const rerun = await ws.run();
    const notes = ws.events.flatMap((event) => (event.kind === "note" ? [event.message] : []));
    expect(notes).toContain(
      `manifest.json: task ${second.key} (pair0) is ignored: its task id ${first.taskId} is already the task of ${first.key}`,
    );
    // Rendered again under a task id of its own; no two keys share one.
    const ids = rerun.manifest.tasks.map((task) => task.taskId);
    expect(new Set(ids).size).toBe(2);
    expect(rerun.manifest.tasks[0]?.taskId).toBe(first.taskId);
    expect(rerun.exitCode).toBe(0);
  });
});
