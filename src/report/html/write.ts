// `actbatch report` and `run --report`: the contact sheet, written atomically beside the manifest.
import { stat } from "node:fs/promises";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { writeFileAtomic } from "../../fs/atomic-write.js";
import type { Manifest, ManifestTask } from "../../manifest/types.js";
import type { ProviderName } from "../../job/types.js";
import { estimateCost, type CostEstimate } from "./cost.js";
import { relativeFileUrl } from "./escape.js";
import type { GridAxes } from "./grid.js";
import { readMp4Duration } from "./mp4-duration.js";
import { renderReport, type ReferenceMedia } from "./render.js";

export const REPORT_FILE = "report.html";

export interface HtmlReportOptions {
  /** Prices the estimate; the manifest does not record the provider. Default cometapi. */
  provider?: ProviderName;
  /** CometAPI's price per task (the job file's provider.pricePerTaskUsd); default US$0.40. */
  usdPerTask?: number;
  rows?: string;
  cols?: string;
  /** Where relative reference paths of the job file are resolved from. Default process.cwd(). */
  cwd?: string;
}

/** Writes `<outputDir>/report.html` and returns its path. */
export async function writeHtmlReport(
  outputDir: string,
  manifest: Manifest,
  options: HtmlReportOptions = {},
): Promise<string> {
  const html = await buildHtmlReport(outputDir, manifest, options);
  const path = join(outputDir, REPORT_FILE);
  await writeFileAtomic(path, html);
  return path;
}

export async function buildHtmlReport(
  outputDir: string,
  manifest: Manifest,
  options: HtmlReportOptions = {},
): Promise<string> {
  const provider = options.provider ?? "cometapi";
  const axes: GridAxes = {};
  if (options.rows !== undefined) axes.rows = options.rows;
  if (options.cols !== undefined) axes.cols = options.cols;
  return renderReport({
    manifest,
    provider,
    axes,
    cost: await estimateManifestCost(outputDir, manifest, provider, options.usdPerTask),
    references: await findReferences(outputDir, manifest.tasks, options.cwd ?? process.cwd()),
  });
}

/**
 * What the folder's results cost: one price per succeeded task (orphans included, they were paid
 * too). At Runway each is priced by its downloaded output's duration, which equals the reference's.
 */
export async function estimateManifestCost(
  outputDir: string,
  manifest: Manifest,
  provider: ProviderName,
  usdPerTask?: number,
): Promise<CostEstimate> {
  const paid = [...manifest.tasks, ...manifest.orphans].filter((task) => task.status === "SUCCEEDED");
  const options = usdPerTask === undefined ? {} : { usdPerTask };
  if (provider === "cometapi")
    return estimateCost(
      provider,
      paid.map(() => null),
      options,
    );
  const durations: (number | null)[] = [];
  for (const task of paid) {
    const output = task.outputs[0];
    const url = output ? relativeFileUrl(output.file) : null;
    durations.push(output && url !== null ? await readMp4Duration(join(outputDir, output.file)) : null);
  }
  return estimateCost(provider, durations, options);
}

async function findReferences(
  outputDir: string,
  tasks: readonly ManifestTask[],
  cwd: string,
): Promise<Map<string, ReferenceMedia>> {
  const references = new Map<string, ReferenceMedia>();
  for (const task of tasks) {
    if (references.has(task.pair)) continue;
    references.set(task.pair, await describeReference(task.request.reference.uri, outputDir, cwd));
  }
  return references;
}

/**
 * A reference is played only when that costs no network request: a local file (linked relative to
 * the report) or a data URI. An https URL is a link the reader may follow, never fetched by the page.
 */
export async function describeReference(
  uri: string,
  outputDir: string,
  cwd: string,
): Promise<ReferenceMedia> {
  if (/^data:video\//i.test(uri)) return { label: "inline data URI", playable: uri, link: null };
  if (/^https?:\/\//i.test(uri)) return { label: uri, playable: null, link: uri };
  let path: string | null = null;
  if (/^file:/i.test(uri)) {
    try {
      path = fileURLToPath(uri);
    } catch {
      path = null;
    }
  } else if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(uri)) path = resolve(cwd, uri);
  if (path !== null && (await isFile(path))) {
    const fromReport = relative(resolve(outputDir), path);
    if (!isAbsolute(fromReport)) {
      const url = fromReport.split(sep).map(encodeURIComponent).join("/");
      return { label: uri, playable: url, link: null };
    }
  }
  return { label: uri, playable: null, link: null };
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
