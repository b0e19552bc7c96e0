import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildMp4 } from "../../src/media/index.js";
import {
  assertPreflightPassed,
  preflightPlan,
  probeCachePath,
  probedDurations,
} from "../../src/preflight/index.js";
import { startSimulator, type Simulator } from "../../src/sim/index.js";
import { loadPlan, SpecError } from "../../src/job/index.js";

let sim: Simulator;
let dir: string;
beforeAll(async () => {
  sim = await startSimulator({ speed: 100 });
  dir = await mkdtemp(join(tmpdir(), "actbatch-preflight-"));
});
afterAll(async () => {
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});

let jobCounter = 0;
/** Writes a job whose assets are the given lines (`{origin}` becomes the simulator's origin). */
async function job(assetLines: string[], pairLines: string[]): Promise<string> {
  const file = `job-${++jobCounter}.yaml`;
  const text = [
    "version: 1",
    `name: pre${jobCounter}`,
    "assets:",
    ...assetLines.map((line) => `  ${line}`),
    "pairs:",
    ...pairLines.map((line) => `  ${line}`),
    "",
  ]
    .join("\n")
    .replaceAll("{origin}", sim.origin);
  await writeFile(join(dir, file), text);
  return file;
}

const load = (file: string) => loadPlan(file, { cwd: dir });
const messages = (report: { problems: { line: number; column: number; message: string }[] }) =>
  report.problems.map((d) => `${d.line}:${d.column}: ${d.message}`);

