// Output verification: every downloaded render's MP4 header is checked against its request and the
// result recorded in the manifest; a mismatch is reported and fails the run, the task stays SUCCEEDED.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Manifest } from "../../src/manifest/types.js";
import { formatRunSummary } from "../../src/report/run-summary-text.js";
import { createWorkspace, totalRequests, type Workspace } from "../e2e/harness.js";

let ws: Workspace | null = null;
afterEach(async () => {
  await ws?.close();
  ws = null;
});

async function readManifest(outDir: string): Promise<Manifest> {
  return JSON.parse(await readFile(join(outDir, "manifest.json"), "utf8")) as Manifest;
}

describe("output checks against the simulator", () => {
  it("records passing checks for renders of the requested ratio; the unknown reference duration is not checked", async () => {
    ws = await createWorkspace({ pairs: 1, intensities: [1, 2] });
    const result = await ws.run();
    expect(result.exitCode).toBe(0);
    expect(result.summary.checkFailures).toEqual([]);
    const manifest = await readManifest(ws.outDir);
    const outputs = manifest.tasks.flatMap((task) => task.outputs);
    expect(outputs).toHaveLength(2);
    for (const output of outputs)
      expect(output.checks).toEqual([
        { name: "mp4", ok: true },
        { name: "ratio", ok: true, expected: "1280:720", actual: "192x108" },
        {
          name: "duration",
          ok: true,
          actual: "10 s",
          message: "not checked: the reference's duration is unknown",
        },
      ]);
    expect(formatRunSummary(result.summary).join("\n")).not.toContain("output checks failed");
  });

  it("records a failed ratio check, names it in the summary and exits 1; the task stays SUCCEEDED and a rerun changes nothing", async () => {
    // Every render comes back square although 1280:720 was asked for.
    ws = await createWorkspace({ pairs: 1, intensities: [1, 2] }, { clipRatio: "960:960" });
    const result = await ws.run();
    expect(result.exitCode).toBe(1);
    const manifest = await readManifest(ws.outDir);
    expect(manifest.summary).toMatchObject({ succeeded: 2, failed: 0 });
    for (const task of manifest.tasks) {
      expect(task.status).toBe("SUCCEEDED");
      expect(task.outputs).toHaveLength(1);
      expect(task.outputs[0]?.checks?.find((check) => check.name === "ratio")).toEqual({
        name: "ratio",
        ok: false,
        expected: "1280:720",
        actual: "108x108",
        message: "the video is 108x108, not 1280:720",
      });
    }
    expect(result.summary.checkFailures.map((failure) => failure.file)).toEqual([
      "pair0/ei1-s100.mp4",
      "pair0/ei2-s100.mp4",
    ]);
    const text = formatRunSummary(result.summary).join("\n");
    expect(text).toContain("output checks failed (2)");
    expect(text).toContain("stays SUCCEEDED");
    expect(text).toContain(
      "pair0 expressionIntensity=1 [" +
        manifest.tasks[0]?.key +
        "] pair0/ei1-s100.mp4: ratio: the video is 108x108, not 1280:720",
    );
    // The files are kept.
    for (const failure of result.summary.checkFailures)
      expect((await readFile(join(ws.outDir, failure.file))).length).toBeGreaterThan(0);

    // The checks live in the journal: a rerun shows them again without a request or a byte changed.
    const before = await readFile(join(ws.outDir, "manifest.json"));
    const requests = totalRequests(ws.sim);
    const again = await ws.run();
    expect(again.exitCode).toBe(1);
    expect(totalRequests(ws.sim)).toBe(requests);
    expect(await readFile(join(ws.outDir, "manifest.json"))).toEqual(before);
    expect(again.summary.checkFailures).toHaveLength(2);
  });

  it("checks the duration against the probed reference: a 1 s render of a 10 s reference fails", async () => {
    ws = await createWorkspace("version: 1\nname: placeholder\npairs: []\n", { clipSeconds: 1 });
    await ws.writeJob(
      [
        "version: 1",
        "name: timed",
        "assets:",
        '  hero: { type: image, uri: "https://assets.example.com/hero.png" }',
        `  take: { type: video, uri: "${ws.sim.origin}/assets/take.mp4?simDuration=10" }`,
        "pairs:",
        "  - { id: p1, character: hero, reference: take }",
        "",
      ].join("\n"),
    );
    const result = await ws.run();
    expect(result.exitCode).toBe(1);
    const [task] = result.manifest.tasks;
    expect(task?.status).toBe("SUCCEEDED");
    expect(task?.outputs[0]?.checks?.find((check) => check.name === "duration")).toEqual({
      name: "duration",
      ok: false,
      expected: "10 s",
      actual: "1 s",
      message: "the video lasts 1 s, the reference 10 s",
    });
    expect(formatRunSummary(result.summary).join("\n")).toContain(
      "duration: the video lasts 1 s, the reference 10 s",
    );
  });

  it("records a download that is not an MP4 as a failed mp4 check", async () => {
    ws = await createWorkspace({ pairs: 1, intensities: [1] }, { outputBytes: 4096 });
    const result = await ws.run();
    expect(result.exitCode).toBe(1);
    const [task] = (await readManifest(ws.outDir)).tasks;
    expect(task?.status).toBe("SUCCEEDED");
    expect(task?.outputs[0]?.checks).toEqual([
      {
        name: "mp4",
        ok: false,
        message: expect.stringMatching(/^not a readable MP4: /) as unknown as string,
      },
    ]);
  });

  it("checks nothing with outputChecks false (--no-output-checks): no checks recorded, exit 0", async () => {
    ws = await createWorkspace({ pairs: 1, intensities: [1] }, { outputBytes: 4096 });
    const result = await ws.run({ outputChecks: false });
    expect(result.exitCode).toBe(0);
    const [task] = (await readManifest(ws.outDir)).tasks;
    expect(task?.status).toBe("SUCCEEDED");
    expect(task?.outputs[0]).not.toHaveProperty("checks");
  });
});
