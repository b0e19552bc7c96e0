// The key must never appear in an outcome or a message, whatever the server answers: here the server
// quotes the request's headers back in every way it can.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiClient } from "../../src/api/client.js";
import type { ApiClient } from "../../src/api/types.js";
import type { RequestBody } from "../../src/job/types.js";
import { startScriptedServer, type ScriptedServer } from "../helpers/scripted-server.js";

const KEY = `key_${"9f8e7d6c5b4a3210".repeat(8)}`;
const BODY: RequestBody = {
  model: "act_two",
  character: { type: "image", uri: "https://assets.example.com/c.png" },
  reference: { type: "video", uri: "https://assets.example.com/r.mp4" },
  ratio: "960:960",
  bodyControl: false,
  expressionIntensity: 1,
  seed: 0,
  contentModeration: { publicFigureThreshold: "low" },
};

const STATUSES = [200, 400, 401, 402, 403, 404, 409, 422, 429, 500, 502, 503, 504, 524];

/** Every way a careless server might echo what it received. */
function echoes(auth: string): string[] {
  const token = auth.replace(/^Bearer /, "");
  return [
    JSON.stringify({ error: `invalid header ${auth}` }),
    JSON.stringify({ error: { message: `token ${token} rejected`, type: "comet_api_error", code: token } }),
    JSON.stringify({ code: token, message: `bad ${token.slice(0, 40)}…`, data: null }),
    JSON.stringify({ error: "Validation of body failed", issues: [{ path: [token], message: auth }] }),
    JSON.stringify({ id: "t", status: "FAILED", failure: `auth was ${auth}`, failureCode: token }),
    JSON.stringify({ error: Buffer.from(auth).toString("base64") }),
    `plain text ${encodeURIComponent(auth)}`,
  ];
}

let server: ScriptedServer;
let client: ApiClient;

beforeAll(async () => {
  server = await startScriptedServer((req, res) => {
    const [, status, variant] = /\/(\d+)-(\d+)/.exec(req.url) ?? [];
    const auth = String(req.headers.authorization ?? "");
    const body = echoes(auth)[Number(variant ?? 0)] ?? "";
    res.writeHead(Number(status ?? 500), {
      "content-type": "application/json",
      "x-echo": auth,
      "retry-after": "0",
      location: `https://elsewhere.example.com/${auth.replace(/\s/g, "")}`,
    });
    res.end(body);
  });
  client = createApiClient({
    provider: "cometapi",
    baseUrl: server.origin,
    apiKey: KEY,
    concurrency: 2,
    maxAttempts: 2,
    sleep: async () => {},
  });
});

afterAll(async () => {
  await client.close();
  await server.close();
});

/** The outcomes (as JSON) that contain the key, a 16-character piece of it, or its base64 form. */
function leaks(outcomes: unknown[]): string[] {
  const pieces = [KEY, Buffer.from(KEY).toString("base64").slice(0, 40)];
  for (let i = 0; i + 16 <= KEY.length; i += 8) pieces.push(KEY.slice(i, i + 16));
  return outcomes
    .map((outcome) => JSON.stringify(outcome))
    .filter((text) => pieces.some((piece) => text.includes(piece)));
}

describe("the key never leaks into outcomes", () => {
  it("proves the server really echoes the key", async () => {
    const response = await fetch(`${server.origin}/400-0`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(await response.text()).toContain(KEY);
  });

  it("getTask, for every status and every echo", async () => {
    const outcomes: unknown[] = [];
    for (const status of STATUSES) {
      for (let variant = 0; variant < echoes("").length; variant++) {
        outcomes.push(await client.getTask(`${status}-${variant}`, 0));
      }
    }
    expect(outcomes).toHaveLength(STATUSES.length * echoes("").length);
    expect(leaks(outcomes)).toEqual([]);
  });

  it("cancelTask and openDownload on the API's origin, for every status and every echo", async () => {
    const outcomes: unknown[] = [];
    for (const status of STATUSES) {
      for (let variant = 0; variant < echoes("").length; variant++) {
        outcomes.push(await client.cancelTask(`${status}-${variant}`));
        const opened = await client.openDownload(`${server.origin}/${status}-${variant}`, 0);
        if (opened.kind === "ok") opened.body.discard();
        outcomes.push({ ...opened, body: undefined });
      }
    }
    expect(leaks(outcomes)).toEqual([]);
  });

  it("createTask, for every status and every echo", async () => {
    // The create path is fixed, so each answer is chosen by a server that cycles through the cases.
    const cases = STATUSES.flatMap((status) => echoes("").map((_, variant) => [status, variant] as const));
    let next = 0;
    const cycling = await startScriptedServer((req, res) => {
      const [status, variant] = cases[Math.min(next, cases.length - 1)] ?? [500, 0];
      const auth = String(req.headers.authorization ?? "");
      res.writeHead(status, { "content-type": "application/json" });
      res.end(echoes(auth)[variant]);
    });
    const creator = createApiClient({
      provider: "runway",
      baseUrl: cycling.origin,
      apiKey: KEY,
      concurrency: 1,
      maxAttempts: 1,
      sleep: async () => {},
    });
    const outcomes: unknown[] = [];
    try {
      for (next = 0; next < cases.length; next++) outcomes.push(await creator.createTask(BODY));
    } finally {
      await creator.close();
      await cycling.close();
    }
    expect(new Set(outcomes.map((outcome) => (outcome as { kind: string }).kind))).toEqual(
      new Set(["created", "ambiguous", "rejected", "account-stop", "unavailable"]),
    );
    expect(leaks(outcomes)).toEqual([]);
  });
});
