// The live review page (`actbatch review`) in a real browser: Debian's chromium driven by
// playwright-core, the server started in-process as the command starts it.
import { link, mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { readManifest } from "../../src/manifest/manifest.js";
import type { Manifest, ManifestTask } from "../../src/manifest/types.js";
import { openReview, type OpenedReview } from "../../src/report/review/session.js";
import { repoRoot } from "../helpers/cli.js";
import { earlierFolder, renderDemo, renderWithLocalReference } from "../helpers/review-folders.js";
import {
  hasChromium,
  launch,
  missingChromium,
  openPage,
  playwright,
  screenshot,
  skipReason,
  waitUntil,
  type Browser,
  type Page,
} from "./chromium.js";

const VISIBLE_POSTERS_DONE = `(() => {
  const clips = [...document.querySelectorAll(".cell .clip[data-src]")].filter((clip) => {
    const box = clip.getBoundingClientRect();
    return box.bottom > 0 && box.top < innerHeight && box.width > 0 && clip.offsetParent !== null;
  });
  return clips.length > 0 && clips.every((clip) => clip.dataset.poster === "done");
})()`;

/**
 * Samples the playing videos of `scope` every 100 ms for `ms`: the largest distance between any of
 * them and the first (on the loop, so 9.95 s and 0.02 s of a 10 s clip are 0.07 s apart).
 */
function sampleLockstep(page: Page, scope: string, ms: number) {
  return page.evaluate(`(async () => {
    const videos = [...document.querySelectorAll(${JSON.stringify(scope)})];
    const lead = videos[0];
    const duration = Math.max(...videos.map((video) => video.duration));
    let worst = 0, samples = 0, paused = 0, wrapped = false, last = lead.currentTime;
    const end = performance.now() + ${ms};
    while (performance.now() < end) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const t = lead.currentTime;
      if (t < last) wrapped = true;
      last = t;
      for (const video of videos) {
        if (video.paused) paused++;
        const apart = Math.abs(video.currentTime - t) % duration;
        worst = Math.max(worst, Math.min(apart, duration - apart));
      }
      samples++;
    }
    return { worst, samples, paused, wrapped, videos: videos.length, duration };
  })()`) as Promise<{
    worst: number;
    samples: number;
    paused: number;
    wrapped: boolean;
    videos: number;
    duration: number;
  }>;
}

/** `count` videos of `scope` (at least `count` with "+") playing with data ahead. */
const PLAYING = (scope: string, count: number | `${number}+`) =>
  `(() => { const v = [...document.querySelectorAll(${JSON.stringify(scope)})]; return v.length ${typeof count === "number" ? "===" : ">="} ${Number.parseInt(String(count))} && v.every((video) => !video.paused && video.readyState >= 3); })()`;

async function decisionsOnDisk(
  folder: string,
): Promise<Record<string, { decision: string | null; note: string }>> {
  try {
    return JSON.parse(await readFile(join(folder, "review.json"), "utf8")).decisions;
  } catch {
    return {};
  }
}

async function waitForFile(
  folder: string,
  check: (decisions: Awaited<ReturnType<typeof decisionsOnDisk>>) => boolean,
) {
  const deadline = Date.now() + 10_000;
  while (!check(await decisionsOnDisk(folder))) {
    if (Date.now() > deadline)
      throw new Error(`review.json never got there: ${JSON.stringify(await decisionsOnDisk(folder))}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.skipIf(playwright === null)(`actbatch review in Chromium${skipReason}`, () => {
  let out: string;
  let manifest: Manifest;
  let browser: Browser;
  const servers: OpenedReview[] = [];

  beforeAll(async () => {
    if (!hasChromium()) return; // each test fails in beforeEach, so none is counted as skipped
    out = join(await mkdtemp(join(tmpdir(), "actbatch-review-")), "out");
    await renderDemo([], out);
    manifest = await readManifest(out);
    browser = await launch();
  }, 60_000);

  beforeEach(() => {
    if (!hasChromium()) throw new Error(missingChromium);
  });

  afterAll(async () => {
    for (const server of servers) await server.close();
    await browser?.close();
  });

  async function serve(target: string, extra: { against?: string } = {}) {
    const server = await openReview({ target, cwd: repoRoot, env: {}, ...extra });
    servers.push(server);
    const opened = await openPage(browser.context, server.url, (url) => url.startsWith(server.url));
    return { server, ...opened };
  }

  it("shows a frame of its clip in every visible cell before anything plays (sampled through a canvas)", async () => {
    const { page, problems } = await serve(out);
    await waitUntil(page, VISIBLE_POSTERS_DONE);
    expect(
      await page.evaluate('[...document.querySelectorAll("video")].filter((v) => !v.paused).length'),
    ).toBe(0);
    const frames =
      (await page.evaluate(`[...document.querySelectorAll(".cell .clip[data-poster=done] canvas.poster")]
      .filter((canvas) => { const box = canvas.getBoundingClientRect(); return box.bottom > 0 && box.top < innerHeight; })
      .map((canvas) => {
        const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
        let sum = 0; const colours = new Set();
        for (let i = 0; i < data.length; i += 4) {
          sum += 0.2126 * data[i] + 0.7152 * data[i + 1] + 0.0722 * data[i + 2];
          if (colours.size < 500) colours.add((data[i] >> 4) * 256 + (data[i + 1] >> 4) * 16 + (data[i + 2] >> 4));
        }
        return { mean: sum / (data.length / 4), colours: colours.size };
      })`)) as { mean: number; colours: number }[];
    expect(frames.length).toBeGreaterThan(3);
    for (const frame of frames) {
      expect(frame.mean).toBeGreaterThan(30);
      expect(frame.colours).toBeGreaterThan(8);
    }
    expect(problems).toEqual([]);
    await page.close();
  });

  it("p, x, n and u write review.json at once and mark the cells, which a reload still shows", async () => {
    const { page, problems } = await serve(out);
    const first = page.locator(".cell").first();
    const firstKey = (await first.getAttribute("data-key"))!;
    await first.focus();
    await page.keyboard.press("p");
    await waitForFile(out, (decisions) => decisions[firstKey]?.decision === "pick");
    expect(await first.getAttribute("data-review")).toBe("pick");

    await page.keyboard.press("ArrowRight");
    const secondKey = (await page.evaluate("document.activeElement.dataset.key")) as string;
    expect(secondKey).not.toBe(firstKey);
    await page.keyboard.press("x");
    await page.keyboard.press("n");
    await page.locator("#note-editor textarea").fill("jaw drifts <b>late</b>");
    await page.keyboard.press("Enter");
    await waitForFile(out, (decisions) => decisions[secondKey]?.note === "jaw drifts <b>late</b>");
    expect((await decisionsOnDisk(out))[secondKey]?.decision).toBe("reject");
    expect(await page.locator(`.cell[data-key="${secondKey}"]`).getAttribute("data-review")).toBe("reject");

    await first.focus();
    await page.keyboard.press("u");
    await waitForFile(out, (decisions) => !(firstKey in decisions));
    expect(await first.getAttribute("data-review")).toBeNull();

    const saved = JSON.parse(await readFile(join(out, "review.json"), "utf8"));
    const task = manifest.tasks.find((entry) => entry.key === secondKey)!;
    expect(saved.decisions[secondKey]).toMatchObject({ pair: task.pair, params: task.params });
    await page.reload();
    expect(await page.locator(`.cell[data-key="${secondKey}"]`).getAttribute("data-review")).toBe("reject");
    await page.locator(`.cell[data-key="${secondKey}"]`).focus();
    await page.keyboard.press("i");
    expect(await page.locator("#details").textContent()).toContain("jaw drifts <b>late</b>");
    await screenshot(page, out, "review-decisions.png");
    expect(problems).toEqual([]);
    await page.close();
  });

  it("after Space, the pair's playing clips and its reference stay within 0.1 s of each other for 5 s, across the loop", async () => {
    const local = await renderWithLocalReference(join(out, manifest.tasks[0]!.outputs[0]!.file));
    const { page, problems } = await serve(local.out);
    await waitUntil(page, VISIBLE_POSTERS_DONE);
    await page.locator(".cell").first().focus();
    await page.keyboard.press(" ");
    const group = "section.pair.playing video.live";
    await waitUntil(page, PLAYING(group, 7));
    expect(await page.locator(".ref-clip video.live").count()).toBe(1);
    // Two seconds before the end, so the 5 s span includes a loop.
    await page.evaluate(`(() => {
      const scrub = document.querySelector("section.pair .scrub");
      scrub.value = String(Number(scrub.max) - 2);
      scrub.dispatchEvent(new Event("input", { bubbles: true }));
    })()`);
    await waitUntil(page, PLAYING(group, 7));
    const sync = await sampleLockstep(page, group, 5000);
    expect(sync.videos).toBe(7);
    expect(sync.wrapped).toBe(true);
    expect(sync.samples).toBeGreaterThan(30);
    expect(sync.worst).toBeLessThanOrEqual(0.1);
    await screenshot(page, local.out, "review-lockstep.png");
    // Space again pauses the group; a hover preview alone is not the group playing.
    await page.keyboard.press(" ");
    await waitUntil(
      page,
      '[...document.querySelectorAll("section.pair video.live")].every((video) => video.paused)',
    );
    expect(await page.locator("section.pair.playing").count()).toBe(0);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("leaves a reference that cannot load out of the group rather than holding it up", async () => {
    // The demo's references are https URLs on a name this machine cannot reach.
    const server = await openReview({ target: out, cwd: repoRoot, env: {} });
    servers.push(server);
    const { page } = await openPage(browser.context, server.url, () => true);
    await waitUntil(page, VISIBLE_POSTERS_DONE);
    await page.locator(".cell").first().focus();
    await page.keyboard.press(" ");
    await waitUntil(
      page,
      `document.querySelector("section.pair .ref-state").textContent.includes("left out")`,
    );
    await waitUntil(page, PLAYING("section.pair.playing .cell video.live", "2+"));
    expect(await page.locator(".ref-clip video").count()).toBe(0);
    await page.close();
  });

  it("--against shows before and after of a changed task side by side, playing in sync, with a wipe", async () => {
    const { before, changedKey } = await earlierFolder(out);
    const { page, problems } = await serve(out, { against: before });
    for (
      let step = 0;
      step < 7 &&
      (await page.locator('.filters button[aria-pressed="true"]').getAttribute("data-filter")) !== "changed";
      step++
    )
      await page.keyboard.press("f");
    const shown = (await page.evaluate(
      '[...document.querySelectorAll(".cell")].filter((cell) => cell.offsetParent !== null).map((cell) => cell.dataset.key)',
    )) as string[];
    expect(shown).toEqual([changedKey]);
    const task = manifest.tasks.find((entry) => entry.key === changedKey) as ManifestTask;
    await page.locator(`.cell[data-key="${changedKey}"]`).focus();
    await page.keyboard.press("c");
    await waitUntil(page, PLAYING("#compare video.live", 2));
    const sources = (await page.evaluate(
      '[...document.querySelectorAll("#compare figure")].map((figure) => [figure.className, new URL(figure.querySelector("video").src).pathname])',
    )) as [string, string][];
    expect(sources).toEqual([
      ["before", `/before/${task.outputs[0]!.file}`],
      ["after", `/files/${task.outputs[0]!.file}`],
    ]);
    const sync = await sampleLockstep(page, "#compare video.live", 2000);
    expect(sync.worst).toBeLessThanOrEqual(0.1);
    const [beforeBox, afterBox] = (await page.evaluate(
      '[...document.querySelectorAll("#compare .clip")].map((clip) => clip.getBoundingClientRect().toJSON())',
    )) as { left: number; top: number; width: number }[];
    expect(afterBox!.left).toBeGreaterThan(beforeBox!.left + beforeBox!.width - 1);
    expect(afterBox!.top).toBe(beforeBox!.top);
    expect(beforeBox!.width).toBeGreaterThan(400);
    await screenshot(page, out, "review-compare-side.png");
    await page.locator('#compare button[data-mode="wipe"]').click();
    await page.locator("#compare input.wipe").fill("30");
    expect(
      await page.evaluate('getComputedStyle(document.querySelector("#compare figure.before")).clipPath'),
    ).toContain("70%");
    await screenshot(page, out, "review-compare-wipe.png");
    await page.keyboard.press("Escape");
    expect(await page.locator("#compare").isHidden()).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("on a 1,000-task sheet, never has more than two dozen videos at once while scrolling, previewing and playing a pair, and asks no other host for anything until a remote reference is played", async () => {
    const big = await synthesiseSheet(join(out, manifest.tasks[0]!.outputs[0]!.file), 1000);
    const { page, problems } = await serve(big);
    expect(await page.locator(".cell").count()).toBe(1000);
    await page.evaluate(`(() => {
      window.mostVideos = 0;
      new MutationObserver(() => {
        window.mostVideos = Math.max(window.mostVideos, document.querySelectorAll("video").length);
      }).observe(document.body, { childList: true, subtree: true });
    })()`);
    await waitUntil(page, VISIBLE_POSTERS_DONE);
    const height = (await page.evaluate("document.documentElement.scrollHeight")) as number;
    for (let y = 0; y < height; y += 1800) {
      await page.evaluate(`window.scrollTo(0, ${y})`);
      await page.mouse.move(700, 500);
      await waitUntil(page, VISIBLE_POSTERS_DONE);
    }
    expect(problems).toEqual([]);
    await page.evaluate("window.scrollTo(0, 0)");
    await page.locator(".cell").nth(3).focus();
    await page.keyboard.press(" ");
    await waitUntil(page, PLAYING("section.pair.playing .cell video.live", "8+"));
    expect(await page.evaluate("window.mostVideos")).toBeLessThanOrEqual(24);
    expect(await page.evaluate("window.mostVideos")).toBeGreaterThan(8);
    // Cells beyond the group's players keep (or get back) their frame while the group plays.
    await waitUntil(page, VISIBLE_POSTERS_DONE);
    expect(await page.evaluate("window.mostVideos")).toBeLessThanOrEqual(24);
    await screenshot(page, big, "review-1000.png");
    // The one request that leaves: the pair's reference, played from its URL because Space asked.
    expect(
      problems.filter(
        (problem) =>
          !problem.includes("https://assets.example.com/hero-dance.mp4") &&
          !problem.includes("ERR_NAME_NOT_RESOLVED"),
      ),
    ).toEqual([]);
    await page.close();
  }, 120_000);
});

/** A folder of `count` tasks (two pairs, five intensities), every output a link to one clip. */
async function synthesiseSheet(clip: string, count: number): Promise<string> {
  const out = join(await mkdtemp(join(tmpdir(), "actbatch-1000-")), "out");
  const perPair = count / 2;
  const tasks: ManifestTask[] = [];
  for (const pair of ["hero-dance", "robot-speech"]) {
    await mkdir(join(out, pair), { recursive: true });
    for (let index = 0; index < perPair; index++) {
      const ei = (index % 5) + 1;
      const seed = Math.floor(index / 5) + 1;
      const file = `${pair}/ei${ei}-s${seed}.mp4`;
      await link(clip, join(out, file));
      const failed = seed % 50 === 0 && ei === 3;
      tasks.push({
        key: `${pair === "hero-dance" ? "a" : "b"}${String(index).padStart(15, "0")}`,
        pair,
        params: { expressionIntensity: ei, seed },
        request: {
          model: "act_two",
          character: { type: "image", uri: `https://assets.example.com/${pair}.png` },
          reference: { type: "video", uri: `https://assets.example.com/${pair}.mp4` },
          ratio: "1280:720",
          bodyControl: true,
          expressionIntensity: ei,
          seed,
          contentModeration: { publicFigureThreshold: "auto" },
        },
        taskId: `task-${pair}-${index}`,
        status: failed ? "FAILED" : "SUCCEEDED",
        attempts: 1,
        outputs: failed ? [] : [{ file, bytes: 1, sha256: "0".repeat(64) }],
        error: failed ? { code: "SAFETY.INPUT.IMAGE", message: "flagged", retryable: false } : null,
        possiblyChargedTwice: false,
        history: [],
      });
    }
  }
  const failed = tasks.filter((task) => task.status === "FAILED").length;
  const manifest: Manifest = {
    version: 1,
    job: "scale",
    spec: { file: "jobs/scale.yaml", sha256: "a".repeat(64) },
    summary: { total: count, succeeded: count - failed, failed, pending: 0, possiblyChargedTwice: 0 },
    tasks,
    orphans: [],
  };
  await writeFile(join(out, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  return out;
}
