import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildMp4 } from "../../src/media/index.js";
import type { Simulator } from "../../src/sim/index.js";
import { call, HEADERS, KEY, startTestSimulator, validBody } from "./helpers.js";

let sim: Simulator;
beforeAll(async () => {
  sim = await startTestSimulator();
});
afterAll(async () => {
  await sim.close();
});

interface ValidationAnswer {
  error: string;
  issues: { code: string; path: (string | number)[]; message: string }[];
  docUrl: string;
}

async function rejected(body: unknown): Promise<ValidationAnswer> {
  const answer = await call(`${sim.origin}/v1/character_performance`, { method: "POST", body });
  expect(answer.status).toBe(400);
  return answer.body as ValidationAnswer;
}

/** A valid body whose reference is an MP4 of `seconds`, inline. */
function withInlineReference(seconds: number): Record<string, unknown> {
  return {
    ...validBody(),
    reference: {
      type: "video",
      uri: `data:video/mp4;base64,${Buffer.from(buildMp4({ durationSec: seconds })).toString("base64")}`,
    },
  };
}

function withoutField(field: string): Record<string, unknown> {
  const body: Record<string, unknown> = { ...validBody() };
  delete body[field];
  return body;
}

describe("create validation", () => {
  it.each([
    ["model", { model: "gen4" }, ["model"], /act_two/],
    ["ratio", { ratio: "16:9" }, ["ratio"], /Invalid option: expected one of '1280:720'\|'720:1280'/],
    ["expressionIntensity too big", { expressionIntensity: 6 }, ["expressionIntensity"], /<=5/],
    ["expressionIntensity too small", { expressionIntensity: 0 }, ["expressionIntensity"], />=1/],
    [
      "expressionIntensity not an integer",
      { expressionIntensity: 2.5 },
      ["expressionIntensity"],
      /expected int/,
    ],
    ["seed negative", { seed: -1 }, ["seed"], />=0/],
    ["seed too big", { seed: 4294967296 }, ["seed"], /<=4294967295/],
    ["seed a string", { seed: "1" }, ["seed"], /expected number, received string/],
    ["bodyControl", { bodyControl: "yes" }, ["bodyControl"], /expected boolean/],
    [
      "publicFigureThreshold",
      { contentModeration: { publicFigureThreshold: "high" } },
      ["contentModeration", "publicFigureThreshold"],
      /'auto'\|'low'/,
    ],
    [
      "reference.type image",
      { reference: { type: "image", uri: "https://a.example.com/x.png" } },
      ["reference", "type"],
      /'video'/,
    ],
    [
      "character.type audio",
      { character: { type: "audio", uri: "https://a.example.com/x.mp3" } },
      ["character", "type"],
      /'image'\|'video'/,
    ],
    [
      "http uri",
      { character: { type: "image", uri: "http://assets.example.com/a.png" } },
      ["character", "uri"],
      /Only HTTPS URLs are allowed/,
    ],
    [
      "ip host",
      { reference: { type: "video", uri: "https://10.0.0.1/a.mp4" } },
      ["reference", "uri"],
      /hosted on a domain/,
    ],
    ["not a url", { character: { type: "image", uri: "hero.png" } }, ["character", "uri"], /Invalid URL/],
    [
      "long url",
      { character: { type: "image", uri: `https://a.example.com/${"x".repeat(2048)}` } },
      ["character", "uri"],
      /2048/,
    ],
    [
      "bad data uri",
      { character: { type: "image", uri: "data:image/png,abc" } },
      ["character", "uri"],
      /Invalid data URI/,
    ],
    [
      "data uri of the wrong type",
      { character: { type: "image", uri: "data:video/mp4;base64,AAAA" } },
      ["character", "uri"],
      /Unsupported asset type/,
    ],
    [
      "reference too long",
      { reference: { type: "video", uri: "https://a.example.com/r.mp4?simDuration=31" } },
      ["reference"],
      /at most 30 seconds/,
    ],
    [
      "reference too short",
      { reference: { type: "video", uri: "https://a.example.com/r.mp4?simDuration=2" } },
      ["reference"],
      /at least 3 seconds/,
    ],
    [
      "asset fetch failure",
      { reference: { type: "video", uri: "https://a.example.com/r.mp4?simFetchStatus=404" } },
      ["reference", "uri"],
      /Failed to fetch asset. Received HTTP response code "404"/,
    ],
  ])("rejects %s with an issue naming the field", async (_name, override, path, message) => {
    const answer = await rejected({ ...validBody(), ...override });
    expect(answer.error).toBe("Validation of body failed");
    expect(answer.docUrl).toBe("https://docs.dev.runwayml.com/api");
    expect(answer.issues).toHaveLength(1);
    expect(answer.issues[0]?.path).toEqual(path);
    expect(answer.issues[0]?.message).toMatch(message);
  });

  it("reports every problem of a body at once, including missing fields", async () => {
    const answer = await rejected({ ...withoutField("character"), seed: -5, ratio: "1:1" });
    expect(answer.issues.map((issue) => issue.path.join("."))).toEqual(["character", "ratio", "seed"]);
    expect(answer.issues[0]?.message).toMatch(/expected object, received undefined/);
  });

  it("accepts data URIs, runway:// URIs, its own asset URLs and optional fields left out", async () => {
    const ownAsset = `${sim.origin}/assets/hero.png`;
    for (const body of [
      { ...validBody(), character: { type: "image", uri: "data:image/png;base64,iVBORw0KGgo=" } },
      { ...validBody(), reference: { type: "video", uri: "runway://upload/abc" } },
      { ...validBody(), character: { type: "image", uri: ownAsset } },
      {
        model: "act_two",
        character: { type: "video", uri: "https://a.example.com/c.mp4" },
        reference: { type: "video", uri: "https://a.example.com/r.mp4" },
      },
      { ...validBody(), extraField: 1 },
    ]) {
      const answer = await call(`${sim.origin}/v1/character_performance`, { method: "POST", body });
      expect({ status: answer.status, body: answer.body }).toMatchObject({ status: 200 });
    }
  });

  it("reads the length of a reference sent as a data: URI: 3-30 s, priced by it", async () => {
    const tooLong = await rejected(withInlineReference(45));
    expect(tooLong.issues).toContainEqual(
      expect.objectContaining({ path: ["reference"], message: "Asset duration must be at most 30 seconds" }),
    );
    const answer = await call(`${sim.origin}/v1/character_performance`, {
      method: "POST",
      body: withInlineReference(12),
    });
    expect(answer).toMatchObject({ status: 200, body: { estimatedCost: { credits: 60 } } });
  });

  it("prices a task at 5 credits per second of reference video", async () => {
    const answer = await call(`${sim.origin}/v1/character_performance`, {
      method: "POST",
      body: {
        ...validBody(),
        reference: { type: "video", uri: "https://a.example.com/r.mp4?simDuration=12.5" },
      },
    });
    expect(answer.body).toMatchObject({ estimatedCost: { credits: 65 } });
  });

  it("rejects a body that is not JSON", async () => {
    const answer = await call(`${sim.origin}/v1/character_performance`, { method: "POST", body: "{nope" });
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ error: "Invalid JSON in request body" });
  });

  it("puts the issues into CometAPI's envelope on /runwayml", async () => {
    const answer = await call(`${sim.baseUrl}/v1/character_performance`, {
      method: "POST",
      body: { ...validBody(), expressionIntensity: 9 },
    });
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({
      error: {
        message: expect.stringMatching(
          /^Validation of body failed: expressionIntensity: Too big.*\(request id: \S+\)$/,
        ),
        type: "comet_api_error",
        param: "",
        code: "invalid_request",
      },
    });
  });

  it("rejects unknown fields when strictBody is set", async () => {
    const strict = await startTestSimulator({ strictBody: true });
    try {
      const answer = await call(`${strict.origin}/v1/character_performance`, {
        method: "POST",
        body: { ...validBody(), promptImage: "x" },
      });
      expect(answer.status).toBe(400);
      expect((answer.body as ValidationAnswer).issues[0]).toMatchObject({ code: "unrecognized_keys" });
    } finally {
      await strict.close();
    }
  });
});

