// Assets given as local files (`path:`): sent as data: URIs while small, uploaded once (provider
// runway) when not, keyed by content, and never written into the journal or the manifest.
import { readFile, rename, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { UserError } from "../../src/errors.js";
import { buildMp4 } from "../../src/media/index.js";
import { CANARY_KEY, createWorkspace, sha256, type Workspace } from "../e2e/harness.js";

let ws: Workspace | undefined;
afterEach(async () => {
  await ws?.close();
  ws = undefined;
});

/** The 8-byte PNG signature and an IHDR-sized tail: enough for the media-type sniffing. */
const PNG = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  Buffer.alloc(600, 7),
]);

function localJob(reference: string, seeds = "[1, 2]"): string {
  return [
    "version: 1",
    "name: local",
    "concurrency: 2",
    "assets:",
    "  hero: { type: image, path: ./hero.png }",
    `  take: { type: video, path: ${reference} }`,
    "pairs:",
    "  - { id: p1, character: hero, reference: take }",
    "sweep:",
    `  seed: ${seeds}`,
    "output:",
    '  dir: "out"',
    "",
  ].join("\n");
}

function createBodies(workspace: Workspace): { character: { uri: string }; reference: { uri: string } }[] {
  return workspace.sim
    .requestLog()
    .filter((request) => request.route.endsWith("/v1/character_performance") && request.body !== undefined)
    .map((request) => request.body as { character: { uri: string }; reference: { uri: string } });
}

