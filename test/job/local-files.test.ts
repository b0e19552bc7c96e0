// `path:` assets at load time: read once, named by content, every problem at its line.
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatDiagnostic, loadPlan, SpecError } from "../../src/job/index.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "actbatch-local-spec-"));
  await writeFile(join(dir, "hero.png"), "image bytes");
  await writeFile(join(dir, "copy.png"), "image bytes");
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function job(character: string): string {
  return [
    "version: 1",
    "name: local",
    "assets:",
    `  hero: ${character}`,
    '  take: { type: video, uri: "https://assets.example.com/take.mp4" }',
    "pairs:",
    "  - { id: p1, character: hero, reference: take }",
    "  - { id: p2, character: { type: image, path: ./copy.png }, reference: take }",
    "",
  ].join("\n");
}

async function problems(text: string): Promise<string[]> {
  await writeFile(join(dir, "job.yaml"), text);
  try {
    await loadPlan("job.yaml", { cwd: dir });
    return [];
  } catch (error) {
    if (!(error instanceof SpecError)) throw error;
    return error.diagnostics.map((d) => formatDiagnostic(d));
  }
}

describe("local files in a job file", () => {
  it("names each file by its content hash, relative to the job file, and lists it in the plan", async () => {
    await writeFile(join(dir, "job.yaml"), job("{ type: image, path: ./hero.png }"));
    // Loaded from another working directory: paths are relative to the job file, not the cwd.
    const { plan, report } = await loadPlan(join(dir, "job.yaml"), { cwd: "/" });
    const sha = createHash("sha256").update("image bytes").digest("hex");
    expect(plan.tasks[0]?.request.character.uri).toBe(`local:sha256:${sha}`);
    // Same bytes in another file: the same placeholder, so p2's task is p1's (one render, both pairs).
    expect(plan.tasks).toHaveLength(1);
    expect(report.merged).toBe(1);
    expect(plan.localFiles).toEqual([
      expect.objectContaining({
        type: "image",
        path: join(dir, "hero.png"),
        written: "./hero.png",
        size: 11,
      }),
    ]);
    const asset = report.assets?.find((a) => a.type === "image");
    expect(asset?.path).toBe(join(dir, "hero.png"));
    expect(asset?.sources.map((s) => s.line)).toEqual([4, 8]);
  });

  it("reports a missing file, both uri and path, neither, and a URL written as a path, at their lines", async () => {
    expect(await problems(job("{ type: image, path: ./nope.png }"))).toEqual([
      "job.yaml:4:30: error: cannot read ./nope.png: no such file",
    ]);
    expect(
      await problems(job('{ type: image, uri: "https://a.example.com/x.png", path: ./hero.png }')),
    ).toEqual(["job.yaml:4:9: error: give uri or path, not both"]);
    expect(await problems(job("{ type: image }"))).toEqual([
      "job.yaml:4:9: error: missing uri (an https:// URL, a data: URI or a runway:// upload URI) or path (a local file)",
    ]);
    expect(await problems(job("{ type: image, path: https://a.example.com/x.png }"))).toEqual([
      'job.yaml:4:30: error: asset "hero": path is a file on this machine; write a URL as uri:',
    ]);
    expect(await problems(job("{ type: image, path: . }"))).toEqual([
      "job.yaml:4:30: error: cannot read .: it is a folder, not a file",
    ]);
  });
});
