import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RunwayML } from "@runwayml/sdk";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createApiClient } from "../../src/api/client.js";
import type { ApiClient } from "../../src/api/types.js";
import { buildMp4 } from "../../src/media/index.js";
import { uploadEphemeral, uploadOnce, UPLOAD_LIFETIME_MS } from "../../src/preflight/index.js";
import { startSimulator, type Simulator } from "../../src/sim/index.js";

const KEY = "key_upload_test";
const FROZEN = () => 1_800_000_000_000;
let sim: Simulator | undefined;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "actbatch-uploads-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
const clients: ApiClient[] = [];
afterEach(async () => {
  while (clients.length > 0) await clients.pop()?.close();
  await sim?.close();
  sim = undefined;
});

/** Uploads go through the run's API client (provider runway). */
function through(options: { baseUrl: string; apiKey: string }): { api: ApiClient } {
  const api = createApiClient({ provider: "runway", ...options, concurrency: 1 });
  clients.push(api);
  return { api };
}

const clip = buildMp4({ durationSec: 6, mdatBytes: 4000 });
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

async function create(s: Simulator, referenceUri: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`${s.origin}/v1/character_performance`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${KEY}`,
      "x-runway-version": "2024-11-06",
      "content-type": "application/json",
    },
    body: JSON.stringify({
      model: "act_two",
      character: { type: "image", uri: "https://assets.example.com/hero.png" },
      reference: { type: "video", uri: referenceUri },
      ratio: "1280:720",
      bodyControl: true,
      expressionIntensity: 1,
      seed: 1,
      contentModeration: { publicFigureThreshold: "auto" },
    }),
  });
  return { status: response.status, text: await response.text() };
}

describe("uploads (POST /v1/uploads, then the multipart POST), simulator and client", () => {
  it("works with the official SDK's uploads.createEphemeral, and the URI renders", async () => {
    sim = await startSimulator({ speed: 100, apiKey: KEY, clock: FROZEN });
    const runway = new RunwayML({ baseURL: sim.origin, apiKey: KEY, maxRetries: 0 });
    const { uri } = await runway.uploads.createEphemeral({
      file: new File([clip], "take.mp4", { type: "video/mp4" }),
    });
    expect(uri).toMatch(/^runway:\/\//);
    expect(sim.uploads()).toEqual([
      { runwayUri: uri, filename: "take.mp4", bytes: clip.length, sha256: sha256(clip), uploaded: true },
    ]);
    expect((await create(sim, uri)).status).toBe(200);
  });

  it("uploads with actbatch's client, never sending the key to the upload URL", async () => {
    sim = await startSimulator({ speed: 100, apiKey: KEY, clock: FROZEN });
    const uri = await uploadEphemeral(
      { filename: "take.mp4", contentType: "video/mp4", bytes: clip },
      through({ baseUrl: sim.origin, apiKey: KEY }),
    );
    expect(sim.uploads()[0]).toMatchObject({ runwayUri: uri, bytes: clip.length, sha256: sha256(clip) });
    const uploadRequest = sim.requestLog().find((record) => record.route === "POST /__uploads/:id");
    expect(uploadRequest).toMatchObject({ status: "204", authorized: false });
    expect((await create(sim, uri)).status).toBe(200);
  });

  it("refuses URIs whose file never arrived or that expired after 24 h", async () => {
    sim = await startSimulator({ speed: 1, apiKey: KEY, clock: FROZEN });
    const issued = (await (
      await fetch(`${sim.origin}/v1/uploads`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${KEY}`,
          "x-runway-version": "2024-11-06",
          "content-type": "application/json",
        },
        body: JSON.stringify({ filename: "never.mp4", type: "ephemeral" }),
      })
    ).json()) as { runwayUri: string };
    const never = await create(sim, issued.runwayUri);
    expect(never.status).toBe(400);
    expect(never.text).toContain("no such upload");
    const uri = await uploadEphemeral(
      { filename: "take.mp4", contentType: "video/mp4", bytes: clip },
      through({ baseUrl: sim.origin, apiKey: KEY }),
    );
    sim.advance(UPLOAD_LIFETIME_MS + 1000);
    const expired = await create(sim, uri);
    expect(expired.status).toBe(400);
    expect(expired.text).toContain("the upload has expired");
  });

  it("refuses files under 512 bytes, and a file part sent before the fields", async () => {
    sim = await startSimulator({ speed: 100, apiKey: KEY, clock: FROZEN });
    await expect(
      uploadEphemeral(
        { filename: "tiny.mp4", contentType: "video/mp4", bytes: new Uint8Array(100) },
        through({ baseUrl: sim.origin, apiKey: KEY }),
      ),
    ).rejects.toThrow(/answered 400/);
    const issued = (await (
      await fetch(`${sim.origin}/v1/uploads`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${KEY}`,
          "x-runway-version": "2024-11-06",
          "content-type": "application/json",
        },
        body: JSON.stringify({ filename: "x.mp4", type: "ephemeral" }),
      })
    ).json()) as { uploadUrl: string; fields: Record<string, string> };
    const form = new FormData();
    form.append("file", new Blob([clip]), "x.mp4");
    for (const [name, value] of Object.entries(issued.fields)) form.append(name, value);
    expect((await fetch(issued.uploadUrl, { method: "POST", body: form })).status).toBe(400);
  });

  it("uploads a content once and reuses its URI until an hour before it expires", async () => {
    sim = await startSimulator({ speed: 100, apiKey: KEY, clock: FROZEN });
    const cacheFile = join(dir, "out", ".actbatch", "uploads.json");
    const file = { filename: "take.mp4", contentType: "video/mp4", bytes: clip };
    const options = { ...through({ baseUrl: sim.origin, apiKey: KEY }), cacheFile };
    const first = await uploadOnce(file, { ...options, now: 0 });
    const again = await uploadOnce({ ...file, filename: "renamed.mp4" }, { ...options, now: 22 * 3600_000 });
    expect(first.reused).toBe(false);
    expect(again).toEqual({ runwayUri: first.runwayUri, reused: true });
    const late = await uploadOnce(file, { ...options, now: 23.5 * 3600_000 });
    expect(late.reused).toBe(false);
    expect(late.runwayUri).not.toBe(first.runwayUri);
    expect(sim.uploads()).toHaveLength(2);
  });
});
