// The API client over real loopback sockets, against scripted servers that produce exact situations.
import { afterEach, describe, expect, it } from "vitest";
import { createApiClient } from "../../src/api/client.js";
import { createRetryBudget } from "../../src/api/retry-budget.js";
import type { ApiClient, ApiClientOptions } from "../../src/api/types.js";
import type { RequestBody } from "../../src/job/types.js";
import {
  freePort,
  sendJson,
  startScriptedServer,
  type ScriptedHandler,
  type ScriptedServer,
} from "../helpers/scripted-server.js";

const KEY = "sk-live-4f1c2a9e8b7d6c5e4f3a2b1c0d9e8f7a";

const BODY: RequestBody = {
  model: "act_two",
  character: { type: "image", uri: "https://assets.example.com/hero.png" },
  reference: { type: "video", uri: "https://assets.example.com/take1.mp4" },
  ratio: "1280:720",
  bodyControl: true,
  expressionIntensity: 3,
  seed: 1,
  contentModeration: { publicFigureThreshold: "auto" },
};

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function serve(handler: ScriptedHandler, port?: number): Promise<ScriptedServer> {
  const server = await startScriptedServer(handler, port);
  cleanups.push(() => server.close());
  return server;
}

interface Harness {
  client: ApiClient;
  sleeps: number[];
}

function clientFor(baseUrl: string, overrides: Partial<ApiClientOptions> = {}): Harness {
  const sleeps: number[] = [];
  const client = createApiClient({
    provider: "cometapi",
    baseUrl,
    apiKey: KEY,
    concurrency: 4,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    ...overrides,
  });
  cleanups.push(() => client.close());
  return { client, sleeps };
}

