import { dirname, resolve } from "node:path";
import { ExitCode, UsageError } from "../../errors.js";
import { readManifest, resolveManifestPath } from "../../manifest/manifest.js";
import { appendGithubStepSummary } from "../../report/github.js";
import { writeHtmlReport } from "../../report/html/index.js";
import { writeJunitReport } from "../../report/junit.js";
import { PROVIDER_NAMES, SWEEP_FIELDS, type ProviderName } from "../../job/types.js";
import { parseCommandArgs } from "../args.js";
import { writeLine, type CliIo } from "../io.js";

export const reportUsage = `Usage: actbatch report <out-dir|manifest.json> [--rows FIELD] [--cols FIELD] [--provider P]
                       [--junit FILE] [--step-summary]

Writes report.html beside the manifest: a self-contained contact sheet with, per pair, a grid of
two swept fields (the others become sections), each cell the output clip (plays on hover) with its
values, key, task id and status, failed cells with their error, the pair's reference clip when it
is a local file, and a header with totals, the cost estimate and the spec's sha256. Links are
relative, so the folder can be zipped or published as a CI artifact.

Options:
  --rows FIELD    field for the grid's rows (${SWEEP_FIELDS.join(", ")})
  --cols FIELD    field for the grid's columns (default: the two fields with the most values)
  --provider P    price the estimate for ${PROVIDER_NAMES.join(" or ")} (default cometapi)
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
  for (const flag of ["rows", "cols"] as const) {
    const field = values[flag];
    if (field !== undefined && !(SWEEP_FIELDS as readonly string[]).includes(field))
      throw new UsageError(
        `--${flag} expects one of ${SWEEP_FIELDS.join(", ")}, got "${field}"`,
        reportUsage,
      );
  }
  if (values.rows !== undefined && values.rows === values.cols)
    throw new UsageError("--rows and --cols must name different fields", reportUsage);
  const provider = values.provider ?? "cometapi";
  if (!isProvider(provider))
    throw new UsageError(`--provider expects ${PROVIDER_NAMES.join(" or ")}, got "${provider}"`, reportUsage);

  const manifestPath = await resolveManifestPath(resolve(io.cwd, positionals[0] as string));
  const manifest = await readManifest(manifestPath);
  const path = await writeHtmlReport(dirname(manifestPath), manifest, {
    provider,
    rows: values.rows,
    cols: values.cols,
    cwd: io.cwd,
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

function isProvider(name: string): name is ProviderName {
  return (PROVIDER_NAMES as readonly string[]).includes(name);
}
