import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../../src/sim/index.js";
import { runCli } from "../helpers/cli.js";

let sim: Simulator;
let dir: string;
beforeAll(async () => {
  sim = await startSimulator({ speed: 100 });
  dir = await mkdtemp(join(tmpdir(), "actbatch-preflight-cli-"));
});
afterAll(async () => {
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});

async function writeJob(name: string, referenceQuery: string): Promise<string> {
  const text = [
    "version: 1",
    `name: ${name}`,
    "assets:",
    `  hero: { type: image, uri: "${sim.origin}/assets/hero.png" }`,
    `  take: { type: video, uri: "${sim.origin}/assets/take.mp4?${referenceQuery}" }`,
    "pairs:",
    "  - { id: a, character: hero, reference: take }",
    "",
  ].join("\n");
  await writeFile(join(dir, `${name}.yaml`), text);
  return `${name}.yaml`;
}

describe("actbatch validate --preflight", () => {
  it("exits 2 with the problem at the asset's line, and submits nothing", async () => {
    const file = await writeJob("too-long", "simDuration=31");
    const result = await runCli(["validate", "--preflight", file], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `${file}:5:3: error: asset "take": the reference lasts 31 s; the service takes 3-30 s`,
    );
    expect(result.stdout).toBe("");
    expect(sim.stats().creates).toBe(0);
  });

  it("exits 0 for usable assets, says what the check cost, and leaves a probe cache in the output folder", async () => {
    const file = await writeJob("usable", "simDuration=12");
    const result = await runCli(["validate", "--preflight", file], { cwd: dir });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${file}: valid, job "usable", 1 task\n`);
    expect(result.stderr).toContain("preflight: 2 assets checked, all usable (3 requests, 16384 bytes read)");
    expect((await stat(join(dir, "out/usable/.actbatch/probe-cache.json"))).isFile()).toBe(true);
    const again = await runCli(["validate", "--preflight", file], { cwd: dir });
    expect(again.stderr).toContain("(2 requests, 0 bytes read, 1 from cache)");
  });

  it("does not touch the network without --preflight", async () => {
    const file = await writeJob("offline", "simDuration=31");
    const before = sim.stats().requests["HEAD /assets/:name"]?.["200"] ?? 0;
    const result = await runCli(["validate", file], { cwd: dir });
    expect(result.code).toBe(0);
    expect(sim.stats().requests["HEAD /assets/:name"]?.["200"] ?? 0).toBe(before);
  });
});
