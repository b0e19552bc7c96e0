// The contact sheet at scale: report.html's size and build time for a 1,000-task job, and its load
// time in headless Chromium, against a 12-task sheet loaded in the same browser (the baseline).
// Needs a build (npm run build), playwright-core and /usr/bin/chromium. Without chromium it measures
// nothing, says "not measured: no chromium" (a row in run-all's table) and exits 0: the other benches
// still count.
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import { writeHtmlReport } from "../dist/report/html/index.js";
import { writeJson, type BenchResult } from "./lib/report.ts";

const CHROMIUM = "/usr/bin/chromium";

const CLIP = new URL("../test/fixtures/media/ei1-s1.mp4", import.meta.url);
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const ROUNDS = 4;

function synthesise(pairs: string[], intensities: number, seeds: number) {
  const out = mkdtempSync(join(tmpdir(), "bench-report-"));
  const bytes = statSync(CLIP).size;
  const sha256 = createHash("sha256").update(readFileSync(CLIP)).digest("hex");
  const tasks = [];
  for (const pair of pairs) {
    mkdirSync(join(out, pair), { recursive: true });
    for (let ei = 1; ei <= intensities; ei++)
      for (let seed = 1; seed <= seeds; seed++) {
        const file = `${pair}/ei${ei}-s${seed}.mp4`;
        copyFileSync(CLIP, join(out, file));
        const failed = seed % 50 === 0;
        tasks.push({
          key: createHash("sha256").update(file).digest("hex").slice(0, 16),
          pair,
          params: { expressionIntensity: ei, seed },
          request: {
            model: "act_two" as const,
            character: {
              type: "image" as const,
              uri: `https://assets.example.com/${pair}.png`,
            },
            reference: {
              type: "video" as const,
              uri: `https://assets.example.com/${pair}.mp4`,
            },
            ratio: "1280:720" as const,
            bodyControl: true,
            expressionIntensity: ei,
            seed,
            contentModeration: { publicFigureThreshold: "auto" as const },
          },
          taskId: `00000000-0000-4000-8000-${String(tasks.length).padStart(12, "0")}`,
          status: failed ? ("FAILED" as const) : ("SUCCEEDED" as const),
          attempts: 1,
          outputs: failed ? [] : [{ file, bytes, sha256 }],
          error: failed
            ? {
                code: "SAFETY.INPUT.IMAGE",
                message: "flagged by moderation",
                retryable: false,
              }
            : null,
          possiblyChargedTwice: false,
          history: [],
        });
      }
  }
  const failed = tasks.filter((task) => task.status === "FAILED").length;
  const manifest = {
    version: 1 as const,
    job: "bench",
    spec: { file: "jobs/bench.yaml", sha256: "a".repeat(64) },
    summary: {
      total: tasks.length,
      succeeded: tasks.length - failed,
      failed,
      pending: 0,
      possiblyChargedTwice: 0,
    },
    tasks,
    orphans: [],
  };
  return { out, manifest };
}

async function measure(size: { pairs: string[]; intensities: number; seeds: number }) {
  const { out, manifest } = synthesise(size.pairs, size.intensities, size.seeds);
  const started = performance.now();
  const path = await writeHtmlReport(out, manifest);
  const buildMs = performance.now() - started;
  const bytes = statSync(path).size;
  const profile = mkdtempSync(join(tmpdir(), "bench-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
  });
  const loads: number[] = [];
  const firstClips: number[] = [];
  let errors = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const page = await context.newPage();
    page.on("console", (message) => {
      if (message.type() === "error") errors++;
    });
    page.on("requestfailed", () => errors++);
    const t0 = performance.now();
    await page.goto(pathToFileURL(path).href, { waitUntil: "load" });
    loads.push(performance.now() - t0);
    // Polled from outside: the report's CSP forbids the eval page.waitForFunction would use.
    while (
      !(await page.evaluate('[...document.querySelectorAll("video.clip")].some((v) => v.readyState >= 1)'))
    )
      await new Promise((resolve) => setTimeout(resolve, 10));
    firstClips.push(performance.now() - t0);
    await page.close();
  }
  await context.close();
  rmSync(profile, { recursive: true, force: true });
  rmSync(out, { recursive: true, force: true });

  return {
    tasks: manifest.tasks.length,
    bytes,
    buildMs,
    loadMs: Math.min(...loads),
    firstClipMs: Math.min(...firstClips),
    errors,
  };
}

/** Without chromium: one row saying so in run-all's table (and a line on stdout), exit 0. */
async function notMeasured(): Promise<void> {
  const reason = `${CHROMIUM} is missing: install Debian's chromium package (as root: apt-get install -y --no-install-recommends chromium)`;
  console.log(`report.html in Chromium: not measured: no chromium (${reason})`);
  const out = process.env["BENCH_JSON_OUT"];
  if (!out) return;
  const result: BenchResult = {
    bench: "report-sheet",
    startedAt: new Date().toISOString(),
    durationMs: 0,
    params: {},
    rows: [
      {
        scenario: "report.html in Chromium, 1,000 tasks",
        figure: "not measured: no chromium",
        actbatch: null,
        baseline: null,
        ratio: null,
        target: "",
        met: null,
      },
    ],
    notes: [reason],
    details: null,
  };
  await writeJson(out, result);
}

if (!existsSync(CHROMIUM)) {
  await notMeasured();
} else {
  const baseline = await measure({ pairs: ["a", "b"], intensities: 3, seeds: 2 });
  const large = await measure({
    pairs: ["hero-dance", "robot-speech"],
    intensities: 5,
    seeds: 100,
  });
  for (const [label, r] of [
    ["baseline", baseline],
    ["1,000 tasks", large],
  ] as const)
    console.log(
      `${label.padEnd(12)} ${String(r.tasks).padStart(5)} tasks  report.html ${(r.bytes / 1024).toFixed(1)} KiB (${Math.round(r.bytes / r.tasks)} B/task)  build ${r.buildMs.toFixed(0)} ms  load ${r.loadMs.toFixed(0)} ms  first clip ready ${r.firstClipMs.toFixed(0)} ms  errors ${r.errors}`,
    );
  console.log(
    `ratio 1,000 tasks / baseline: size ${(large.bytes / baseline.bytes).toFixed(1)}x, load ${(large.loadMs / baseline.loadMs).toFixed(1)}x, first clip ${(large.firstClipMs / baseline.firstClipMs).toFixed(1)}x`,
  );
}
