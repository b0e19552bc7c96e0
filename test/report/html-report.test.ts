import { cp, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCommand } from "../../src/cli/commands/report.js";
import { beforeAll, describe, expect, it } from "vitest";
import { readManifest } from "../../src/manifest/manifest.js";
import type { Manifest, ManifestTask } from "../../src/manifest/types.js";
import { estimateCost, formatCost } from "../../src/report/html/cost.js";
import { relativeFileUrl } from "../../src/report/html/escape.js";
import { layoutPair } from "../../src/report/html/grid.js";
import { readMp4Duration } from "../../src/report/html/mp4-duration.js";
import { buildHtmlReport, describeReference } from "../../src/report/html/write.js";
import { captureIo } from "../helpers/capture-io.js";
import { repoRoot, runCli } from "../helpers/cli.js";
import { renderDemo, withFailureAndHostilePair } from "../helpers/demo-output.js";

let out: string;
let manifest: Manifest;

beforeAll(async () => {
  out = await renderDemo();
  manifest = await readManifest(out);
});

describe("actbatch report", () => {
  it("writes report.html beside the manifest with one cell per task and relative links only", async () => {
    const result = await runCli(["report", out]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(join(out, "report.html"));
    const html = await readFile(join(out, "report.html"), "utf8");
    expect(html.match(/class="cell[ "]/g)).toHaveLength(12);
    expect(html).toContain(manifest.spec.sha256);
    expect(html).toContain("US$4.80 (12 tasks × US$0.40, CometAPI)");
    for (const task of manifest.tasks) expect(html).toContain(`data-src="${task.outputs[0]?.file ?? "?"}"`);
    // Every src/href the page could load is relative or in-page; the external reference is a link only.
    const sources = [...html.matchAll(/\s(?:src|data-src)="([^"]*)"/g)].map((match) => match[1]);
    for (const source of sources) expect(source).not.toMatch(/^[a-z]+:|^\/\//i);
    expect(html).toContain('href="https://assets.example.com/dance-take1.mp4"');
    expect(html).not.toMatch(/<(?:img|iframe|object)\b/);
    // The one link element is an empty icon, so the browser asks nowhere for a favicon.
    expect(html.match(/<link\b[^>]*>/g)).toEqual(['<link rel="icon" href="data:,">']);
  });

  it("writes JUnit and a GitHub step summary on request", async () => {
    const summary = join(out, "..", "step-summary.md");
    const result = await runCli(["report", out, "--junit", join(out, "junit.xml"), "--step-summary"], {
      env: { GITHUB_STEP_SUMMARY: summary },
    });
    expect(result.code).toBe(0);
    expect(await readFile(join(out, "junit.xml"), "utf8")).toContain('tests="12" failures="0"');
    expect(await readFile(summary, "utf8")).toContain("actbatch `demo`: 12/12 succeeded");
  });

  it("prices Runway by the downloaded clips' durations and lists orphaned tasks", async () => {
    const [first, ...rest] = manifest.tasks;
    const html = await buildHtmlReport(
      out,
      { ...manifest, tasks: rest, orphans: [first!] },
      { provider: "runway" },
    );
    // Every simulated clip lasts as long: 5 credits per started second each.
    const seconds = Math.ceil((await readMp4Duration(join(out, first!.outputs[0]!.file))) ?? NaN);
    const credits = 12 * 5 * seconds;
    expect(html).toContain(`US$${(credits / 100).toFixed(2)} (${credits} credits for 12 tasks, Runway)`);
    expect(html).toContain("<h2>Orphaned tasks</h2>");
    expect(html.match(/class="cell[ "]/g)).toHaveLength(11);
  });

  it("prices with the provider the folder's last run talked to, unless --provider says otherwise", async () => {
    const folder = join(await mkdtemp(join(tmpdir(), "actbatch-runway-")), "out");
    await cp(out, folder, { recursive: true });
    await writeFile(
      join(folder, ".actbatch", "connection.json"),
      '{"provider":"runway","baseUrl":null,"simulated":true}\n',
    );
    const report = async (...flags: string[]) => {
      const captured = captureIo(repoRoot);
      expect(await runCommand([folder, ...flags], captured.io)).toBe(0);
      return readFile(join(folder, "report.html"), "utf8");
    };
    expect(await report()).toMatch(/credits for 12 tasks, Runway\)/);
    expect(await report("--provider", "cometapi")).toContain("US$4.80 (12 tasks × US$0.40, CometAPI)");
  });

  it("rejects an unknown --rows field with the usage text", async () => {
    const result = await runCli(["report", out, "--rows", "speed"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      '--rows expects one of ratio, bodyControl, expressionIntensity, seed, got "speed"',
    );
  });

  it("shows a failed task's code and message and escapes everything from the spec and the API", async () => {
    const html = await buildHtmlReport(out, withFailureAndHostilePair(manifest));
    expect(html).toContain("SAFETY.INPUT.TEXT");
    expect(html).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;");
    expect(html).toContain("&lt;script&gt;alert(&#39;pair&#39;)&lt;/script&gt;");
    expect(html).not.toContain("<script>alert");
    expect(html).not.toContain("<img src=x");
    // One script, ours, allowed by hash in the Content-Security-Policy (the other is JSON data).
    expect(html.match(/<script>/g)).toHaveLength(1);
    expect(html.match(/<script type="application\/json" id="sheet-data">/g)).toHaveLength(1);
    expect(html).toMatch(/script-src &#39;sha256-[A-Za-z0-9+/=]+&#39;/);
  });
});

function sampleTask(ei: number, seed: number, bodyControl = true): ManifestTask {
  return {
    key: `k${ei}-${seed}-${String(bodyControl)}`,
    pair: "p",
    params: { expressionIntensity: ei, seed },
    request: {
      model: "act_two",
      character: { type: "image", uri: "https://x.example/c.png" },
      reference: { type: "video", uri: "https://x.example/r.mp4" },
      ratio: "1280:720",
      bodyControl,
      expressionIntensity: ei,
      seed,
      contentModeration: { publicFigureThreshold: "auto" },
    },
    taskId: null,
    status: "NOT_SUBMITTED",
    attempts: 0,
    outputs: [],
    error: null,
    possiblyChargedTwice: false,
    history: [],
  };
}

describe("contact sheet layout", () => {
  const tasks = [1, 2, 3].flatMap((ei) =>
    [10, 20].flatMap((seed) => [sampleTask(ei, seed, true), sampleTask(ei, seed, false)]),
  );

  it("puts a field with more values than fit across on the rows", () => {
    const seeds = Array.from({ length: 20 }, (_, index) => index + 1);
    const wide = [1, 2, 3].flatMap((ei) => seeds.map((seed) => sampleTask(ei, seed)));
    const grid = layoutPair("p", wide);
    expect([grid.rowField, grid.colField]).toEqual(["seed", "expressionIntensity"]);
    expect(layoutPair("p", wide, { cols: "seed" }).colField).toBe("seed");
  });

  it("puts the field with the most values on the columns, the next on the rows, the rest in sections", () => {
    const grid = layoutPair("p", tasks);
    expect(grid.colField).toBe("expressionIntensity");
    expect(grid.rowField).toBe("seed");
    expect(grid.sections.map((section) => section.values)).toEqual([
      [{ field: "bodyControl", value: false }],
      [{ field: "bodyControl", value: true }],
    ]);
    expect(grid.sections[0]?.colValues).toEqual([1, 2, 3]);
    expect(grid.sections[0]?.cells.flat(2)).toHaveLength(6);
  });

  it("honours --rows and --cols", () => {
    const grid = layoutPair("p", tasks, { rows: "bodyControl", cols: "seed" });
    expect([grid.rowField, grid.colField]).toEqual(["bodyControl", "seed"]);
    expect(grid.sections.map((section) => section.values[0]?.value)).toEqual([1, 2, 3]);
  });
});

describe("report pieces", () => {
  it("links only to files inside the output folder", () => {
    expect(relativeFileUrl("hero/ei1 s#1.mp4")).toBe("hero/ei1%20s%231.mp4");
    for (const bad of ["../x.mp4", "/etc/passwd", "a//b", "javascript:alert(1)", "a\\b"])
      expect(relativeFileUrl(bad)).toBeNull();
  });

  it("prices CometAPI per task and Runway per second, saying when the duration is unknown", () => {
    expect(formatCost(estimateCost("cometapi", [null, null, null]))).toBe(
      "US$1.20 (3 tasks × US$0.40, CometAPI)",
    );
    expect(formatCost(estimateCost("runway", [10, 5]))).toBe("US$0.75 (75 credits for 2 tasks, Runway)");
    expect(formatCost(estimateCost("runway", [10, null]))).toBe(
      "US$0.50 (50 credits for 1 task, Runway) + 1 task of unknown duration",
    );
    expect(formatCost(estimateCost("runway", [null]))).toMatch(/^unknown/);
  });

  it("reads an MP4's duration from its movie header", async () => {
    const file = manifest.tasks[0]?.outputs[0]?.file ?? "";
    expect(await readMp4Duration(join(out, file))).toBeGreaterThan(0);
    expect(await readMp4Duration(join(out, "manifest.json"))).toBeNull();
    expect(await readMp4Duration(join(out, "missing.mp4"))).toBeNull();
  });

  it("plays a local reference clip by a relative link and never fetches an https one", async () => {
    const file = manifest.tasks[0]?.outputs[0]?.file ?? "";
    const local = await describeReference(file, join(out, "sub"), out);
    expect(local.playable).toBe(`../${file}`);
    const remote = await describeReference("https://assets.example.com/a.mp4", out, out);
    expect(remote).toEqual({
      label: "https://assets.example.com/a.mp4",
      playable: null,
      remote: "https://assets.example.com/a.mp4",
      link: "https://assets.example.com/a.mp4",
      problem: null,
    });
  });
});
