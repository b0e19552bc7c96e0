// The contact sheet in a real browser: Debian's chromium driven by playwright-core.
import { existsSync } from "node:fs";
import type * as PlaywrightModule from "playwright-core";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { readManifest } from "../../src/manifest/manifest.js";
import { writeHtmlReport } from "../../src/report/html/index.js";
import { repoRoot } from "../helpers/cli.js";
import { renderDemo, withFailureAndHostilePair } from "../helpers/demo-output.js";

type Playwright = typeof PlaywrightModule;

const CHROMIUM = "/usr/bin/chromium";
// This machine's network is closed: without these Chromium's background services fail requests.
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const playwright: Playwright | null = await import("playwright-core").catch(() => null);
const skipReason = playwright
  ? ""
  : " (skipped: playwright-core cannot be imported; add it as a devDependency)";

type Context = Awaited<ReturnType<Playwright["chromium"]["launchPersistentContext"]>>;
type Page = Awaited<ReturnType<Context["newPage"]>>;

/**
 * Polls a page expression from outside. page.waitForFunction evaluates its predicate inside the page,
 * where the report's Content-Security-Policy (rightly) forbids eval; page.evaluate is not bound by it.
 * Expressions are strings: this project's TypeScript has no DOM types.
 */
async function waitUntil(page: Page, expression: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await page.evaluate(expression))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${expression}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** For a person to look at: in the rendered folder, and in the repository's (ignored) reports/. */
async function screenshot(page: Page, out: string, name: string): Promise<void> {
  const image = await page.screenshot({ path: join(out, name), fullPage: true });
  await mkdir(join(repoRoot, "reports", "browser"), { recursive: true });
  await writeFile(join(repoRoot, "reports", "browser", name), image);
}

describe.skipIf(playwright === null)(`report.html in Chromium${skipReason}`, () => {
  let out: string;
  let profile: string;
  let context: Context;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) return; // each test fails in beforeEach, so none is counted as skipped
    out = await renderDemo();
    profile = await mkdtemp(join(tmpdir(), "actbatch-chromium-"));
    context = await playwright!.chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
    });
  }, 60_000);

  beforeEach(() => {
    if (!existsSync(CHROMIUM))
      throw new Error(
        `${CHROMIUM} is missing: install Debian's chromium package (as root: apt-get install -y --no-install-recommends chromium; npm test does this when run as root)`,
      );
  });

  afterAll(async () => {
    await context?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  async function openReport(path: string) {
    const page = await context.newPage();
    const problems: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(`console: ${message.text()}`);
    });
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    page.on("requestfailed", (request) => problems.push(`failed request: ${request.url()}`));
    page.on("request", (request) => {
      if (!request.url().startsWith("file:")) problems.push(`external request: ${request.url()}`);
    });
    await page.goto(pathToFileURL(path).href, { waitUntil: "load" });
    return { page, problems };
  }

  it("loads with no errors and no requests, one cell per task, and plays a clip from its local file", async () => {
    const manifest = await readManifest(out);
    const path = await writeHtmlReport(out, manifest);
    const { page, problems } = await openReport(path);
    expect(await page.locator(".cell").count()).toBe(12);
    await waitUntil(
      page,
      '[...document.querySelectorAll("video.clip")].some((video) => video.readyState >= 1)',
    );
    const first = page.locator(".cell").first();
    await first.hover();
    await waitUntil(page, 'document.querySelector(".cell video")?.paused === false');
    await screenshot(page, out, "report-screenshot.png");
    expect(problems).toEqual([]);
    await page.close();
  });

  it("shows a failed cell's error and a hostile pair id as text", async () => {
    const manifest = withFailureAndHostilePair(await readManifest(out));
    const path = await writeHtmlReport(out, manifest);
    const { page, problems } = await openReport(path);
    const failed = page.locator('.cell[data-status="FAILED"]');
    expect(await failed.count()).toBe(1);
    expect(await failed.locator(".error-code").textContent()).toBe("SAFETY.INPUT.TEXT");
    expect(await failed.locator(".error-message").textContent()).toBe(
      'Moderation rejected the input <img src=x onerror="alert(1)">',
    );
    expect(await page.locator("h2", { hasText: "<script>alert('pair')</script>" }).count()).toBe(1);
    expect(await page.locator("img").count()).toBe(0);
    expect(await page.locator("script").count()).toBe(1);
    await screenshot(page, out, "report-hostile-screenshot.png");
    expect(problems).toEqual([]);
    await page.close();
  });

  it("plays a pair's reference clip beside its grid when the reference is a local file", async () => {
    const manifest = await readManifest(out);
    const clip = manifest.tasks[0]!.outputs[0]!.file;
    const local = {
      ...manifest,
      tasks: manifest.tasks.map((task) => ({
        ...task,
        request: { ...task.request, reference: { type: "video" as const, uri: join(out, clip) } },
      })),
    };
    const path = await writeHtmlReport(out, local);
    const { page, problems } = await openReport(path);
    expect(await page.locator("video.reference-clip").count()).toBe(2);
    await waitUntil(page, 'document.querySelector("video.reference-clip").readyState >= 1');
    expect(problems).toEqual([]);
    await page.close();
  });
});
