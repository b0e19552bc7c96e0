// The contact sheet (report.html) in a real browser: Debian's chromium driven by playwright-core.
import { copyFile, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { readManifest } from "../../src/manifest/manifest.js";
import type { Manifest } from "../../src/manifest/types.js";
import { writeHtmlReport } from "../../src/report/html/index.js";
import { applyDecision, emptyReview, writeReview } from "../../src/report/review/decisions.js";
import { renderDemo, withFailureAndHostilePair } from "../helpers/demo-output.js";
import {
  hasChromium,
  launch,
  missingChromium,
  openPage,
  playwright,
  sampleElement,
  screenshot,
  skipReason,
  waitUntil,
  type Browser,
} from "./chromium.js";

const VISIBLE_POSTERS_DONE = `(() => {
  const clips = [...document.querySelectorAll(".cell .clip[data-src]")].filter((clip) => {
    const box = clip.getBoundingClientRect();
    return box.bottom > 0 && box.top < innerHeight && box.width > 0;
  });
  return clips.length > 0 && clips.every((clip) => clip.dataset.poster === "done");
})()`;

describe.skipIf(playwright === null)(`report.html in Chromium${skipReason}`, () => {
  let out: string;
  let manifest: Manifest;
  let browser: Browser;

  beforeAll(async () => {
    if (!hasChromium()) return; // each test fails in beforeEach, so none is counted as skipped
    out = await renderDemo();
    manifest = await readManifest(out);
    browser = await launch();
  }, 60_000);

  beforeEach(() => {
    if (!hasChromium()) throw new Error(missingChromium);
  });

  afterAll(async () => {
    await browser?.close();
  });

  async function openReport(sheet: Manifest, folder = out) {
    const path = await writeHtmlReport(folder, sheet);
    return openPage(browser.context, pathToFileURL(path).href, (url) => url.startsWith("file:"));
  }

  it("shows a frame of its clip in every visible cell before anything plays, with no request leaving the page", async () => {
    const { page, problems } = await openReport(manifest);
    expect(await page.locator(".cell[data-key][tabindex]").count()).toBe(12);
    await waitUntil(page, VISIBLE_POSTERS_DONE);
    expect(
      await page.evaluate('[...document.querySelectorAll("video")].filter((v) => !v.paused).length'),
    ).toBe(0);
    const visible = page.locator(".cell .clip[data-poster=done]");
    const count = await visible.count();
    for (let index = 0; index < count; index++) {
      const clip = visible.nth(index);
      if (!(await clip.isVisible())) continue;
      const pixels = await sampleElement(browser.context, clip);
      expect(pixels.mean, `cell ${index} is dark`).toBeGreaterThan(30);
      expect(pixels.colours, `cell ${index} is flat`).toBeGreaterThan(8);
    }
    await screenshot(page, out, "report-screenshot.png");
    expect(problems).toEqual([]);
    await page.close();
  });

  it("plays a cell's clip from its local file while the pointer is on it", async () => {
    const { page, problems } = await openReport(manifest);
    await page.locator(".cell").first().hover();
    await waitUntil(page, 'document.querySelector(".cell video.live")?.paused === false');
    expect(problems).toEqual([]);
    await page.close();
  });

  it("fills a wide window with cells of their clip's shape, the reference as wide as a cell", async () => {
    const { page } = await openReport(manifest);
    const sizes = (await page.evaluate(`[...document.querySelectorAll("section.pair")].map((pair) => {
      const cell = pair.querySelector(".cell").getBoundingClientRect();
      const clip = pair.querySelector(".cell .clip").getBoundingClientRect();
      const reference = pair.querySelector("aside.reference").getBoundingClientRect();
      const right = Math.max(...[...pair.querySelectorAll(".cell")].map((cell) => cell.getBoundingClientRect().right));
      return { cell: cell.width, width: clip.width, height: clip.height, reference: reference.width, right, window: innerWidth };
    })`)) as {
      cell: number;
      width: number;
      height: number;
      reference: number;
      right: number;
      window: number;
    }[];
    const [hero, robot] = sizes;
    // hero-dance renders 16:9 (1280:720), robot-speech square (960:960).
    expect(hero!.width / hero!.height).toBeCloseTo(16 / 9, 1);
    expect(robot!.width / robot!.height).toBeCloseTo(1, 1);
    for (const pair of sizes) {
      expect(pair.width).toBeGreaterThan(220);
      expect(Math.abs(pair.reference - pair.cell)).toBeLessThan(2);
      expect(pair.right / pair.window).toBeGreaterThan(0.85);
      expect(pair.right).toBeLessThanOrEqual(pair.window);
    }
    await page.close();
  });

  it("shows a failed cell's code and message, and a hostile pair id, as text", async () => {
    const { page, problems } = await openReport(withFailureAndHostilePair(manifest));
    const failed = page.locator('.cell[data-status="FAILED"]');
    expect(await failed.count()).toBe(1);
    expect(await failed.locator(".error-code").textContent()).toBe("SAFETY.INPUT.TEXT");
    expect(await failed.locator(".error-message").textContent()).toBe(
      'Moderation rejected the input <img src=x onerror="alert(1)">',
    );
    expect(await page.locator("h2", { hasText: "<script>alert('pair')</script>" }).count()).toBe(1);
    expect(await page.locator("img").count()).toBe(0);
    expect(await page.locator("script:not([type])").count()).toBe(1);
    await page.locator(".cell").last().focus();
    await page.keyboard.press("i");
    expect(await page.locator("#details h2").textContent()).toContain("<script>alert('pair')</script>");
    await screenshot(page, out, "report-hostile-screenshot.png");
    expect(problems).toEqual([]);
    await page.close();
  });

  it("shows the saved decisions read-only, and the decisions on tasks that left the job", async () => {
    const folder = join(await mkdtemp(join(tmpdir(), "actbatch-decided-")), "out");
    await renderDemo([], folder);
    const sheet = await readManifest(folder);
    const [first, second] = sheet.tasks;
    let review = applyDecision(emptyReview("demo"), { key: first!.key, decision: "pick" }, first!, "t1");
    review = applyDecision(
      review,
      { key: second!.key, decision: "reject", note: "jaw drifts" },
      second!,
      "t2",
    );
    review = applyDecision(
      review,
      { key: "0123456789abcdef", decision: "pick" },
      { pair: "old", params: { seed: 9 } },
      "t3",
    );
    await writeReview(folder, review);
    const { page, problems } = await openReport(sheet, folder);
    expect(await page.locator(`.cell[data-key="${first!.key}"]`).getAttribute("data-review")).toBe("pick");
    expect(await page.locator(`.cell[data-key="${second!.key}"]`).getAttribute("data-review")).toBe("reject");
    expect(await page.locator('.decided-orphans tr[data-key="0123456789abcdef"]').count()).toBe(1);
    const third = page.locator(".cell:not([data-review])").first();
    const key = await third.getAttribute("data-key");
    await third.focus();
    await page.keyboard.press("p");
    expect(await page.locator(`.cell[data-key="${key}"]`).getAttribute("data-review")).toBeNull();
    expect(await page.locator("#status").textContent()).toContain("read-only");
    expect(problems).toEqual([]);
    await page.close();
  });

  it("moves focus with the arrow keys and cycles the filters with f", async () => {
    const failing = withFailureAndHostilePair(manifest);
    failing.tasks[3]!.outputs[0]!.checks = [
      { name: "ratio", ok: false, expected: "1280:720", actual: "960x960" },
    ];
    const { page } = await openReport(failing);
    const focusedKey = 'document.activeElement.closest(".cell")?.dataset.key';
    const box = (key: string) =>
      page.evaluate(
        `document.querySelector('.cell[data-key="${key}"]').getBoundingClientRect().toJSON()`,
      ) as Promise<{
        left: number;
        top: number;
      }>;
    await page.locator(".section").nth(1).locator(".cell").first().focus();
    const start = (await page.evaluate(focusedKey)) as string;
    await page.keyboard.press("ArrowRight");
    const right = (await page.evaluate(focusedKey)) as string;
    expect((await box(right)).left).toBeGreaterThan((await box(start)).left);
    expect((await box(right)).top).toBe((await box(start)).top);
    await page.keyboard.press("ArrowDown");
    const below = (await page.evaluate(focusedKey)) as string;
    expect((await box(below)).top).toBeGreaterThan((await box(right)).top);
    expect((await box(below)).left).toBe((await box(right)).left);

    const shown = () =>
      page.evaluate(
        '[...document.querySelectorAll(".cell")].filter((cell) => cell.offsetParent !== null).length',
      );
    const pressed = () => page.locator('.filters button[aria-pressed="true"]').getAttribute("data-filter");
    const seen: Record<string, unknown> = {};
    for (let step = 0; step < 6; step++) {
      await page.keyboard.press("f");
      seen[(await pressed()) ?? ""] = await shown();
    }
    expect(seen).toEqual({ picked: 0, rejected: 0, undecided: 12, failed: 1, checks: 1, all: 12 });
    await page.close();
  });

  it("plays a pair's reference clip at the head of its grid when the reference is a local file", async () => {
    const clip = manifest.tasks[0]!.outputs[0]!.file;
    const folder = await mkdtemp(join(tmpdir(), "actbatch-reference-"));
    await copyFile(join(out, clip), join(folder, "take.mp4"));
    await writeFile(join(folder, "note.txt"), "the reference beside the output folder");
    const local = {
      ...manifest,
      tasks: manifest.tasks.map((task) => ({
        ...task,
        request: { ...task.request, reference: { type: "video" as const, uri: join(folder, "take.mp4") } },
      })),
    };
    const { page, problems } = await openReport(local);
    expect(await page.locator("aside.reference .ref-clip[data-src]").count()).toBe(2);
    await waitUntil(
      page,
      '[...document.querySelectorAll(".ref-clip")].every((clip) => clip.dataset.poster === "done")',
    );
    expect(problems).toEqual([]);
    await page.close();
  });
});
