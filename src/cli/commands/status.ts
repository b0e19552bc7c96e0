import { readFile, stat } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname } from "node:path";
import { ExitCode, UsageError, UserError } from "../../errors.js";
import { hasErrnoCode } from "../../fs/errno.js";
import { isProcessAlive } from "../../fs/process-alive.js";
import { readJournalView } from "../../journal/view.js";
import { readManifest, resolveManifestPath } from "../../manifest/manifest.js";
import { buildStatusReport, type ActiveRun, type JobComparison } from "../../manifest/status-report.js";
import type { Manifest } from "../../manifest/types.js";
import { diffPlan } from "../../report/plan-diff.js";
import { HashCache } from "../../run/hash-cache.js";
import { loadPlan, type Plan } from "../../job/index.js";
import { formatStatusText } from "../../report/status-text.js";
import { verifyOutputs } from "../../manifest/verify.js";
import { lockPath } from "../../journal/paths.js";
import { parseLockInfo } from "../../run/lock.js";
import { parseCommandArgs } from "../args.js";
import { writeLine, type CliIo } from "../io.js";

export const statusUsage = `Usage: actbatch status <out-dir|manifest.json> [--json] [--verify] [--job JOB.yaml]

Summarises a finished or interrupted run: task counts, failed tasks with their errors, tasks
possibly charged twice, output files that are missing or changed, and what a rerun would resume.
When the run was interrupted after its last manifest write (or before its first), what its
journal shows is reported too. Works on any copy of the folder: manifest.json and the files are
enough (a CI artifact or a merged folder has no .actbatch/).

Exit codes: 0 every task succeeded and every output file is intact and passed its checks;
1 a task failed, is not finished, or an output is missing, changed or failed a check;
2 no manifest (or an invalid one).

Options:
  --json          print the report as one JSON object on stdout
  --verify        hash every output file (by default a file unchanged since a run hashed it is
                  not read again)
  --job JOB.yaml  also compare with the job file: its tasks the folder does not hold (new, or
                  whose request changed) count as not finished, and are listed
  -h, --help      show this help`;

export async function runCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    {
      json: { type: "boolean" },
      verify: { type: "boolean" },
      job: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
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
  // The job file is read before any file is hashed: a bad one is reported at once.
  const job = values.job === undefined ? null : await loadPlan(values.job, { cwd: io.cwd });
  // Read-only: the hash cache saves reading files a run already hashed, and is never written here.
  const verify = manifest
    ? await verifyOutputs(outputDir, manifest, values.verify ? undefined : await HashCache.open(outputDir))
    : null;
  const report = buildStatusReport({
    outputDir,
    manifestPath,
    manifest,
    manifestMtimeMs,
    journal,
    activeRun: await activeRunIn(outputDir),
    verify,
    verifiedAll: values.verify === true,
    job: job && manifest ? compareWithJob(values.job as string, job.plan, manifest) : null,
  });

  if (values.json) writeLine(io.stdout, JSON.stringify(report, null, 2));
  else io.stdout.write(formatStatusText(report));
  return report.exitCode;
}

/** The job's tasks this folder does not hold: keys it has no record of (matched to a changed slot where one exists). */
function compareWithJob(file: string, plan: Plan, manifest: Manifest): JobComparison {
  const diff = diffPlan(plan, manifest, file);
  const order = new Map(plan.tasks.map((task, index) => [task.key, index]));
  return {
    file,
    total: plan.tasks.length,
    missing: [
      ...diff.new.map((task) => ({ ...task, reason: "new" as const })),
      ...diff.changed.map((task) => ({ ...task, reason: "changed" as const })),
    ]
      .map(({ key, pair, params, reason }) => ({ key, pair, params, reason }))
      .toSorted((a, b) => (order.get(a.key) ?? 0) - (order.get(b.key) ?? 0)),
  };
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
    text = await readFile(lockPath(outputDir), "utf8");
  } catch {
    return null;
  }
  const info = parseLockInfo(text);
  if (info === null) return null;
  if (info.hostname === hostname() && (info.pid === process.pid || !isProcessAlive(info.pid))) return null;
  return { pid: info.pid, hostname: info.hostname, startedAt: info.startedAt, command: info.command };
}