describe("headers", () => {
  it("rejects a missing or malformed Authorization header with 401", async () => {
    const before = sim.stats().creates;
    for (const authorization of [undefined, "Token abc", "Bearer", "Bearer "]) {
      const headers: Record<string, string> = { ...HEADERS };
      if (authorization === undefined) delete headers["authorization"];
      else headers["authorization"] = authorization;
      const answer = await call(`${sim.origin}/v1/character_performance`, {
        method: "POST",
        headers,
        body: validBody(),
      });
      expect(answer.status).toBe(401);
      expect(answer.body).toEqual({ error: expect.any(String) });
    }
    expect(sim.stats().creates).toBe(before);
  });

  it("accepts only the configured key when one is set, and never echoes a key back", async () => {
    const locked = await startTestSimulator({ apiKey: "key_right" });
    try {
      const wrong = await call(`${locked.origin}/v1/tasks/x`, {
        headers: { ...HEADERS, authorization: "Bearer key_wrong" },
      });
      expect(wrong.status).toBe(401);
      expect(wrong.text).not.toContain("key_wrong");
      const right = await call(`${locked.origin}/v1/tasks/x`, {
        headers: { ...HEADERS, authorization: "Bearer key_right" },
      });
      expect(right.status).toBe(404);
      expect(JSON.stringify(locked.requestLog())).not.toContain("key_right");
    } finally {
      await locked.close();
    }
  });

  it("requires X-Runway-Version on every /v1 call and on CometAPI creates, and checks its value", async () => {
    const noVersion = { authorization: `Bearer ${KEY}`, "content-type": "application/json" };
    const create = await call(`${sim.origin}/v1/character_performance`, {
      method: "POST",
      headers: noVersion,
      body: validBody(),
    });
    expect(create.status).toBe(400);
    expect(create.body).toEqual({ error: expect.stringContaining("X-Runway-Version") });
    expect((await call(`${sim.origin}/v1/tasks/x`, { headers: noVersion })).status).toBe(400);
    const cometCreate = await call(`${sim.baseUrl}/v1/character_performance`, {
      method: "POST",
      headers: noVersion,
      body: validBody(),
    });
    expect(cometCreate.status).toBe(400);
    // CometAPI: optional on GET (this unknown id gets task_not_exist, not a header error).
    const cometGet = await call(`${sim.baseUrl}/v1/tasks/x`, { headers: noVersion });
    expect((cometGet.body as { code: string }).code).toBe("task_not_exist");
    const bad = await call(`${sim.origin}/v1/tasks/x`, {
      headers: { ...HEADERS, "x-runway-version": "2023-01-01" },
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ error: expect.stringContaining("2024-11-06") });
    const old = await call(`${sim.origin}/v1/tasks/x`, {
      headers: { ...HEADERS, "x-runway-version": "2024-09-13" },
    });
    expect(old.status).toBe(404);
  });

  it("answers 405 for a wrong method on a known route and 404 for an unknown path", async () => {
    const wrongMethod = await call(`${sim.origin}/v1/character_performance`, { method: "GET" });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toBe("POST");
    expect((await call(`${sim.origin}/v1/tasks/abc`, { method: "PUT", body: {} })).status).toBe(405);
    expect((await call(`${sim.origin}/v2/whatever`)).status).toBe(404);
  });
});
