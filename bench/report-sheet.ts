// The contact sheet at scale, in headless Chromium: report.html (static, file://) and the page
// `actbatch review` serves (live, on loopback), each for a 1,000-task folder against a 12-task one
// loaded in the same browser (the baseline). Per page: its size and build time; first paint, load,
// and the moment every visible cell shows a frame of its clip; then, after scrolling through the
// whole sheet, the most <video> elements that existed at once, the page's JS heap and the browser's
// memory (every Chromium process's resident set, read from /proc). Needs a build (npm run build),
// playwright-core and /usr/bin/chromium. Without chromium it measures nothing, says "not measured:
// no chromium" (a row in run-all's table) and exits 0: the other benches still count.
import { createHash } from "node:crypto";
import {
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { writeHtmlReport } from "../dist/report/html/index.js";
import { openReview } from "../dist/report/review/session.js";
import { formatTable, writeJson, type BenchResult, type BenchRow } from "./lib/report.ts";

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
const QUICK = process.env["BENCH_QUICK"] === "1" || process.argv.includes("--quick");
const ROUNDS = QUICK ? 1 : 3;
const LARGE = QUICK ? 200 : 1000;
const FIRST_PAINT_TARGET_MS = 1500;
const MAX_VIDEOS = 24;

interface Size {
  pairs: string[];
  intensities: number;
  seeds: number;
}

function synthesise(size: Size): { out: string; tasks: number } {
  const out = mkdtempSync(join(tmpdir(), "bench-report-"));
  const clip = CLIP.pathname;
  const bytes = statSync(clip).size;
  const sha256 = createHash("sha256").update(readFileSync(clip)).digest("hex");
  const tasks = [];
  for (const pair of size.pairs) {
    mkdirSync(join(out, pair), { recursive: true });
    for (let ei = 1; ei <= size.intensities; ei++)
      for (let seed = 1; seed <= size.seeds; seed++) {
        const file = `${pair}/ei${ei}-s${seed}.mp4`;
        linkSync(clip, join(out, file));
        const failed = seed % 50 === 0;
        tasks.push({
          key: createHash("sha256").update(file).digest("hex").slice(0, 16),
          pair,
          params: { expressionIntensity: ei, seed },
          request: {
            model: "act_two" as const,
            character: { type: "image" as const, uri: `https://assets.example.com/${pair}.png` },
            reference: { type: "video" as const, uri: `https://assets.example.com/${pair}.mp4` },
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
            ? { code: "SAFETY.INPUT.IMAGE", message: "flagged by moderation", retryable: false }
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
  writeFileSync(join(out, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  return { out, tasks: tasks.length };
}

// Measured inside the page, from the start of the navigation: when every cell in view shows a frame.
const VISIBLE_POSTERS = `new Promise((resolve) => {
  const check = () => {
    const clips = [...document.querySelectorAll(".cell .clip[data-src]")].filter((clip) => {
      const box = clip.getBoundingClientRect();
      return box.bottom > 0 && box.top < innerHeight && box.width > 0;
    });
    if (clips.length > 0 && clips.every((clip) => clip.dataset.poster === "done" || clip.dataset.poster === "failed"))
      resolve(performance.now());
    else requestAnimationFrame(check);
  };
  check();
})`;

interface Load {
  firstPaintMs: number;
  loadMs: number;
  postersMs: number;
}

async function loadOnce(page: Page, url: string): Promise<Load> {
  await page.goto(url, { waitUntil: "load" });
  const postersMs = (await page.evaluate(VISIBLE_POSTERS)) as number;
  const timing = (await page.evaluate(`(() => {
    const paint = performance.getEntriesByName("first-contentful-paint")[0] ?? performance.getEntriesByName("first-paint")[0];
    const navigation = performance.getEntriesByType("navigation")[0];
    return { firstPaintMs: paint ? paint.startTime : NaN, loadMs: navigation ? navigation.loadEventEnd : NaN };
  })()`)) as { firstPaintMs: number; loadMs: number };
  return { ...timing, postersMs };
}

/** Scrolls through the whole sheet, a screen at a time, letting the posters in view appear. */
async function scrollThrough(page: Page): Promise<{ mostVideos: number; scrollMs: number }> {
  await page.evaluate(`(() => {
    window.mostVideos = document.querySelectorAll("video").length;
    new MutationObserver(() => {
      window.mostVideos = Math.max(window.mostVideos, document.querySelectorAll("video").length);
    }).observe(document.body, { childList: true, subtree: true });
  })()`);
  const started = performance.now();
  const height = (await page.evaluate("document.documentElement.scrollHeight")) as number;
  const view = (await page.evaluate("innerHeight")) as number;
  for (let y = 0; y < height; y += view) {
    await page.evaluate(`window.scrollTo(0, ${y})`);
    await page.evaluate(VISIBLE_POSTERS);
  }
  // A pair played in lockstep on the way back up: the largest group the page makes.
  await page.evaluate("window.scrollTo(0, 0)");
  await page.locator(".cell").first().focus();
  await page.keyboard.press(" ");
  await page.evaluate(`new Promise((resolve) => {
    const check = () => [...document.querySelectorAll("section.pair.playing .cell video.live")].some((video) => !video.paused) ? resolve(true) : requestAnimationFrame(check);
    check();
  })`);
  return {
    mostVideos: (await page.evaluate("window.mostVideos")) as number,
    scrollMs: performance.now() - started,
  };
}

function pssMb(pid: number): number {
  try {
    const kb = /^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))?.[1];
    return kb === undefined ? 0 : Number(kb) / 1024;
  } catch {
    return 0;
  }
}

/**
 * Memory of every Chromium process (browser, renderers, GPU, utilities), in MB: the proportional set
 * size, so pages the processes share are counted once rather than once per process.
 */
async function browserMemory(browser: Browser): Promise<{ totalMb: number; rendererMb: number }> {
  const session = await browser.newBrowserCDPSession();
  const { processInfo } = (await session.send("SystemInfo.getProcessInfo")) as {
    processInfo: { type: string; id: number }[];
  };
  await session.detach();
  let totalMb = 0;
  let rendererMb = 0;
  for (const info of processInfo) {
    const mb = pssMb(info.id);
    totalMb += mb;
    if (info.type === "renderer") rendererMb += mb;
  }
  return { totalMb, rendererMb };
}

interface Measured {
  kind: "report.html" | "review";
  tasks: number;
  bytes: number;
  buildMs: number;
  firstPaintMs: number;
  loadMs: number;
  postersMs: number;
  mostVideos: number;
  scrollMs: number;
  jsHeapMb: number;
  browserMb: number;
  rendererMb: number;
  problems: string[];
}

async function measure(size: Size, kind: Measured["kind"]): Promise<Measured> {
  const { out, tasks } = synthesise(size);
  const started = performance.now();
  let url: string;
  let bytes: number;
  let server: { close(): Promise<void> } | null = null;
  if (kind === "report.html") {
    const path = await writeHtmlReport(out, JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")));
    url = pathToFileURL(path).href;
    bytes = statSync(path).size;
  } else {
    const review = await openReview({ target: out, cwd: out, env: {} });
    url = review.url;
    bytes = Buffer.byteLength(await (await fetch(url)).text());
    server = review;
  }
  const buildMs = performance.now() - started;
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const problems: string[] = [];
  const loads: Load[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const page = await context.newPage();
    page.on("pageerror", (error) => problems.push(error.message));
    page.on("request", (request) => {
      const address = request.url();
      if (!address.startsWith("file:") && !address.startsWith(url))
        problems.push(`external request ${address}`);
    });
    loads.push(await loadOnce(page, url));
    await page.close();
  }
  // The last load scrolls through the sheet, then the memory is read.
  const page = await context.newPage();
  page.on("request", (request) => {
    const address = request.url();
    // Space plays the first pair's reference from its URL: the one request a person asked for.
    if (!address.startsWith("file:") && !address.startsWith(url) && !address.endsWith(".mp4"))
      problems.push(`external request ${address}`);
  });
  await loadOnce(page, url);
  const scrolled = await scrollThrough(page);
  const cdp = await context.newCDPSession(page);
  await cdp.send("Performance.enable");
  await cdp.send("HeapProfiler.collectGarbage");
  const { metrics } = (await cdp.send("Performance.getMetrics")) as {
    metrics: { name: string; value: number }[];
  };
  const jsHeapMb = (metrics.find((metric) => metric.name === "JSHeapUsedSize")?.value ?? NaN) / 2 ** 20;
  const memory = await browserMemory(browser);
  await browser.close();
  await server?.close();
  rmSync(out, { recursive: true, force: true });
  const best = (pick: (load: Load) => number) => Math.min(...loads.map(pick));
  return {
    kind,
    tasks,
    bytes,
    buildMs,
    firstPaintMs: best((load) => load.firstPaintMs),
    loadMs: best((load) => load.loadMs),
    postersMs: best((load) => load.postersMs),
    ...scrolled,
    jsHeapMb,
    browserMb: memory.totalMb,
    rendererMb: memory.rendererMb,
    problems,
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
  const startedAt = new Date();
  const small: Size = { pairs: ["a", "b"], intensities: 3, seeds: 2 };
  const large: Size = { pairs: ["hero-dance", "robot-speech"], intensities: 5, seeds: LARGE / 10 };
  const rows: BenchRow[] = [];
  const details: Measured[] = [];
  for (const kind of ["report.html", "review"] as const) {
    const baseline = await measure(small, kind);
    const big = await measure(large, kind);
    details.push(baseline, big);
    for (const r of [baseline, big])
      console.log(
        `${kind.padEnd(11)} ${String(r.tasks).padStart(5)} tasks  ${(r.bytes / 1024).toFixed(0)} KiB  build ${r.buildMs.toFixed(0)} ms  first paint ${r.firstPaintMs.toFixed(0)} ms  load ${r.loadMs.toFixed(0)} ms  posters in view ${r.postersMs.toFixed(0)} ms  most videos ${r.mostVideos}  scroll-through ${(r.scrollMs / 1000).toFixed(1)} s  JS heap ${r.jsHeapMb.toFixed(1)} MB  Chromium ${r.browserMb.toFixed(0)} MB (renderers ${r.rendererMb.toFixed(0)} MB)  problems ${r.problems.length}`,
      );
    const scenario = `${kind}, ${big.tasks} tasks`;
    const row = (
      figure: string,
      pick: (m: Measured) => number,
      target = "",
      met: boolean | null = null,
    ): BenchRow => ({
      scenario,
      figure,
      actbatch: pick(big),
      baseline: pick(baseline),
      ratio: pick(baseline) > 0 ? pick(big) / pick(baseline) : null,
      target,
      met,
    });
    rows.push(
      row(
        "first paint ms",
        (m) => m.firstPaintMs,
        `<= ${FIRST_PAINT_TARGET_MS}`,
        big.firstPaintMs <= FIRST_PAINT_TARGET_MS,
      ),
      row("load ms", (m) => m.loadMs),
      row("every cell in view shows a frame, ms", (m) => m.postersMs),
      row(
        "most <video> at once (scroll-through + a pair playing)",
        (m) => m.mostVideos,
        `<= ${MAX_VIDEOS}`,
        big.mostVideos <= MAX_VIDEOS,
      ),
      row("page KiB", (m) => m.bytes / 1024),
      row("JS heap MB after scroll-through", (m) => m.jsHeapMb),
      row("Chromium MB (PSS, all processes) after scroll-through", (m) => m.browserMb),
      row("requests to other hosts before Space", (m) => m.problems.length, "0", big.problems.length === 0),
    );
  }
  console.log();
  console.log(formatTable(rows));
  const out = process.env["BENCH_JSON_OUT"];
  if (out)
    await writeJson(out, {
      bench: "report-sheet",
      startedAt: startedAt.toISOString(),
      durationMs: Date.now() - startedAt.getTime(),
      params: { rounds: ROUNDS, large: LARGE, viewport: "1400x900" },
      rows,
      notes: ["first paint, load and posters: the best of the rounds; memory after one scroll-through"],
      details,
    });
}
