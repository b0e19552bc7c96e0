// What a run says when a hostile service sends what actbatch refuses: the message names what happened
// (an answer too large to read, a redirect to a scheme that is not allowed), never a signed URL's query
// string, and never the key. Played by scripted servers on loopback against runJob.
import { afterEach, describe, expect, it } from "vitest";
import { formatRunSummary } from "../../src/report/run-summary-text.js";
import {
  HOSTILE_KEY,
  hostileRun,
  startHostileService,
  type HostileRun,
  type HostileService,
} from "../helpers/hostile-service.js";

let service: HostileService | null = null;
let ws: HostileRun | null = null;
afterEach(async () => {
  await service?.close();
  await ws?.close();
  service = null;
  ws = null;
});

const MIB = 1024 * 1024;

describe("a hostile service: what the messages say", () => {
  it("a create answered with more than 1 MiB says so, instead of 'no task id'", async () => {
    // The id comes after the padding: what was read holds no id, and nothing past the limit is read.
    service = await startHostileService({
      createAnswer: (index) => ({ padding: "x".repeat(MIB + 10), id: `task-${index}` }),
    });
    ws = await hostileRun(service);
    const result = await ws.run();
    expect(result.exitCode).not.toBe(0);
    for (const task of result.manifestOnDisk.tasks) {
      expect(task.taskId).toBeNull();
      const messages = task.history.map((attempt) => attempt.error?.message ?? "").join("\n");
      expect(messages).toContain(
        "HTTP 200: the create's answer is larger than 1 MiB and was not read: the service accepted the request, but the id of the task it may have created is unknown",
      );
      expect(messages).not.toContain("no task id");
    }
    // No id was taken from the part that was read: nothing is polled.
    expect(service.routes().filter((route) => route !== "POST create")).toEqual([]);
  });

  it("a create answered with the key as its task id says the id was refused, without repeating it", async () => {
    service = await startHostileService({ createAnswer: () => ({ id: HOSTILE_KEY }) });
    ws = await hostileRun(service);
    const result = await ws.run();
    expect(result.exitCode).not.toBe(0);
    for (const task of result.manifestOnDisk.tasks) {
      expect(task.taskId).toBeNull();
      const messages = task.history.map((attempt) => attempt.error?.message ?? "").join("\n");
      expect(messages).toContain("answered a task id that contains the key: refused");
    }
    expect(service.routes().filter((route) => route !== "POST create")).toEqual([]);
    expect(JSON.stringify(result.manifestOnDisk)).not.toContain(HOSTILE_KEY);
  });

  it("a task GET answered with more than 1 MiB says so, instead of 'not JSON'", async () => {
    service = await startHostileService({
      taskAnswer: (id) => ({ padding: "x".repeat(MIB + 10), id, status: "RUNNING" }),
    });
    ws = await hostileRun(service);
    const result = await ws.run();
    expect(result.exitCode).toBe(1);
    for (const task of result.manifestOnDisk.tasks) {
      expect(task.error?.message).toContain("the task's answer is larger than 1 MiB and was not read");
      expect(task.error?.message).not.toContain("not JSON");
    }
  });

  it("an output URL redirected to file:///etc/passwd says so, without the query strings of the URLs", async () => {
    service = await startHostileService({
      taskAnswer: (id, files) => ({
        id,
        status: "SUCCEEDED",
        createdAt: "2026-01-01T00:00:00.000Z",
        output: [`${files}/files/${id}.mp4?X-Amz-Signature=signed-token-1`],
      }),
      file: (_request, response) => {
        response.writeHead(302, { location: "file:///etc/passwd?token=signed-token-2" }).end();
      },
    });
    ws = await hostileRun(service);
    const result = await ws.run();
    expect(result.exitCode).toBe(1);
    const files = service.files.origin;
    for (const task of result.manifestOnDisk.tasks) {
      expect(task.error?.message).toBe(
        `${files}/files/${task.taskId}.mp4: redirects to file:///etc/passwd, which is not allowed: unsupported protocol file: (only https://, and http:// on a loopback address)`,
      );
    }
    // Refused before connecting: one GET per output, none followed to the file.
    expect(service.files.requests).toHaveLength(2);
    const everything = [
      JSON.stringify(result.manifestOnDisk),
      formatRunSummary(result.summary).join("\n"),
      JSON.stringify(ws.events),
    ].join("\n");
    expect(everything).not.toContain("signed-token");
    expect(everything).not.toContain("null/etc/passwd");
    expect(everything).not.toContain(HOSTILE_KEY);
  });
});
