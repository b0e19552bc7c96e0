// `actbatch report` and `run --report`: the contact sheet, written atomically beside the manifest,
// with the folder's saved decisions shown read-only.
import { join } from "node:path";
import { writeFileAtomic } from "../../fs/atomic-write.js";
import type { Manifest } from "../../manifest/types.js";
import type { ProviderName } from "../../job/types.js";
import { UserError } from "../../errors.js";
import { emptyReview, readReview, type Review } from "../review/decisions.js";
import { estimateCost, type CostEstimate } from "./cost.js";
import { relativeFileUrl } from "./escape.js";
import type { GridAxes } from "./grid.js";
import { readMp4Duration } from "./mp4-duration.js";
import { describeReferences, findLocalReferences, relativeUrl, type JobContext } from "./references.js";
import { renderReport } from "./render.js";

export { describeReference } from "./references.js";

export const REPORT_FILE = "report.html";

export interface HtmlReportOptions {
  /** Prices the estimate; the manifest does not record the provider. Default cometapi. */
  provider?: ProviderName;
  /** CometAPI's price per task (the job file's provider.pricePerTaskUsd); default US$0.40. */
  usdPerTask?: number;
  rows?: string;
  cols?: string;
  /** Where relative paths of the job file are resolved from. Default process.cwd(). */
  cwd?: string;
  /** Where `${NAME}` values of the job file are looked up, to find its local files again. */
  env?: NodeJS.ProcessEnv;
  /** The job file, when not the one the manifest names. */
  jobFile?: string;
  /** The job file already loaded again (the CLI loads it once for prices and references). */
  job?: JobContext;
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
  const cwd = options.cwd ?? process.cwd();
  const axes: GridAxes = {};
  if (options.rows !== undefined) axes.rows = options.rows;
  if (options.cols !== undefined) axes.cols = options.cols;
  const locals = await findLocalReferences(manifest, {
    cwd,
    ...(options.env ? { env: options.env } : {}),
    ...(options.jobFile !== undefined ? { jobFile: options.jobFile } : {}),
    ...(options.job ? { job: options.job } : {}),
  });
  // A CI artifact's report shows what was decided; a review.json it cannot read is said, not fatal.
  let review: Review;
  let reviewProblem: string | undefined;
  try {
    review = await readReview(outputDir, manifest.job);
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    review = emptyReview(manifest.job);
    reviewProblem = error.message;
  }
  return renderReport({
    manifest,
    provider,
    axes,
    cost: await estimateManifestCost(outputDir, manifest, provider, options.usdPerTask),
    references: await describeReferences(
      manifest.tasks,
      locals,
      (file) => relativeUrl(outputDir, file.path),
      cwd,
      outputDir,
    ),
    review,
    ...(reviewProblem !== undefined ? { reviewProblem } : {}),
    live: false,
    outputUrl: relativeFileUrl,
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
