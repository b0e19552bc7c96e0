import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { syntheticSha256, type Simulator } from "../../src/sim/index.js";
import { create, driveToEnd, rawGet, startTestSimulator, validBody, type BareTask } from "./helpers.js";

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function finishedOutput(s: Simulator, body = validBody()): Promise<{ id: string; url: string }> {
  const id = await create(s.origin, body);
  const last = (await driveToEnd(s, id)).at(-1) as BareTask;
  return { id, url: last.output?.[0] ?? "" };
}

function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

describe("output downloads", () => {
  it("serves the whole file with Content-Length, Accept-Ranges and an ETag", async () => {
    sim = await startTestSimulator();
    const { id, url } = await finishedOutput(sim);
    const answer = await rawGet(url);
    const expected = sim.expectedOutput(id);
    expect(answer.status).toBe(200);
    expect(answer.headers["content-length"]).toBe(String(expected?.bytes));
    expect(answer.headers["accept-ranges"]).toBe("bytes");
    expect(answer.headers["etag"]).toBeTruthy();
    expect(sha256(answer.bytes)).toBe(expected?.sha256);
    expect(sim.stats().bytesServed).toBe(expected?.bytes);
    expect(sim.stats().downloadsCompleted).toBe(1);
  });

  it("answers HEAD with the headers only", async () => {
    sim = await startTestSimulator();
    const { id, url } = await finishedOutput(sim);
    const answer = await rawGet(url, {}, "HEAD");
    expect(answer.status).toBe(200);
    expect(answer.headers["content-length"]).toBe(String(sim.expectedOutput(id)?.bytes));
    expect(answer.bytes.length).toBe(0);
  });

  it("honours Range with 206 and Content-Range, suffix ranges, and 416 past the end", async () => {
    sim = await startTestSimulator();
    const { url } = await finishedOutput(sim);
    const whole = (await rawGet(url)).bytes;
    const size = whole.length;
    const middle = await rawGet(url, { range: "bytes=100-199" });
    expect(middle.status).toBe(206);
    expect(middle.headers["content-range"]).toBe(`bytes 100-199/${size}`);
    expect(middle.headers["content-length"]).toBe("100");
    expect(middle.bytes.equals(whole.subarray(100, 200))).toBe(true);
    const open = await rawGet(url, { range: "bytes=1000-" });
    expect(open.bytes.equals(whole.subarray(1000))).toBe(true);
    const suffix = await rawGet(url, { range: "bytes=-10" });
    expect(suffix.headers["content-range"]).toBe(`bytes ${size - 10}-${size - 1}/${size}`);
    const past = await rawGet(url, { range: `bytes=${size}-` });
    expect(past.status).toBe(416);
    expect(past.headers["content-range"]).toBe(`bytes */${size}`);
    const staleIfRange = await rawGet(url, { range: "bytes=10-", "if-range": '"something-else"' });
    expect(staleIfRange.status).toBe(200);
    expect(staleIfRange.bytes.length).toBe(size);
  });

  it("refuses a tampered URL and an expired one with 403; a fresh GET of the task gives a working URL", async () => {
    sim = await startTestSimulator({ urlTtlMs: 60_000, speed: 100 });
    const { id, url } = await finishedOutput(sim);
    const tampered = url.replace(/sig=./, (m) => (m.endsWith("A") ? "sig=B" : "sig=A"));
    expect((await rawGet(tampered)).status).toBe(403);
    expect((await rawGet(url.replace(/exp=\d+/, (m) => `${m}9`))).status).toBe(403);
    sim.advance(60_000 / 100 + 1);
    const expired = await rawGet(url);
    expect(expired.status).toBe(403);
    expect(expired.bytes.toString()).toContain("expired");
    const fresh = (await driveToEnd(sim, id)).at(-1) as BareTask;
    expect((await rawGet(fresh.output?.[0] ?? "")).status).toBe(200);
  });

  it("renders each task apart, so a sweep gives distinct videos and seeds 0 and 4 are not one file", async () => {
    sim = await startTestSimulator();
    const digests = new Set<string>();
    for (const expressionIntensity of [1, 3, 5])
      for (const seed of [0, 1, 4])
        digests.add(
          sim.expectedOutput(await create(sim.origin, validBody({ expressionIntensity, seed })))?.sha256 ??
            "",
        );
    expect(digests.size).toBe(9);
  });

  it("truncate: the body stops half way and the connection dies; a Range request resumes it", async () => {
    sim = await startTestSimulator({ faults: "truncate=1" });
    const { id, url } = await finishedOutput(sim);
    const expected = sim.expectedOutput(id);
    const cut = await rawGet(url);
    expect(cut.status).toBe(200);
    expect(cut.error).not.toBeNull();
    expect(cut.bytes.length).toBeGreaterThan(0);
    expect(cut.bytes.length).toBeLessThan(expected?.bytes ?? 0);
    sim.setFaults(undefined);
    const rest = await rawGet(url, { range: `bytes=${cut.bytes.length}-` });
    expect(rest.status).toBe(206);
    expect(sha256(Buffer.concat([cut.bytes, rest.bytes]))).toBe(expected?.sha256);
    expect(sim.stats().faults).toEqual({ "download:truncate": 1 });
  });

  it("slow: the whole body arrives, trickled out over slowMs / speed", async () => {
    sim = await startTestSimulator({ faults: "slow=1", slowMs: 30_000, speed: 100 });
    const { id, url } = await finishedOutput(sim);
    const started = Date.now();
    const answer = await rawGet(url);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(answer.error).toBeNull();
    expect(sha256(answer.bytes)).toBe(sim.expectedOutput(id)?.sha256);
  });

  it("download faults from the API kinds: 503 and reset on the output URL", async () => {
    sim = await startTestSimulator({ faults: "download:503=1" });
    const { url } = await finishedOutput(sim);
    expect((await rawGet(url)).status).toBe(503);
    sim.setFaults("download:reset=1");
    expect((await rawGet(url)).error).toMatch(/ECONNRESET|socket hang up/);
  });

  it("streams a large synthetic payload with a known sha256 when outputBytes is set", async () => {
    const size = 5 * 1024 * 1024 + 123;
    sim = await startTestSimulator({ outputBytes: size });
    const { id, url } = await finishedOutput(sim);
    const answer = await rawGet(url);
    expect(answer.bytes.length).toBe(size);
    expect(sha256(answer.bytes)).toBe(syntheticSha256(id, size));
    expect(sim.expectedOutput(id)?.sha256).toBe(syntheticSha256(id, size));
    const tail = await rawGet(url, { range: `bytes=${size - 70_000}-` });
    expect(tail.bytes.equals(answer.bytes.subarray(size - 70_000))).toBe(true);
  });
});