describe("createTask", () => {
  it("POSTs the body with the key, the API version and JSON headers, and returns the id", async () => {
    const server = await serve((_req, res) => sendJson(res, 200, { id: "task-1" }));
    const { client } = clientFor(`${server.origin}/runwayml`);
    expect(await client.createTask(BODY)).toEqual({ kind: "created", taskId: "task-1" });
    const [request] = server.requests;
    expect(request?.method).toBe("POST");
    expect(request?.url).toBe("/runwayml/v1/character_performance");
    expect(request?.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(request?.headers["x-runway-version"]).toBe("2024-11-06");
    expect(request?.headers["content-type"]).toBe("application/json");
    expect(request?.headers.accept).toBe("application/json");
    expect(JSON.parse(request?.body ?? "")).toEqual(BODY);
    expect(client.counts()).toEqual({ create: 1, get: 0, cancel: 0, download: 0, retries: 0 });
  });

  it("sends a configured API version", async () => {
    const server = await serve((_req, res) => sendJson(res, 200, { id: "t" }));
    const { client } = clientFor(server.origin, { runwayVersion: "2024-09-13" });
    await client.createTask(BODY);
    expect(server.requests[0]?.headers["x-runway-version"]).toBe("2024-09-13");
  });

  it("a validation error is rejected at once, with the fields that failed", async () => {
    const server = await serve((_req, res) =>
      sendJson(res, 400, {
        error: "Validation of body failed",
        issues: [
          { code: "too_big", path: ["expressionIntensity"], message: "Too big: expected number to be <=5" },
        ],
      }),
    );
    const { client } = clientFor(server.origin);
    const outcome = await client.createTask(BODY);
    expect(outcome).toMatchObject({ kind: "rejected", status: 400 });
    expect(outcome.kind === "rejected" && outcome.message).toContain("expressionIntensity: Too big");
    expect(server.requests).toHaveLength(1);
  });

  it.each([
    [401, { error: { message: "invalid token", type: "comet_api_error", code: "" } }, "bad-key"],
    [400, { error: "You do not have enough credits to run this task." }, "no-credits"],
    [429, { error: "Your daily task limit has been reached." }, "daily-limit"],
  ])("HTTP %i %j stops the account, with no retry", async (status, body, reason) => {
    const server = await serve((_req, res) => sendJson(res, status, body));
    const { client } = clientFor(server.origin);
    expect(await client.createTask(BODY)).toMatchObject({ kind: "account-stop", reason, status });
    expect(server.requests).toHaveLength(1);
  });

  it("a CometAPI 429 (saturation) is retried after its Retry-After", async () => {
    const server = await serve((_req, res, _raw, index) =>
      index === 0
        ? sendJson(
            res,
            429,
            { error: { message: "当前分组上游负载已饱和，请稍后再试", type: "comet_api_error" } },
            { "retry-after": "3" },
          )
        : sendJson(res, 200, { id: "after-429" }),
    );
    const { client, sleeps } = clientFor(server.origin);
    expect(await client.createTask(BODY)).toEqual({ kind: "created", taskId: "after-429" });
    expect(sleeps).toEqual([3_150]); // 3 s plus the jitter of random 0.5 (at most 10%)
    expect(client.counts()).toMatchObject({ create: 2, retries: 1 });
  });

  it("a Retry-After beyond the clamp waits the clamp, not hours", async () => {
    const server = await serve((_req, res, _raw, index) =>
      index === 0 ? sendJson(res, 429, {}, { "retry-after": "7200" }) : sendJson(res, 200, { id: "t" }),
    );
    const { client, sleeps } = clientFor(server.origin, { random: () => 0 });
    await client.createTask(BODY);
    expect(sleeps).toEqual([60_000]);
  });

  it("retry-after-ms is honoured and scaled clamps follow timeScale", async () => {
    const server = await serve((_req, res, _raw, index) =>
      index === 0 ? sendJson(res, 503, {}, { "retry-after-ms": "40000" }) : sendJson(res, 200, { id: "t" }),
    );
    const { client, sleeps } = clientFor(server.origin, { random: () => 0, timeScale: 100 });
    await client.createTask(BODY);
    expect(sleeps).toEqual([600]); // 40 s asked, clamp 60 s / 100
  });

  it("503 and 429 are retried with full-jitter backoff, then succeed", async () => {
    const server = await serve((_req, res, _raw, index) => {
      if (index === 0) sendJson(res, 503, { error: "Service unavailable" });
      else if (index === 1)
        sendJson(res, 429, { error: { message: "upstream saturated", type: "comet_api_error", code: "" } });
      else sendJson(res, 200, { id: "third-time" });
    });
    const { client, sleeps } = clientFor(server.origin);
    expect(await client.createTask(BODY)).toEqual({ kind: "created", taskId: "third-time" });
    expect(sleeps).toEqual([375, 625]); // random 0.5 of 250-500 ms, then of 250-1000 ms
  });

  it("a Retry-After of 0 or in the past waits at least 250 ms (scaled by timeScale), not nothing", async () => {
    const past = new Date(Date.now() - 3_600_000).toUTCString();
    const server = await serve((_req, res, _raw, index) =>
      index < 3
        ? sendJson(res, 429, {}, { "retry-after": index === 1 ? past : "0" })
        : sendJson(res, 200, { id: "t", status: "RUNNING", createdAt: "2026-01-01T00:00:00Z" }),
    );
    const { client, sleeps } = clientFor(server.origin, { random: () => 0 });
    expect(await client.getTask("t", 0)).toMatchObject({ kind: "state" });
    expect(server.requests).toHaveLength(4);
    expect(sleeps).toEqual([250, 250, 250]);

    const again = await serve((_req, res, _raw, index) =>
      index === 0 ? sendJson(res, 503, {}, { "retry-after": "0" }) : sendJson(res, 200, { id: "t" }),
    );
    const scaled = clientFor(again.origin, { random: () => 0, timeScale: 10 });
    expect(await scaled.client.createTask(BODY)).toEqual({ kind: "created", taskId: "t" });
    expect(scaled.sleeps).toEqual([25]);
  });

  it("a CometAPI 500 invalid_request is not retried", async () => {
    const server = await serve((_req, res) =>
      sendJson(res, 500, {
        error: {
          message: "invalid request (request id: 7)",
          type: "comet_api_error",
          code: "invalid_request",
        },
      }),
    );
    const { client } = clientFor(server.origin);
    expect(await client.createTask(BODY)).toMatchObject({
      kind: "rejected",
      status: 500,
      code: "invalid_request",
    });
    expect(server.requests).toHaveLength(1);
  });

  it.each([500, 502, 504, 524])(
    "a %i on a create (the upstream may have accepted it) is ambiguous and not retried",
    async (status) => {
      const server = await serve((_req, res) => sendJson(res, status, { error: "timeout" }));
      const { client } = clientFor(server.origin);
      expect((await client.createTask(BODY)).kind).toBe("ambiguous");
      expect(server.requests).toHaveLength(1);
    },
  );

  it("a connection reset after the server received the body is ambiguous, never retried", async () => {
    const server = await serve((_req, _res, raw) => {
      raw.socket.resetAndDestroy();
    });
    const { client } = clientFor(server.origin);
    const outcome = await client.createTask(BODY);
    expect(outcome.kind).toBe("ambiguous");
    expect(server.requests).toHaveLength(1);
    expect(JSON.parse(server.requests[0]?.body ?? "")).toEqual(BODY);
  });

  it("a headers timeout after sending is ambiguous", async () => {
    const server = await serve(() => {
      /* never answers */
    });
    const { client } = clientFor(server.origin, { timeouts: { headersMs: 300 } });
    const outcome = await client.createTask(BODY);
    expect(outcome.kind).toBe("ambiguous");
    expect(outcome.kind === "ambiguous" && outcome.message).toContain("UND_ERR_HEADERS_TIMEOUT");
    expect(server.requests).toHaveLength(1);
  });

  it("a 200 whose body breaks off is ambiguous (the task exists, its id is lost)", async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": "100" });
      res.write('{"id":"t');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const { client } = clientFor(server.origin);
    expect((await client.createTask(BODY)).kind).toBe("ambiguous");
    expect(server.requests).toHaveLength(1);
  });

  it("a 200 without an id is ambiguous", async () => {
    const server = await serve((_req, res) => sendJson(res, 200, { ok: true }));
    const { client } = clientFor(server.origin);
    expect((await client.createTask(BODY)).kind).toBe("ambiguous");
  });

  it("accepts the new-api submit shape {code, data: id}", async () => {
    const server = await serve((_req, res) =>
      sendJson(res, 200, { code: "success", message: "", data: "abc-123" }),
    );
    const { client } = clientFor(server.origin);
    expect(await client.createTask(BODY)).toEqual({ kind: "created", taskId: "abc-123" });
  });

  it("a refused connection is retried (nothing was sent) and the create then succeeds", async () => {
    const port = await freePort();
    let server: ScriptedServer | null = null;
    const { client } = clientFor(`http://127.0.0.1:${port}`, {
      sleep: async () => {
        server ??= await serve((_req, res) => sendJson(res, 200, { id: "after-refusal" }), port);
      },
    });
    expect(await client.createTask(BODY)).toEqual({ kind: "created", taskId: "after-refusal" });
    expect(client.counts()).toMatchObject({ create: 2, retries: 1 });
  });

  it("a service that stays down ends 'unavailable' after maxAttempts", async () => {
    const server = await serve((_req, res) => sendJson(res, 503, { error: "down" }));
    const { client } = clientFor(server.origin, { maxAttempts: 3 });
    const outcome = await client.createTask(BODY);
    expect(outcome.kind).toBe("unavailable");
    expect(outcome.kind === "unavailable" && outcome.message).toContain("gave up after 3 attempts");
    expect(server.requests).toHaveLength(3);
  });

  it("an empty retry budget stops retries across requests: a storm does not multiply requests", async () => {
    const server = await serve((_req, res) => sendJson(res, 503, { error: "down" }));
    const retryBudget = createRetryBudget({ capacity: 10 }); // two retries in all
    const { client } = clientFor(server.origin, { retryBudget, maxAttempts: 10 });
    const first = await client.createTask(BODY);
    const second = await client.createTask(BODY);
    expect(first.kind).toBe("unavailable");
    expect(second.kind === "unavailable" && second.message).toContain("retry budget");
    expect(server.requests).toHaveLength(4); // 1 + 2 retries, then 1 with no retry left
    expect(retryBudget.available()).toBe(0);
  });

  it("an abort before the request left is 'unavailable', not ambiguous", async () => {
    const server = await serve((_req, res) => sendJson(res, 200, { id: "never" }));
    const { client } = clientFor(server.origin);
    const controller = new AbortController();
    controller.abort();
    expect((await client.createTask(BODY, controller.signal)).kind).toBe("unavailable");
    expect(server.requests).toHaveLength(0);
  });

  it("an abort after the request left is ambiguous", async () => {
    const controller = new AbortController();
    const server = await serve(() => {
      controller.abort();
    });
    const { client } = clientFor(server.origin);
    expect((await client.createTask(BODY, controller.signal)).kind).toBe("ambiguous");
    expect(server.requests).toHaveLength(1);
  });
});

