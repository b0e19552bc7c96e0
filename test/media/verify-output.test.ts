import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildMp4, verifyRenderedOutput } from "../../src/media/index.js";

const clip = fileURLToPath(new URL("../fixtures/media/ei3-s1.mp4", import.meta.url));
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "actbatch-verify-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, bytes: Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

describe("verifyRenderedOutput", () => {
  it("passes a render of the requested ratio and the reference's length", async () => {
    const path = await file(
      "ok.mp4",
      buildMp4({ durationSec: 12.04, width: 1104, height: 832, moovAtEnd: true, mdatBytes: 500_000 }),
    );
    const result = await verifyRenderedOutput(path, { ratio: "1104:832", referenceDurationSec: 12 });
    expect(result).toEqual({
      ok: true,
      checks: [
        { name: "mp4", ok: true },
        { name: "ratio", ok: true, expected: "1104:832", actual: "1104x832" },
        { name: "duration", ok: true, expected: "12 s", actual: "12.04 s" },
      ],
      info: { durationSec: 12.04, width: 1104, height: 832 },
    });
  });

  it("records a wrong ratio and a wrong duration (the simulator's 1 s 16:9 clip against a square 10 s job)", async () => {
    const result = await verifyRenderedOutput(clip, { ratio: "960:960", referenceDurationSec: 10 });
    expect(result.ok).toBe(false);
    expect(result.checks.filter((check) => !check.ok).map((check) => check.message)).toEqual([
      "the video is 192x108, not 960:960",
      "the video lasts 1 s, the reference 10 s",
    ]);
    // The same clip is right for a 16:9 job with a 1 s reference.
    expect((await verifyRenderedOutput(clip, { ratio: "1280:720", referenceDurationSec: 1 })).ok).toBe(true);
  });

  it("does not check the duration when the reference's is unknown", async () => {
    const result = await verifyRenderedOutput(clip, { ratio: "1280:720" });
    expect(result.ok).toBe(true);
    expect(result.checks[2]).toMatchObject({
      name: "duration",
      ok: true,
      message: expect.stringContaining("not checked"),
    });
  });

  it("fails a file that is not an MP4, or was cut short", async () => {
    const html = await file(
      "error.mp4",
      new TextEncoder().encode("<Error><Code>AccessDenied</Code></Error>"),
    );
    expect(await verifyRenderedOutput(html, { ratio: "1280:720" })).toMatchObject({
      ok: false,
      checks: [{ name: "mp4", ok: false }],
    });
    const whole = buildMp4({ durationSec: 5, moovAtEnd: true });
    const cut = await file("cut.mp4", whole.subarray(0, whole.length - 40));
    const result = await verifyRenderedOutput(cut, { ratio: "1280:720" });
    expect(result.checks[0]?.message).toMatch(/cut short|runs past/);
  });
});
