import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildMp4, parseMp4 } from "../../src/media/index.js";
import { checkLocalFile, routeLocalFile, sniffMediaType, toDataUri } from "../../src/preflight/index.js";

const PNG = Buffer.from(
  "89504e470d0a1a0a0000000d4948445200000001000000010806000000" +
    "1f15c4890000000d49444154789c63f8cfc0f01f0005000201a0d5c2f60000000049454e44ae426082",
  "hex",
);
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "actbatch-local-"));
  await writeFile(join(dir, "hero.png"), PNG);
  await writeFile(join(dir, "take.mp4"), buildMp4({ durationSec: 8, mdatBytes: 2000 }));
  await writeFile(join(dir, "short.mp4"), buildMp4({ durationSec: 1.5, moovAtEnd: true }));
  await writeFile(join(dir, "named-like-a-video.mp4"), PNG);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const MB = 1024 * 1024;

describe("local files", () => {
  it("go inline within the data: URI limits, else upload at runway, else a clear refusal at cometapi", () => {
    expect(routeLocalFile("cometapi", "image", 5 * MB)).toEqual({ kind: "data-uri" });
    expect(routeLocalFile("cometapi", "video", 16 * MB)).toEqual({ kind: "data-uri" });
    expect(routeLocalFile("runway", "video", 16 * MB + 1)).toEqual({ kind: "upload" });
    expect(routeLocalFile("runway", "video", 201 * MB)).toMatchObject({ kind: "refused" });
    const refused = routeLocalFile("cometapi", "video", 20 * MB);
    expect(refused).toMatchObject({
      kind: "refused",
      message: expect.stringContaining("host the file on an https:// URL"),
    });
  });

  it("are recognised by their bytes, not their name", () => {
    expect(sniffMediaType(PNG)).toBe("image/png");
    expect(sniffMediaType(Buffer.from([0xff, 0xd8, 0xff, 0xe0]))).toBe("image/jpeg");
    expect(sniffMediaType(buildMp4({ durationSec: 1 }))).toBe("video/mp4");
    expect(sniffMediaType(Buffer.from("hello world, not media"))).toBeNull();
  });

  it("pass or fail the same checks as URLs, with the reference's duration from the header", async () => {
    const ok = await checkLocalFile(join(dir, "take.mp4"), "video", {
      provider: "runway",
      isReference: true,
    });
    expect(ok).toMatchObject({
      problems: [],
      mediaType: "video/mp4",
      durationSec: 8,
      route: { kind: "data-uri" },
    });
    const short = await checkLocalFile(join(dir, "short.mp4"), "video", {
      provider: "cometapi",
      isReference: true,
    });
    expect(short.problems).toEqual(["the reference lasts 1.5 s; the service takes 3-30 s"]);
    const mislabelled = await checkLocalFile(join(dir, "named-like-a-video.mp4"), "video", {
      provider: "cometapi",
      isReference: true,
    });
    expect(mislabelled.problems).toEqual(["the file holds image/png, but the asset is a video"]);
    const missing = await checkLocalFile(join(dir, "nope.mp4"), "video", {
      provider: "cometapi",
      isReference: true,
    });
    expect(missing.problems).toEqual(["cannot read the file: no such file"]);
    expect(
      (await checkLocalFile(join(dir, "hero.png"), "image", { provider: "cometapi", isReference: false }))
        .problems,
    ).toEqual([]);
  });

  it("become data: URIs that decode to the same bytes", () => {
    const bytes = buildMp4({ durationSec: 4 });
    const uri = toDataUri(bytes, "video/mp4");
    expect(uri.startsWith("data:video/mp4;base64,")).toBe(true);
    expect(parseMp4(Buffer.from(uri.slice(uri.indexOf(",") + 1), "base64")).durationSec).toBe(4);
  });
});