describe("getTask", () => {
  const created = 1_000_000;

  it("normalises the bare shape", async () => {
    const server = await serve((_req, res) =>
      sendJson(res, 200, { id: "t", status: "RUNNING", progress: 0.4 }),
    );
    const { client } = clientFor(server.origin);
    expect(await client.getTask("t", created)).toEqual({
      kind: "state",
      state: { status: "running", progress: 0.4 },
    });
    expect(server.requests[0]?.url).toBe("/v1/tasks/t");
    expect(server.requests[0]?.headers.authorization).toBe(`Bearer ${KEY}`);
  });

  it("normalises the wrapped shape", async () => {
    const server = await serve((_req, res) =>
      sendJson(res, 200, {
        code: "success",
        message: "",
        data: {
          task_id: "t",
          status: "SUCCESS",
          progress: "100%",
          data: { id: "t", status: "SUCCEEDED", output: ["https://cdn.example.com/o.mp4"] },
        },
      }),
    );
    const { client } = clientFor(server.origin);
    expect(await client.getTask("t", created)).toEqual({
      kind: "state",
      state: { status: "succeeded", outputs: ["https://cdn.example.com/o.mp4"] },
    });
  });

  it.each([
    ["400 task_not_exist", 400, { code: "task_not_exist", message: "task_not_exist", data: null }],
    ["200 task_not_exist", 200, { code: "task_not_exist", message: "task_not_exist", data: null }],
    ["404", 404, { error: "Could not find Task" }],
  ])("%s is not-visible within the grace period and missing after it", async (_name, status, body) => {
    const server = await serve((_req, res) => sendJson(res, status, body));
    let now = created + 1_000;
    const { client } = clientFor(server.origin, { clock: () => now, visibilityGraceMs: 30_000 });
    expect(await client.getTask("t", created)).toEqual({ kind: "state", state: { status: "not-visible" } });
    now = created + 31_000;
    const late = await client.getTask("t", created);
    expect(late.kind === "state" && late.state.status).toBe("missing");
    expect(server.requests).toHaveLength(2);
  });

  it("the default grace period shrinks with timeScale", async () => {
    const server = await serve((_req, res) =>
      sendJson(res, 400, { code: "task_not_exist", message: "", data: null }),
    );
    const now = created + 400; // 30 s / 100 = 300 ms
    const { client } = clientFor(server.origin, { clock: () => now, timeScale: 100 });
    const outcome = await client.getTask("t", created);
    expect(outcome.kind === "state" && outcome.state.status).toBe("missing");
  });

  it("retries a reset and a 503, then reads the state", async () => {
    const server = await serve((_req, res, raw, index) => {
      if (index === 0) raw.socket.resetAndDestroy();
      else if (index === 1) sendJson(res, 503, {});
      else sendJson(res, 200, { id: "t", status: "PENDING" });
    });
    const { client } = clientFor(server.origin);
    expect(await client.getTask("t", created)).toEqual({ kind: "state", state: { status: "pending" } });
    expect(client.counts()).toMatchObject({ get: 3, retries: 2 });
  });

  it("a 401 stops the account", async () => {
    const server = await serve((_req, res) => sendJson(res, 401, { error: "Unauthorized" }));
    const { client } = clientFor(server.origin);
    expect(await client.getTask("t", created)).toMatchObject({ kind: "account-stop", reason: "bad-key" });
  });

  it("an unrecognised answer is an error to poll again, not a state", async () => {
    const server = await serve((_req, res) => sendJson(res, 200, { id: "t", status: "MYSTERY" }));
    const { client } = clientFor(server.origin);
    expect(await client.getTask("t", created)).toMatchObject({ kind: "error", status: 200 });
  });

  it("never sends a task id that is not a plain path segment, GET or DELETE (an old journal, a hand-edited manifest)", async () => {
    const server = await serve((_req, res) => sendJson(res, 200, { id: "t", status: "PENDING" }));
    const { client } = clientFor(server.origin);
    for (const id of [".", "..", "../x y", "a/b", "a%2Fb", "a\\b", "a?b", "a#b", "a\u0000b", ""]) {
      expect(await client.getTask(id, created)).toMatchObject({
        kind: "error",
        message: expect.stringContaining("is not a plain path segment"),
      });
      expect(await client.cancelTask(id)).toMatchObject({ kind: "error" });
    }
    expect(server.requests).toEqual([]);
    expect(client.counts()).toMatchObject({ get: 0, cancel: 0 });
    await client.getTask("task-1.a:b", created);
    expect(server.requests.map((r) => r.url)).toEqual(["/v1/tasks/task-1.a%3Ab"]);
  });
});