describe("local files as assets", () => {
  it("sends small files as data: URIs, keys tasks by content, and keeps the bytes out of the journal and the manifest", async () => {
    ws = await createWorkspace("version: 1\nname: placeholder\npairs: []\n");
    const take = buildMp4({ durationSec: 8, mdatBytes: 4000 });
    await writeFile(join(ws.dir, "hero.png"), PNG);
    await writeFile(join(ws.dir, "take.mp4"), take);
    await ws.writeJob(localJob("./take.mp4"));

    const first = await ws.run();
    expect(first.exitCode).toBe(0);
    const bodies = createBodies(ws);
    expect(bodies).toHaveLength(2);
    for (const body of bodies) {
      expect(body.character.uri).toBe(`data:image/png;base64,${PNG.toString("base64")}`);
      expect(body.reference.uri).toBe(`data:video/mp4;base64,${Buffer.from(take).toString("base64")}`);
    }
    // The manifest names the file by its content hash; no data: URI is stored anywhere.
    const placeholder = `local:sha256:${sha256(take)}`;
    expect(first.manifest.tasks.map((task) => task.request.reference.uri)).toEqual([
      placeholder,
      placeholder,
    ]);
    const journal = await readFile(join(ws.outDir, ".actbatch", "journal.ndjson"), "utf8");
    const manifest = await readFile(join(ws.outDir, "manifest.json"), "utf8");
    for (const text of [journal, manifest]) {
      expect(text).toContain(placeholder);
      expect(text).not.toContain("base64");
    }
    // The preflight read the reference's duration from the file, for the cost and the output checks
    // (the simulator, like the service, renders as long as the reference it was sent).
    expect(ws.events.some((e) => e.kind === "note" && /preflight:/.test(e.message))).toBe(true);
    expect(first.manifest.tasks[0]?.outputs[0]?.checks).toContainEqual({
      name: "duration",
      ok: true,
      expected: "8 s",
      actual: "8 s",
    });

    // Moved and renamed, same content: nothing to render again.
    await rename(join(ws.dir, "take.mp4"), join(ws.dir, "performance.mp4"));
    await ws.writeJob(localJob("./performance.mp4"));
    const moved = await ws.run();
    expect(moved.exitCode).toBe(0);
    expect(ws.sim.stats().creates).toBe(2);

    // Edited: another render of each task.
    await writeFile(join(ws.dir, "performance.mp4"), buildMp4({ durationSec: 9, mdatBytes: 4000 }));
    const edited = await ws.run();
    expect(edited.exitCode).toBe(0);
    expect(ws.sim.stats().creates).toBe(4);
    expect(new Set(edited.manifest.tasks.map((task) => task.key)).size).toBe(2);
  });

  it("with provider runway, uploads a file over the data: URI limit once and reuses its runway:// URI across runs", async () => {
    ws = await createWorkspace("version: 1\nname: placeholder\npairs: []\n");
    await writeFile(join(ws.dir, "hero.png"), PNG);
    const big = buildMp4({ durationSec: 6, mdatBytes: 17 * 1024 * 1024 });
    await writeFile(join(ws.dir, "take.mp4"), big);
    await ws.writeJob(localJob("./take.mp4"));
    const runway = {
      provider: "runway" as const,
      baseUrl: ws.sim.origin,
      env: { RUNWAYML_API_SECRET: CANARY_KEY },
    };
    const first = await ws.run(runway);
    expect(first.exitCode).toBe(0);
    const uploads = ws.sim.uploads();
    expect(uploads).toHaveLength(1);
    expect(uploads[0]).toMatchObject({ uploaded: true, bytes: big.length, sha256: sha256(big) });
    const bodies = createBodies(ws);
    expect(bodies).toHaveLength(2);
    for (const body of bodies) {
      expect(body.reference.uri).toBe(uploads[0]?.runwayUri);
      // The small image still goes inline.
      expect(body.character.uri.startsWith("data:image/png;base64,")).toBe(true);
    }
    // A new seed is a new task; the upload is reused from the output folder's cache.
    await ws.writeJob(localJob("./take.mp4", "[1, 2, 3]"));
    const second = await ws.run(runway);
    expect(second.exitCode).toBe(0);
    expect(ws.sim.stats().creates).toBe(3);
    expect(ws.sim.uploads()).toHaveLength(1);
  });

  it("with provider cometapi, refuses a file over the data: URI limit before anything is sent, saying how to host it", async () => {
    ws = await createWorkspace("version: 1\nname: placeholder\npairs: []\n");
    await writeFile(join(ws.dir, "hero.png"), PNG);
    await writeFile(join(ws.dir, "take.mp4"), buildMp4({ durationSec: 6, mdatBytes: 17 * 1024 * 1024 }));
    await ws.writeJob(localJob("./take.mp4"));
    const error = await ws.run().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).exitCode).toBe(2);
    expect((error as UserError).message).toMatch(
      /job\.yaml:6:3: error: asset "take": .*host the file on an https:\/\/ URL/,
    );
    expect(ws.sim.stats().creates).toBe(0);
  });
});

describe("an upload that fails", () => {
  it("stops the run before any create, quoting the service's answer without the key it echoed", async () => {
    // Runway's uploads endpoint played by a server that echoes the request's Authorization header.
    const server = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(400, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: `bad upload request (${req.headers.authorization ?? ""})` }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    try {
      ws = await createWorkspace("version: 1\nname: placeholder\npairs: []\n");
      await writeFile(join(ws.dir, "hero.png"), PNG);
      await writeFile(join(ws.dir, "take.mp4"), buildMp4({ durationSec: 6, mdatBytes: 17 * 1024 * 1024 }));
      await ws.writeJob(localJob("./take.mp4"));
      const error = await ws
        .run({
          provider: "runway",
          baseUrl: `http://127.0.0.1:${port}`,
          env: { RUNWAYML_API_SECRET: CANARY_KEY },
        })
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(UserError);
      const message = (error as UserError).message;
      expect(message).toMatch(/take\.mp4 \(video\): upload failed: POST \/v1\/uploads answered 400/);
      expect(message).not.toContain(CANARY_KEY);
      expect(message).toContain("[REDACTED]");
      expect(ws.sim.stats().creates).toBe(0);
    } finally {
      server.close();
    }
  });
});
