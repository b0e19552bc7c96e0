import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseMp4, verifyRenderedOutput } from "../../src/media/index.js";
import type { Simulator } from "../../src/sim/index.js";
import { create, driveToEnd, rawGet, startTestSimulator, validBody, type BareTask } from "./helpers.js";

let sim: Simulator;
beforeAll(async () => {
  sim = await startTestSimulator();
});
afterAll(async () => {
  await sim.close();
});

const url = (pathAndQuery: string) => `${sim.origin}/assets/${pathAndQuery}`;

describe("probe-able assets (GET/HEAD /assets/...)", () => {
  it("serves an MP4 of the asked duration, with Content-Type, Content-Length, ETag and Accept-Ranges", async () => {
    const answer = await rawGet(url("take.mp4?simDuration=12"));
    expect(answer.status).toBe(200);
    expect(answer.headers["content-type"]).toBe("video/mp4");
    expect(answer.headers["content-length"]).toBe(String(answer.bytes.length));
    expect(answer.headers["accept-ranges"]).toBe("bytes");
    expect(answer.headers.etag).toMatch(/^"[0-9a-f]{16}"$/);
    expect(parseMp4(answer.bytes).durationSec).toBe(12);
  });

  it("answers HEAD with the same headers and no body", async () => {
    const head = await rawGet(url("take.mp4?simDuration=12"), {}, "HEAD");
    const get = await rawGet(url("take.mp4?simDuration=12"));
    expect(head.status).toBe(200);
    expect(head.bytes.length).toBe(0);
    expect(head.headers["content-length"]).toBe(get.headers["content-length"]);
    expect(head.headers.etag).toBe(get.headers.etag);
  });

  it("lasts 10 s without simDuration, and serves too short and too long clips as asked", async () => {
    for (const [query, seconds] of [
      ["", 10],
      ["?simDuration=2", 2],
      ["?simDuration=31", 31],
    ] as const) {
      const answer = await rawGet(url(`take.mp4${query}`));
      expect(parseMp4(answer.bytes).durationSec).toBe(seconds);
    }
  });

  it("serves byte ranges, and puts moov at the end with simMoov=end", async () => {
    const whole = await rawGet(url("late.mp4?simDuration=7&simMoov=end&simSize=100000"));
    expect(whole.bytes.length).toBe(100_000);
    expect(whole.bytes.subarray(0, 64).includes(Buffer.from("moov"))).toBe(false);
    expect(parseMp4(whole.bytes).durationSec).toBe(7);
    const tail = await rawGet(url("late.mp4?simDuration=7&simMoov=end&simSize=100000"), {
      range: "bytes=-2000",
    });
    expect(tail.status).toBe(206);
    expect(tail.headers["content-range"]).toBe("bytes 98000-99999/100000");
    expect(Buffer.compare(tail.bytes, whole.bytes.subarray(98_000))).toBe(0);
    const middle = await rawGet(url("late.mp4?simDuration=7&simMoov=end&simSize=100000"), {
      range: "bytes=10-19",
    });
    expect(Buffer.compare(middle.bytes, whole.bytes.subarray(10, 20))).toBe(0);
  });

  it("serves images by extension, and lets a hook change the Content-Type", async () => {
    expect((await rawGet(url("hero.png"))).headers["content-type"]).toBe("image/png");
    expect((await rawGet(url("hero.jpg"), {}, "HEAD")).headers["content-type"]).toBe("image/jpeg");
    expect((await rawGet(url("hero.bin"), {}, "HEAD")).headers["content-type"]).toBe(
      "application/octet-stream",
    );
    const typed = await rawGet(url("take.mp4?simType=application%2Foctet-stream"), {}, "HEAD");
    expect(typed.headers["content-type"]).toBe("application/octet-stream");
    expect((await rawGet(url("big.png?simSize=20000000"), {}, "HEAD")).headers["content-length"]).toBe(
      "20000000",
    );
  });

  it("redirects, leaves out Content-Length, ignores Range or fails on request", async () => {
    const redirect = await rawGet(url("take.mp4?simRedirect=1&simDuration=5"), {}, "HEAD");
    expect(redirect.status).toBe(302);
    expect(redirect.headers.location).toBe("/assets/take.mp4?simDuration=5");
    const noLength = await rawGet(url("take.mp4?simNoLength=1"));
    expect(noLength.headers["content-length"]).toBeUndefined();
    expect(noLength.headers["transfer-encoding"]).toBe("chunked");
    expect(parseMp4(noLength.bytes).durationSec).toBe(10);
    const noRange = await rawGet(url("take.mp4?simNoRange=1"), { range: "bytes=0-99" });
    expect(noRange.status).toBe(200);
    expect(noRange.headers["accept-ranges"]).toBeUndefined();
    expect((await rawGet(url("gone.mp4?simFetchStatus=404"), {}, "HEAD")).status).toBe(404);
    expect((await rawGet(url("take.mp4"), {}, "DELETE")).status).toBe(405);
  });

  it("counts asset requests and body bytes in the stats", async () => {
    const before = sim.stats();
    await rawGet(url("count.mp4?simSize=5000"), { range: "bytes=0-999" });
    const after = sim.stats();
    expect(after.assetBytesServed - before.assetBytesServed).toBe(1000);
    expect(after.requests["GET /assets/:name"]?.["206"]).toBe(
      (before.requests["GET /assets/:name"]?.["206"] ?? 0) + 1,
    );
  });
});

describe("renders shaped like the request, as a real render is", () => {
  it("serves an MP4 of the requested ratio lasting as long as the reference, which passes the output checks", async () => {
    const matching = await startTestSimulator();
    const dir = await mkdtemp(join(tmpdir(), "actbatch-matching-"));
    try {
      const body = validBody({
        ratio: "832:1104",
        reference: { type: "video", uri: "https://assets.example.com/take.mp4?simDuration=7" },
      });
      const id = await create(matching.origin, body);
      const last = (await driveToEnd(matching, id)).at(-1) as BareTask;
      const download = await rawGet(last.output?.[0] ?? "");
      expect(download.status).toBe(200);
      expect(download.bytes.length).toBe(matching.expectedOutput(id)?.bytes);
      const file = join(dir, "out.mp4");
      await writeFile(file, download.bytes);
      const verdict = await verifyRenderedOutput(file, { ratio: "832:1104", referenceDurationSec: 7 });
      expect(verdict).toMatchObject({ ok: true, info: { durationSec: 7, width: 108, height: 144 } });
    } finally {
      await matching.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