describe("preflight over real HTTP against the simulator", () => {
  it("reports every problem at its asset's line, all at once, and passes the good ones", async () => {
    const file = await job(
      [
        'hero: { type: image, uri: "{origin}/assets/hero.png" }', // line 4
        'good: { type: video, uri: "{origin}/assets/good.mp4?simDuration=12" }',
        'short: { type: video, uri: "{origin}/assets/short.mp4?simDuration=2" }',
        'long: { type: video, uri: "{origin}/assets/long.mp4?simDuration=31&simMoov=end" }',
        'typed: { type: video, uri: "{origin}/assets/typed.mp4?simType=text%2Fhtml" }',
        'octet: { type: video, uri: "{origin}/assets/octet.bin" }',
        'moved: { type: video, uri: "{origin}/assets/moved.mp4?simRedirect=1" }',
        'nolen: { type: video, uri: "{origin}/assets/nolen.mp4?simNoLength=1" }',
        'huge: { type: video, uri: "{origin}/assets/huge.mp4?simSize=40000000" }',
        'gone: { type: video, uri: "{origin}/assets/gone.mp4?simFetchStatus=404" }',
        'photo: { type: image, uri: "{origin}/assets/photo.mp4" }',
      ],
      [
        "- { id: a, character: hero, reference: good }",
        "- { id: b, character: hero, reference: short }",
        "- { id: c, character: hero, reference: long }",
        "- { id: d, character: hero, reference: typed }",
        "- { id: e, character: hero, reference: octet }",
        "- { id: f, character: hero, reference: moved }",
        "- { id: g, character: hero, reference: nolen }",
        "- { id: h, character: hero, reference: huge }",
        "- { id: i, character: hero, reference: gone }",
        "- { id: j, character: photo, reference: good }",
      ],
    );
    const report = await preflightPlan(await load(file));
    expect(messages(report)).toEqual([
      '6:3: asset "short": the reference lasts 2 s; the service takes 3-30 s',
      '7:3: asset "long": the reference lasts 31 s; the service takes 3-30 s',
      '8:3: asset "typed": Content-Type is text/html, but the asset is a video: expected video/*',
      '9:3: asset "octet": Content-Type is application/octet-stream, which the service refuses; serve it as video/*',
      `10:3: asset "moved": HEAD answered 302, a redirect to ${sim.origin}/assets/moved.mp4; the service follows no redirects: use the final URL`,
      '11:3: asset "nolen": no Content-Length header; the service needs one',
      '12:3: asset "huge": 38.1 MB is over the service\'s limit of 32 MB for videos by URL',
      '13:3: asset "gone": HEAD answered 404; the service needs 200',
      '14:3: asset "photo": Content-Type is video/mp4, but the asset is an image: expected image/*',
    ]);
    const good = report.assets.find((probe) => probe.asset.names.includes("good"));
    expect(good).toMatchObject({ verdict: "ok", durationSec: 12, video: { width: 1280, height: 720 } });
    expect(probedDurations(report).get(`${sim.origin}/assets/good.mp4?simDuration=12`)).toBe(12);
    expect(() => assertPreflightPassed(report)).toThrow(SpecError);
    expect(sim.stats().creates).toBe(0);
  });

  it("costs one HEAD per image, and a HEAD plus one or two small Range reads per reference", async () => {
    const file = await job(
      [
        'hero: { type: image, uri: "{origin}/assets/cost-hero.png" }',
        'fast: { type: video, uri: "{origin}/assets/cost-fast.mp4?simDuration=8" }',
        'late: { type: video, uri: "{origin}/assets/cost-late.mp4?simDuration=8&simMoov=end" }',
      ],
      ["- { id: a, character: hero, reference: fast }", "- { id: b, character: hero, reference: late }"],
    );
    const before = sim.stats().assetBytesServed;
    const report = await preflightPlan(await load(file));
    expect(report.problems).toEqual([]);
    const costs = Object.fromEntries(report.assets.map((p) => [p.asset.names[0], [p.requests, p.bytes]]));
    // A moov at the end: the first read finds the mdat's size, the second reads from the moov to the end.
    expect(costs).toMatchObject({ hero: [1, 0], fast: [2, 16_384], late: [3, expect.any(Number)] });
    expect(costs.late![1]).toBeGreaterThan(16_384);
    expect(costs.late![1]).toBeLessThan(16_384 + 1024);
    expect(report.requests).toBe(6);
    expect(sim.stats().assetBytesServed - before).toBe(report.bytes);
  });

  it("caches durations per URI and ETag: a second check costs one HEAD per reference", async () => {
    const file = await job(
      ['take: { type: video, uri: "{origin}/assets/cached.mp4?simDuration=9&simMoov=end" }'],
      ['- { id: a, character: { type: image, uri: "{origin}/assets/c.png" }, reference: take }'],
    );
    const cacheFile = probeCachePath(join(dir, "out-cache"));
    const first = await preflightPlan(await load(file), { cacheFile });
    const second = await preflightPlan(await load(file), { cacheFile });
    const take = (r: typeof first) => r.assets.find((p) => p.asset.names.includes("take"))!;
    expect(take(first)).toMatchObject({ cached: false, requests: 3, durationSec: 9 });
    expect(take(second)).toMatchObject({ cached: true, requests: 1, bytes: 0, durationSec: 9 });
    const saved = JSON.parse(await readFile(cacheFile, "utf8")) as {
      assets: Record<string, { etag: string }>;
    };
    const uri = `${sim.origin}/assets/cached.mp4?simDuration=9&simMoov=end`;
    expect(saved.assets[uri]).toMatchObject({ durationSec: 9, video: { width: 1280, height: 720 } });
    // Another ETag means another file: probed again.
    saved.assets[uri]!.etag = '"stale"';
    await writeFile(cacheFile, JSON.stringify({ version: 1, ...saved }));
    expect(take(await preflightPlan(await load(file), { cacheFile }))).toMatchObject({
      cached: false,
      requests: 3,
    });
  });

  it("reports inline assets at the pair's character or reference", async () => {
    const file = await job(
      ['hero: { type: image, uri: "{origin}/assets/inline-hero.png" }'],
      [
        "- id: a", // line 6
        "  character: hero",
        '  reference: { type: video, uri: "{origin}/assets/inline.mp4?simDuration=45" }',
      ],
    );
    expect(messages(await preflightPlan(await load(file)))).toEqual([
      "8:5: reference: the reference lasts 45 s; the service takes 3-30 s",
    ]);
  });

  it("reads servers that ignore Range from the start, and says when it would have to read too much", async () => {
    const file = await job(
      [
        'hero: { type: image, uri: "{origin}/assets/nr.png" }',
        'small: { type: video, uri: "{origin}/assets/nr.mp4?simNoRange=1&simDuration=5&simSize=20000" }',
        'big: { type: video, uri: "{origin}/assets/nr2.mp4?simNoRange=1&simMoov=end&simSize=3000000" }',
      ],
      ["- { id: a, character: hero, reference: small }", "- { id: b, character: hero, reference: big }"],
    );
    const report = await preflightPlan(await load(file));
    expect(report.problems).toEqual([]);
    expect(report.assets.find((p) => p.asset.names.includes("small"))?.durationSec).toBe(5);
    expect(report.warnings.map((d) => `${d.line}: ${d.message}`)).toEqual([
      '6: asset "big": duration not checked: the server ignores Range requests, and reading the duration would mean downloading most of the file',
    ]);
  });

  it("checks data: URI references without the network, and warns when a duration hint is wrong", async () => {
    const short = Buffer.from(buildMp4({ durationSec: 2 })).toString("base64");
    const file = await job(
      [
        'hero: { type: image, uri: "{origin}/assets/d.png" }',
        `clip: { type: video, uri: "data:video/mp4;base64,${short}" }`,
        'hinted: { type: video, uri: "{origin}/assets/hinted.mp4?simDuration=20", duration: 10 }',
      ],
      ["- { id: a, character: hero, reference: clip }", "- { id: b, character: hero, reference: hinted }"],
    );
    const report = await preflightPlan(await load(file));
    expect(messages(report)).toEqual([
      '5:3: asset "clip": the reference lasts 2 s; the service takes 3-30 s',
    ]);
    expect(report.assets.find((p) => p.asset.names.includes("clip"))?.requests).toBe(0);
    expect(report.warnings.map((d) => `${d.line}: ${d.message}`)).toEqual([
      '6: asset "hinted": duration: 10 s is written, but the file lasts 20 s',
    ]);
  });

  it("probes only loopback URLs when asked to (a simulated run has no network)", async () => {
    const file = await job(
      ['far: { type: video, uri: "https://assets.example.com/far.mp4" }'],
      ['- { id: a, character: { type: image, uri: "{origin}/assets/near.png" }, reference: far }'],
    );
    const report = await preflightPlan(await load(file), { loopbackOnly: true });
    expect(report.problems).toEqual([]);
    expect(report.assets.map((p) => [p.verdict, p.requests])).toEqual([
      ["ok", 1],
      ["unchecked", 0],
    ]);
    expect(report.warnings.map((d) => d.message)).toEqual([
      'asset "far": not probed: only loopback URLs are fetched in a simulated run',
    ]);
  });

  it("names a connection failure", async () => {
    const port = await closedPort();
    const file = await job(
      [`take: { type: video, uri: "http://127.0.0.1:${port}/take.mp4" }`],
      ['- { id: a, character: { type: image, uri: "{origin}/assets/x.png" }, reference: take }'],
    );
    const [problem] = messages(await preflightPlan(await load(file)));
    expect(problem).toMatch(/^4:3: asset "take": cannot be fetched: ECONNREFUSED/);
  });
});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
