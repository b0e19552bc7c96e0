import { readFile, stat } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname } from "node:path";
import { ExitCode, UsageError, UserError } from "../../errors.js";
import { hasErrnoCode } from "../../fs/errno.js";
import { isProcessAlive } from "../../fs/process-alive.js";
import { readJournalView } from "../../manifest/journal-view.js";
import { readManifest, resolveManifestPath } from "../../manifest/manifest.js";
import { buildStatusReport, type ActiveRun } from "../../manifest/status-report.js";
import { formatStatusText } from "../../manifest/status-text.js";
import { verifyOutputs } from "../../manifest/verify.js";
import { lockPathOf, parseLockInfo } from "../../run/lock.js";
import { parseCommandArgs } from "../args.js";
import { writeLine, type CliIo } from "../io.js";

export const statusUsage = `Usage: actbatch status <out-dir|manifest.json> [--json] [--verify]

Summarises a finished or interrupted run: task counts, failed tasks with their errors, tasks
possibly charged twice, and what a rerun would resume. When the run was interrupted after its
last manifest write (or before its first), what its journal shows is reported too.

Options:
  --json      print the report as one JSON object on stdout
  --verify    re-hash every output file of a succeeded task and compare it with the manifest
              (exit 1 when one is missing or differs)
  -h, --help  show this help`;

export async function runCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    { json: { type: "boolean" }, verify: { type: "boolean" }, help: { type: "boolean", short: "h" } },
    statusUsage,
  );
  if (values.help) {
    writeLine(io.stdout, statusUsage);
    return ExitCode.ok;
  }
  if (positionals.length !== 1)
    throw new UsageError("expected one output folder or manifest.json", statusUsage);
  const target = positionals[0] as string;

  if ((await mtimeOf(target)) === null) throw new UserError(`${target} does not exist`, ExitCode.usage);
  const manifestPath = await resolveManifestPath(target);
  const outputDir = dirname(manifestPath);
  const manifestMtimeMs = await mtimeOf(manifestPath);
  const journal = await readJournalView(outputDir);
  if (manifestMtimeMs === null && journal === null)
    throw new UserError(
      `no manifest.json and no journal in ${outputDir}: nothing has run there`,
      ExitCode.usage,
      "give the output folder of an actbatch run (the job's output.dir, or its --out)",
    );
  const manifest = manifestMtimeMs === null ? null : await readManifest(manifestPath);
  const verify = values.verify && manifest ? await verifyOutputs(outputDir, manifest) : null;
  const report = buildStatusReport({
    outputDir,
    manifestPath,
    manifest,
    manifestMtimeMs,
    journal,
    activeRun: await activeRunIn(outputDir),
    verify,
  });

  if (values.json) writeLine(io.stdout, JSON.stringify(report, null, 2));
  else io.stdout.write(formatStatusText(report));
  return verify && verify.problems.length > 0 ? ExitCode.taskFailed : ExitCode.ok;
}

async function mtimeOf(path: string): Promise<number | null> {
  try {
    return (await stat(path)).mtimeMs;
  } catch (error) {
    if (hasErrnoCode(error, "ENOENT", "ENOTDIR")) return null;
    throw error;
  }
}

/** The run holding the folder's lock, if it is alive (or on another host, where that cannot be told). */
async function activeRunIn(outputDir: string): Promise<ActiveRun | null> {
  let text: string;
  try {
    text = await readFile(lockPathOf(outputDir), "utf8");
  } catch {
    return null;
  }
  const info = parseLockInfo(text);
  if (info === null) return null;
  if (info.hostname === hostname() && (info.pid === process.pid || !isProcessAlive(info.pid))) return null;
  return { pid: info.pid, hostname: info.hostname, startedAt: info.startedAt, command: info.command };
}