describe("cancelTask", () => {
  it("DELETEs the task: 204 is cancelled, 404 (already gone) too", async () => {
    const server = await serve((req, res) => {
      if (req.url.endsWith("/gone")) sendJson(res, 404, { error: "Could not find Task" });
      else {
        res.writeHead(204);
        res.end();
      }
    });
    const { client } = clientFor(server.origin);
    expect(await client.cancelTask("live")).toEqual({ kind: "cancelled" });
    expect(await client.cancelTask("gone")).toEqual({ kind: "cancelled" });
    expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      "DELETE /v1/tasks/live",
      "DELETE /v1/tasks/gone",
    ]);
    expect(client.counts().cancel).toBe(2);
  });
});

describe("openDownload", () => {
  it("never sends the key to an output URL on another origin", async () => {
    const cdn = await serve((_req, res) => {
      res.writeHead(200, { "content-length": "3" });
      res.end("mp4");
    });
    const api = await serve((_req, res) => sendJson(res, 200, {}));
    const { client } = clientFor(api.origin);
    const opened = await client.openDownload(`${cdn.origin}/o.mp4?_jwt=abc`, 0);
    expect(opened).toMatchObject({ kind: "ok", status: 200, contentLength: 3, totalSize: 3 });
    if (opened.kind === "ok") opened.body.discard();
    expect(cdn.requests[0]?.headers.authorization).toBeUndefined();
    expect(cdn.requests[0]?.headers["x-runway-version"]).toBeUndefined();
    expect(cdn.requests[0]?.url).toBe("/o.mp4?_jwt=abc");
  });

  it("does not send it to an output URL on the API's own origin either, nor after a redirect", async () => {
    const cdn = await serve((_req, res) => {
      res.writeHead(200, { "content-length": "2" });
      res.end("ok");
    });
    const api = await serve((req, res) => {
      if (req.url === "/files/o.mp4") {
        res.writeHead(302, { location: `${cdn.origin}/signed/o.mp4?sig=1` });
        res.end();
      }
    });
    const { client } = clientFor(api.origin);
    const opened = await client.openDownload(`${api.origin}/files/o.mp4`, 0);
    expect(opened.kind).toBe("ok");
    if (opened.kind === "ok") opened.body.discard();
    expect(api.requests[0]?.headers.authorization).toBeUndefined();
    expect(api.requests[0]?.headers["x-runway-version"]).toBeUndefined();
    expect(cdn.requests[0]?.url).toBe("/signed/o.mp4?sig=1");
    expect(cdn.requests[0]?.headers.authorization).toBeUndefined();
  });

  it("refuses a URL or a redirect it may not follow before connecting, naming it without its query string", async () => {
    const cdn = await serve((req, res) => {
      if (req.url.startsWith("/loop")) res.writeHead(302, { location: "/loop?sig=again" }).end();
      else res.writeHead(302, { location: "http://cdn.example.com/o.mp4?sig=secret" }).end();
    });
    const { client } = clientFor("http://127.0.0.1:9");
    expect(await client.openDownload("file:///etc/passwd?token=secret", 0)).toEqual({
      kind: "error",
      message:
        "file:///etc/passwd: not allowed: unsupported protocol file: (only https://, and http:// on a loopback address)",
      retryable: false,
    });
    expect(await client.openDownload(`${cdn.origin}/o.mp4?sig=secret`, 0)).toEqual({
      kind: "error",
      message: `${cdn.origin}/o.mp4: redirects to http://cdn.example.com/o.mp4, which is not allowed: http:// is allowed only for loopback addresses; use https://`,
      retryable: false,
    });
    expect(await client.openDownload(`${cdn.origin}/loop?sig=secret`, 0)).toEqual({
      kind: "error",
      message: `${cdn.origin}/loop: more than 5 redirects`,
      retryable: false,
    });
    expect(cdn.requests.map((request) => request.url)).toEqual([
      "/o.mp4?sig=secret",
      "/loop?sig=secret",
      ...Array.from({ length: 5 }, () => "/loop?sig=again"),
    ]);
  });

  it("asks for a Range from the offset and reports the Content-Range total", async () => {
    const cdn = await serve((req, res) => {
      expect(req.headers.range).toBe("bytes=4-");
      res.writeHead(206, { "content-length": "6", "content-range": "bytes 4-9/10" });
      res.end("456789");
    });
    const { client } = clientFor("http://127.0.0.1:9");
    const opened = await client.openDownload(`${cdn.origin}/o.mp4`, 4);
    expect(opened).toMatchObject({ kind: "ok", status: 206, contentLength: 6, totalSize: 10 });
    if (opened.kind === "ok") opened.body.discard();
  });

  it("a 416 (what is on disk is too long) starts over from byte 0", async () => {
    const cdn = await serve((req, res) => {
      if (req.headers.range) {
        res.writeHead(416, { "content-range": "bytes */3" });
        res.end();
      } else {
        res.writeHead(200, { "content-length": "3" });
        res.end("abc");
      }
    });
    const { client } = clientFor("http://127.0.0.1:9");
    const opened = await client.openDownload(`${cdn.origin}/o.mp4`, 50);
    expect(opened).toMatchObject({ kind: "ok", status: 200, totalSize: 3 });
    if (opened.kind === "ok") opened.body.discard();
  });

  it.each([401, 403, 404, 410])("HTTP %i on a signed URL means expired", async (status) => {
    const cdn = await serve((_req, res) => {
      res.writeHead(status);
      res.end("<Error>AccessDenied</Error>");
    });
    const { client } = clientFor("http://127.0.0.1:9");
    expect(await client.openDownload(`${cdn.origin}/o.mp4`, 0)).toEqual({ kind: "expired", status });
  });

  it("retries a 503 on an output URL, then opens it", async () => {
    const cdn = await serve((_req, res, _raw, index) => {
      if (index === 0) sendJson(res, 503, {});
      else {
        res.writeHead(200, { "content-length": "1" });
        res.end("x");
      }
    });
    const { client } = clientFor("http://127.0.0.1:9");
    const opened = await client.openDownload(`${cdn.origin}/o.mp4`, 0);
    expect(opened.kind).toBe("ok");
    if (opened.kind === "ok") opened.body.discard();
    expect(client.counts()).toMatchObject({ download: 2, retries: 1 });
  });

  it("refuses plain http to a non-loopback host without connecting", async () => {
    const { client } = clientFor("http://127.0.0.1:9");
    const opened = await client.openDownload("http://cdn.example.com/o.mp4?sig=secret", 0);
    expect(opened).toMatchObject({ kind: "error", retryable: false });
    expect(opened.kind === "error" && opened.message).not.toContain("sig=secret");
    expect(client.counts().download).toBe(0);
  });
});

describe("openDownload range checks", () => {
  it("a 206 for another offset is not appended: the file starts over", async () => {
    const cdn = await serve((req, res) => {
      if (req.headers.range) {
        res.writeHead(206, { "content-length": "2", "content-range": "bytes 0-1/10" });
        res.end("01");
      } else {
        res.writeHead(200, { "content-length": "10" });
        res.end("0123456789");
      }
    });
    const { client } = clientFor("http://127.0.0.1:9");
    const opened = await client.openDownload(`${cdn.origin}/o.mp4`, 5);
    expect(opened).toMatchObject({ kind: "ok", status: 200, totalSize: 10 });
    if (opened.kind === "ok") opened.body.discard();
    expect(cdn.requests.map((r) => r.headers.range ?? null)).toEqual(["bytes=5-", null]);
  });

  it("a 206 nobody asked for is refused", async () => {
    const cdn = await serve((_req, res) => {
      res.writeHead(206, { "content-length": "2", "content-range": "bytes 8-9/10" });
      res.end("89");
    });
    const { client } = clientFor("http://127.0.0.1:9");
    expect(await client.openDownload(`${cdn.origin}/o.mp4`, 0)).toMatchObject({
      kind: "error",
      retryable: false,
    });
  });
});
