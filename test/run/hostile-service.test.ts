// A broken or hostile service, one behaviour at a time, played by scripted servers on loopback (API
// and file host) against runJob: what the user sees in the manifest, the summary and the exit code.
import type { ServerResponse } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { formatRunSummary } from "../../src/report/run-summary-text.js";
import {
  HOSTILE_KEY,
  hostileRun,
  startHostileService,
  type HostileRun,
  type HostileService,
} from "../helpers/hostile-service.js";

const MB = 1024 * 1024;
let service: HostileService | null = null;
let ws: HostileRun | null = null;
afterEach(async () => {
  await service?.close();
  await ws?.close();
  service = null;
  ws = null;
});

/** A file of `bytes` bytes, sent without Content-Length (chunked). */
function sendUnannounced(res: ServerResponse, bytes: number): void {
  res.writeHead(200, { "content-type": "video/mp4" });
  const chunk = Buffer.alloc(64 * 1024, 7);
  let left = bytes;
  const pump = (): void => {
    while (left > 0 && !res.destroyed) {
      const part = chunk.subarray(0, Math.min(chunk.length, left));
      left -= part.length;
      if (left === 0) return void res.end(part);
      if (!res.write(part)) return void res.once("drain", pump);
    }
  };
  pump();
}

describe("a hostile service: output size", () => {
  it("an output without Content-Length past --max-output-mb fails its task OUTPUT_TOO_LARGE naming the limit, keeps nothing and is not retried; a rerun with a higher limit downloads it from the task", async () => {
    service = await startHostileService({ file: (_req, res) => sendUnannounced(res, 3 * MB) });
    ws = await hostileRun(service);
    const first = await ws.run({ maxOutputMb: 1 });
    expect(first.exitCode).toBe(1);
    expect(first.manifestOnDisk.tasks.map((task) => [task.status, task.error?.code])).toEqual([
      ["FAILED", "OUTPUT_TOO_LARGE"],
      ["FAILED", "OUTPUT_TOO_LARGE"],
    ]);
    const message = first.manifestOnDisk.tasks[0]?.error?.message ?? "";
    expect(message).toContain("the limit of 1 MB per output (--max-output-mb)");
    expect(formatRunSummary(first.summary).join("\n")).toContain(`OUTPUT_TOO_LARGE: ${message}`);
    expect(await ws.outputFiles()).toEqual([]);
    // One GET per output: the same URL would send the same thing.
    expect(service.files.requests).toHaveLength(2);

    const creates = service.routes().filter((route) => route === "POST create").length;
    const again = await ws.run();
    expect(again.exitCode).toBe(0);
    expect(service.routes().filter((route) => route === "POST create")).toHaveLength(creates);
    expect(again.manifestOnDisk.tasks.map((task) => task.outputs[0]?.bytes)).toEqual([3 * MB, 3 * MB]);
    expect(JSON.stringify(again.manifestOnDisk)).not.toContain(HOSTILE_KEY);
  });

  it("a Content-Length above the limit is refused before the body is read, with the announced size in the task's error", async () => {
    service = await startHostileService({
      file: (_req, res) => {
        res.writeHead(200, { "content-type": "video/mp4", "content-length": String(3_400_000_000) });
        res.write(Buffer.alloc(1000, 7));
      },
    });
    ws = await hostileRun(service);
    const result = await ws.run();
    expect(result.exitCode).toBe(1);
    for (const task of result.manifestOnDisk.tasks)
      expect(task.error).toEqual({
        code: "OUTPUT_TOO_LARGE",
        message:
          "the server announced 3,400,000,000 bytes, over the limit of 1024 MB per output (--max-output-mb); nothing was downloaded",
        retryable: true,
      });
    expect(await ws.outputFiles()).toEqual([]);
    expect(service.files.requests).toHaveLength(2);
  });

  it("a bad maxOutputMb is a usage error before any request", async () => {
    service = await startHostileService();
    ws = await hostileRun(service);
    for (const maxOutputMb of [0, -1, 1.5, Number.NaN])
      await expect(ws.run({ maxOutputMb })).rejects.toMatchObject({ exitCode: 2 });
    expect(service.api.requests).toHaveLength(0);
  });
});

describe("a hostile service: outputs per task", () => {
  it("a task answering SUCCEEDED with 10,000 output URLs fails TOO_MANY_OUTPUTS with the count; nothing is downloaded, and a rerun leaves it alone", async () => {
    service = await startHostileService({
      taskAnswer: (id, files) => ({
        id,
        status: "SUCCEEDED",
        createdAt: "2026-01-01T00:00:00.000Z",
        output: Array.from({ length: 10_000 }, (_, i) => `${files}/files/${id}-${i}.mp4`),
      }),
    });
    ws = await hostileRun(service);
    const result = await ws.run();
    expect(result.exitCode).toBe(1);
    for (const task of result.manifestOnDisk.tasks) {
      expect(task.status).toBe("FAILED");
      expect(task.outputs).toEqual([]);
      expect(task.error).toEqual({
        code: "TOO_MANY_OUTPUTS",
        message:
          "the task answered SUCCEEDED with 10,000 output URLs (an Act-Two task has 1; more than 4 is refused): nothing was downloaded",
        retryable: false,
      });
    }
    expect(formatRunSummary(result.summary).join("\n")).toContain(
      "TOO_MANY_OUTPUTS: the task answered SUCCEEDED with 10,000",
    );
    expect(service.files.requests).toHaveLength(0);
    expect(await ws.outputFiles()).toEqual([]);
    expect(ws.events.filter((event) => event.kind.startsWith("download"))).toEqual([]);
    // A final failure: not resubmitted (paid again) by a rerun without --retry-failed.
    const requests = service.api.requests.length;
    expect((await ws.run()).exitCode).toBe(1);
    expect(service.api.requests).toHaveLength(requests);
  });

  it("up to 4 output URLs are downloaded, each to its own file", async () => {
    service = await startHostileService({
      taskAnswer: (id, files) => ({
        id,
        status: "SUCCEEDED",
        createdAt: "2026-01-01T00:00:00.000Z",
        output: Array.from({ length: 4 }, (_, i) => `${files}/files/${id}-${i}.mp4`),
      }),
    });
    ws = await hostileRun(service);
    const result = await ws.run();
    expect(result.exitCode).toBe(0);
    expect(result.manifestOnDisk.tasks.map((task) => task.outputs.length)).toEqual([4, 4]);
    expect(await ws.outputFiles()).toHaveLength(8);
  });
});

describe("a hostile service: task ids", () => {
  it("creates answering `.` and `..` are refused as ids: no GET or DELETE to /v1/tasks/.. leaves, and the manifest says why", async () => {
    service = await startHostileService({ createAnswer: (index) => ({ id: index % 2 === 0 ? "." : ".." }) });
    ws = await hostileRun(service);
    const result = await ws.run();
    expect(result.exitCode).toBe(1);
    // Each task's create was answered, its id refused, and sent again once (maxAttempts 2).
    expect(service.routes()).toEqual(["POST create", "POST create", "POST create", "POST create"]);
    for (const task of result.manifestOnDisk.tasks) {
      expect(task.taskId).toBeNull();
      expect(task.possiblyChargedTwice).toBe(true);
      const messages = task.history.map((attempt) => attempt.error?.message ?? "");
      expect(messages.join("\n")).toMatch(
        /answered the task id "\.\.?", which is not a plain path segment \(a path of dots names another route\): refused/,
      );
    }
    expect(service.files.requests).toHaveLength(0);
  });
});
