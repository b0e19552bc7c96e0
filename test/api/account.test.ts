// Runway's account and uploads through the API client, over loopback sockets: the same transport
// (the connection's API version, the key to the API's origin only), the same retries and retry
// budget, and the same redaction as the tasks' requests.
import { afterEach, describe, expect, it } from "vitest";
import { createApiClient } from "../../src/api/client.js";
import { createRetryBudget } from "../../src/api/retry-budget.js";
import type { ApiClient, ApiClientOptions, UploadFile } from "../../src/api/types.js";
import {
  sendJson,
  startScriptedServer,
  type ScriptedHandler,
  type ScriptedServer,
} from "../helpers/scripted-server.js";

const KEY = "key_account_5c0ffee5c0ffee5c0ffee5c0ffee5c0f";
const ORG = {
  creditBalance: 950,
  tier: { models: { act_two: { maxConcurrentGenerations: 3, maxDailyGenerations: 50 } } },
  usage: { models: { act_two: { dailyGenerations: 1 } } },
};
const FILE: UploadFile = {
  filename: "take.mp4",
  contentType: "video/mp4",
  bytes: new Uint8Array([1, 2, 3, 4]),
};
const NO_REQUESTS = { create: 0, get: 0, cancel: 0, download: 0, retries: 0 };

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function serve(handler: ScriptedHandler): Promise<ScriptedServer> {
  const server = await startScriptedServer(handler);
  cleanups.push(() => server.close());
  return server;
}

function clientFor(
  baseUrl: string,
  overrides: Partial<ApiClientOptions> = {},
): { client: ApiClient; sleeps: number[] } {
  const sleeps: number[] = [];
  const client = createApiClient({
    provider: "runway",
    baseUrl,
    apiKey: KEY,
    concurrency: 1,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    ...overrides,
  });
  cleanups.push(() => client.close());
  return { client, sleeps };
}

