import { dirname, resolve } from "node:path";
import { ExitCode, UsageError } from "../../errors.js";
import { readManifest, resolveManifestPath } from "../../manifest/manifest.js";
import { appendGithubStepSummary } from "../../report/github.js";
import { loadJobContext, resolvePricing, writeHtmlReport } from "../../report/html/index.js";
import { writeJunitReport } from "../../report/junit.js";
import { PROVIDER_NAMES, SWEEP_FIELDS, type ProviderName } from "../../job/types.js";
import { parseCommandArgs } from "../args.js";
import { writeLine, type CliIo } from "../io.js";

export const reportUsage = `Usage: actbatch report <out-dir|manifest.json> [--rows FIELD] [--cols FIELD] [--provider P]
                       [--job FILE] [--junit FILE] [--step-summary]

Writes report.html beside the manifest: a self-contained contact sheet with, per pair, the
reference clip at the head of a grid of two swept fields (the others become sections), each cell
a frame of its output clip (plays on hover, Space plays the pair in lockstep) with its values on
one line and the key, task id and request on demand (i), failed cells with their error, the
decisions of review.json (read-only: actbatch review makes them), and a header with totals and
the cost estimate. Links are relative, so the folder can be zipped or published as a CI artifact.

Options:
  --rows FIELD    field for the grid's rows (${SWEEP_FIELDS.join(", ")})
  --cols FIELD    field for the grid's columns (default: the two fields with the most values)
  --provider P    price the estimate for ${PROVIDER_NAMES.join(" or ")} (default: the provider of the
                  folder's last run, else the job file's)
  --job FILE      the job file, when not the one the manifest names (for local reference clips)
  --junit FILE    also write a JUnit XML file: one testcase per task, failed tasks as failures
  --step-summary  also append a Markdown summary to the file $GITHUB_STEP_SUMMARY names
                  (GitHub Actions)
  -h, --help      show this help`;

export async function runCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    {
      rows: { type: "string" },
      cols: { type: "string" },
      provider: { type: "string" },
      job: { type: "string" },
      junit: { type: "string" },
      "step-summary": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    reportUsage,
  );
  if (values.help) {
    writeLine(io.stdout, reportUsage);
    return ExitCode.ok;
  }
  if (positionals.length !== 1)
    throw new UsageError("expected one output folder or manifest.json", reportUsage);
  const { provider: flagProvider } = checkSheetFlags(values, reportUsage);

  const manifestPath = await resolveManifestPath(resolve(io.cwd, positionals[0] as string));
  const manifest = await readManifest(manifestPath);
  const job = await loadJobContext(manifest, {
    cwd: io.cwd,
    env: io.env,
    ...(values.job !== undefined ? { jobFile: values.job } : {}),
  });
  const { provider, usdPerTask } = await resolvePricing(dirname(manifestPath), job, flagProvider);
  const path = await writeHtmlReport(dirname(manifestPath), manifest, {
    provider,
    ...(usdPerTask !== undefined ? { usdPerTask } : {}),
    rows: values.rows,
    cols: values.cols,
    cwd: io.cwd,
    env: io.env,
    job,
  });
  writeLine(io.stdout, path);
  if (values.junit !== undefined) {
    const junit = resolve(io.cwd, values.junit);
    await writeJunitReport(junit, manifest);
    writeLine(io.stdout, junit);
  }
  if (values["step-summary"]) {
    const info = { outputDir: dirname(manifestPath), reportPath: path, provider };
    if (!(await appendGithubStepSummary(io.env, manifest, info)))
      writeLine(io.stderr, "warning: --step-summary: GITHUB_STEP_SUMMARY is not set, no summary written");
  }
  return ExitCode.ok;
}

/** The sheet's --rows, --cols and --provider, checked (shared with `actbatch review`). */
export function checkSheetFlags(
  values: { rows?: string; cols?: string; provider?: string },
  usage: string,
): { provider: ProviderName | undefined } {
  for (const flag of ["rows", "cols"] as const) {
    const field = values[flag];
    if (field !== undefined && !(SWEEP_FIELDS as readonly string[]).includes(field))
      throw new UsageError(`--${flag} expects one of ${SWEEP_FIELDS.join(", ")}, got "${field}"`, usage);
  }
  if (values.rows !== undefined && values.rows === values.cols)
    throw new UsageError("--rows and --cols must name different fields", usage);
  const provider = values.provider;
  if (provider !== undefined && !isProvider(provider))
    throw new UsageError(`--provider expects ${PROVIDER_NAMES.join(" or ")}, got "${provider}"`, usage);
  return { provider };
}

function isProvider(name: string): name is ProviderName {
  return (PROVIDER_NAMES as readonly string[]).includes(name);
}
