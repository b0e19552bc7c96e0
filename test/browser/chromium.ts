// Debian's chromium driven by playwright-core, for the contact sheet's and the review page's tests.
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type * as PlaywrightModule from "playwright-core";
import { repoRoot } from "../helpers/cli.js";

type Playwright = typeof PlaywrightModule;
export type Context = Awaited<ReturnType<Playwright["chromium"]["launchPersistentContext"]>>;
export type Page = Awaited<ReturnType<Context["newPage"]>>;

export const CHROMIUM = "/usr/bin/chromium";
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

export const playwright: Playwright | null = await import("playwright-core").catch(() => null);
export const skipReason = playwright
  ? ""
  : " (skipped: playwright-core cannot be imported; add it as a devDependency)";

export const missingChromium = `${CHROMIUM} is missing: install Debian's chromium package (as root: apt-get install -y --no-install-recommends chromium; npm test does this when run as root)`;

export function hasChromium(): boolean {
  return existsSync(CHROMIUM);
}

export interface Browser {
  context: Context;
  close(): Promise<void>;
}

export async function launch(viewport = { width: 1400, height: 900 }): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), "actbatch-chromium-"));
  const context = await playwright!.chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
  });
  return {
    context,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

export interface OpenedPage {
  page: Page;
  /** Console errors, page errors, failed requests and requests that leave `allowed`. */
  problems: string[];
  /** Every URL the page asked for. */
  requests: string[];
}

/** Opens `url`, recording what a person would call a problem; `allowed` is where requests may go. */
export async function openPage(
  context: Context,
  url: string,
  allowed: (url: string) => boolean,
): Promise<OpenedPage> {
  const page = await context.newPage();
  const problems: string[] = [];
  const requests: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("requestfailed", (request) => {
    // A video released while it loads cancels its request: that is the budget at work, not a fault.
    if (request.failure()?.errorText !== "net::ERR_ABORTED")
      problems.push(`failed request: ${request.url()}`);
  });
  page.on("request", (request) => {
    requests.push(request.url());
    if (!allowed(request.url())) problems.push(`external request: ${request.url()}`);
  });
  await page.goto(url, { waitUntil: "load" });
  return { page, problems, requests };
}

/**
 * Polls a page expression from outside. page.waitForFunction evaluates its predicate inside the page,
 * where the sheet's Content-Security-Policy (rightly) forbids eval; page.evaluate is not bound by it.
 * Expressions are strings: this project's TypeScript has no DOM types.
 */
export async function waitUntil(page: Page, expression: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await page.evaluate(expression))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${expression}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** For a person to look at: in the given folder, and in the repository's (ignored) reports/browser/. */
export async function screenshot(page: Page, folder: string, name: string): Promise<string> {
  const image = await page.screenshot({ path: join(folder, name), fullPage: false });
  await mkdir(join(repoRoot, "reports", "browser"), { recursive: true });
  const path = join(repoRoot, "reports", "browser", name);
  await writeFile(path, image);
  return path;
}

export interface PixelStats {
  /** Mean luminance, 0-255. */
  mean: number;
  /** Share of pixels brighter than near-black. */
  lit: number;
  /** Distinct colours seen (capped): a frame has many, a flat placeholder one or two. */
  colours: number;
}

/**
 * What a person sees in an element, sampled through a canvas: a screenshot of it drawn into a canvas
 * of a blank page (whose pixels are readable, unlike a poster drawn from a file:// clip).
 */
export async function sampleElement(
  context: Context,
  element: ReturnType<Page["locator"]>,
): Promise<PixelStats> {
  const png = await element.screenshot();
  const blank = await context.newPage();
  try {
    return (await blank.evaluate(`(async () => {
      const image = new Image();
      image.src = "data:image/png;base64,${png.toString("base64")}";
      await image.decode();
      const canvas = document.createElement("canvas");
      canvas.width = image.width;
      canvas.height = image.height;
      const context = canvas.getContext("2d");
      context.drawImage(image, 0, 0);
      const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
      let sum = 0, lit = 0;
      const colours = new Set();
      for (let i = 0; i < data.length; i += 4) {
        const y = 0.2126 * data[i] + 0.7152 * data[i + 1] + 0.0722 * data[i + 2];
        sum += y;
        if (y > 24) lit++;
        if (colours.size < 500) colours.add((data[i] >> 4) * 256 + (data[i + 1] >> 4) * 16 + (data[i + 2] >> 4));
      }
      const pixels = data.length / 4;
      return { mean: sum / pixels, lit: lit / pixels, colours: colours.size };
    })()`)) as PixelStats;
  } finally {
    await blank.close();
  }
}