describe("getOrganization", () => {
  it("GETs /v1/organization under the base URL with the key and the connection's API version", async () => {
    const server = await serve((_req, res) => sendJson(res, 200, ORG));
    const { client } = clientFor(`${server.origin}/base`, { runwayVersion: "2024-09-13" });
    expect(await client.getOrganization()).toEqual({
      kind: "ok",
      organization: {
        creditBalance: 950,
        maxConcurrentGenerations: 3,
        maxDailyGenerations: 50,
        dailyGenerations: 1,
      },
    });
    const [request] = server.requests;
    expect(`${request?.method} ${request?.url}`).toBe("GET /base/v1/organization");
    expect(request?.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(request?.headers["x-runway-version"]).toBe("2024-09-13");
    expect(request?.headers.accept).toBe("application/json");
    // The account is not one of the tasks' requests the run's summary counts.
    expect(client.counts()).toEqual(NO_REQUESTS);
  });

  it("retries a 503 after its Retry-After, like every other request", async () => {
    const server = await serve((_req, res, _raw, index) =>
      index === 0 ? sendJson(res, 503, {}, { "retry-after": "2" }) : sendJson(res, 200, ORG),
    );
    const { client, sleeps } = clientFor(server.origin);
    expect((await client.getOrganization()).kind).toBe("ok");
    expect(sleeps).toEqual([2_100]);
    expect(server.requests).toHaveLength(2);
  });

  it("404 (CometAPI has no such route) is unusable at once, not retried", async () => {
    const server = await serve((_req, res) => sendJson(res, 404, { error: "not found" }));
    const { client, sleeps } = clientFor(server.origin);
    expect(await client.getOrganization()).toMatchObject({ kind: "unusable", status: 404 });
    expect(server.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it("spends the client's one retry budget: after it, a create is not retried either", async () => {
    const server = await serve((_req, res) => sendJson(res, 503, { error: "down" }));
    const retryBudget = createRetryBudget({ capacity: 5 }); // one retry in all
    const { client } = clientFor(server.origin, { retryBudget });
    expect(await client.getOrganization()).toMatchObject({ kind: "unusable", status: 503 });
    expect(server.requests).toHaveLength(2);
    const create = await client.createTask({
      model: "act_two",
      character: { type: "image", uri: "https://assets.example.com/c.png" },
      reference: { type: "video", uri: "https://assets.example.com/r.mp4" },
      ratio: "1280:720",
      bodyControl: true,
      expressionIntensity: 3,
      seed: 1,
      contentModeration: { publicFigureThreshold: "auto" },
    });
    expect(create.kind === "unavailable" && create.message).toContain("retry budget");
    expect(server.requests).toHaveLength(3);
  });
});

/** Runway's API and, on the same origin (as the simulator has it), the storage host's upload URL. */
function uploads(fileAnswers: number[] = [204]): ScriptedHandler {
  let file = 0;
  return (req, res) => {
    if (req.url === "/v1/uploads") {
      sendJson(res, 200, {
        uploadUrl: `http://127.0.0.1:${(res.socket?.localPort ?? 0).toString()}/__uploads/1?sig=s`,
        fields: { key: "uploads/1/take.mp4", policy: "p" },
        runwayUri: "runway://uploads/1",
      });
      return;
    }
    const status = fileAnswers[Math.min(file++, fileAnswers.length - 1)] ?? 204;
    res.writeHead(status);
    res.end(status === 204 ? undefined : "<Error><Message>busy</Message></Error>");
  };
}

describe("uploadEphemeral", () => {
  it("asks for an upload with the key, then sends the file to the upload URL without it", async () => {
    const server = await serve(uploads());
    const { client } = clientFor(server.origin, { runwayVersion: "2024-09-13" });
    expect(await client.uploadEphemeral(FILE)).toEqual({ kind: "uploaded", runwayUri: "runway://uploads/1" });
    const [slot, file] = server.requests;
    expect(`${slot?.method} ${slot?.url}`).toBe("POST /v1/uploads");
    expect(JSON.parse(slot?.body ?? "")).toEqual({ filename: "take.mp4", type: "ephemeral" });
    expect(slot?.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(slot?.headers["x-runway-version"]).toBe("2024-09-13");
    expect(`${file?.method} ${file?.url}`).toBe("POST /__uploads/1?sig=s");
    // Same origin as the API here, and still no key: the upload URL is a storage host's.
    expect(file?.headers.authorization).toBeUndefined();
    expect(file?.headers["x-runway-version"]).toBeUndefined();
    expect(file?.headers["content-type"]).toMatch(/^multipart\/form-data; boundary=actbatch-/);
    const body = file?.body ?? "";
    expect(body.indexOf('name="key"')).toBeLessThan(body.indexOf('name="file"; filename="take.mp4"'));
    expect(client.counts()).toEqual(NO_REQUESTS);
  });

  it("retries the file's POST after a 503, then succeeds", async () => {
    const server = await serve(uploads([503, 204]));
    const { client, sleeps } = clientFor(server.origin);
    expect(await client.uploadEphemeral(FILE)).toMatchObject({ kind: "uploaded" });
    expect(server.requests.map((request) => request.method + " " + request.url.split("?")[0])).toEqual([
      "POST /v1/uploads",
      "POST /__uploads/1",
      "POST /__uploads/1",
    ]);
    expect(sleeps).toEqual([375]); // random 0.5 of 250-500 ms
  });

  it("a refusal of the storage host is quoted, once", async () => {
    const server = await serve(uploads([400]));
    const { client } = clientFor(server.origin);
    expect(await client.uploadEphemeral(FILE)).toEqual({
      kind: "error",
      message: "the upload URL answered 400: <Error><Message>busy</Message></Error>",
    });
    expect(server.requests).toHaveLength(2);
  });
});

describe("the key never leaks from the account and uploads", () => {
  it.each([400, 401, 403, 404, 429, 500, 503])("HTTP %i echoing the Authorization header", async (status) => {
    const server = await serve((req, res) => {
      const auth = String(req.headers.authorization ?? "");
      const token = auth.replace(/^Bearer /, "");
      res.writeHead(status, { "content-type": "application/json", "retry-after": "0", "x-echo": auth });
      res.end(JSON.stringify({ error: `bad ${auth}`, code: token, prefix: token.slice(0, 20) }));
    });
    const { client } = clientFor(server.origin, { maxAttempts: 2 });
    const outcomes = [await client.getOrganization(), await client.uploadEphemeral(FILE)];
    const text = JSON.stringify(outcomes);
    expect(text).not.toContain(KEY);
    expect(text).not.toContain(KEY.slice(0, 20));
    expect(server.requests.length).toBeGreaterThan(0);
  });
});
