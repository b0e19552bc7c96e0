import { dirname, resolve } from "node:path";
import { ExitCode, UsageError } from "../../errors.js";
import type { Manifest } from "../../manifest/types.js";
import { appendGithubStepSummary } from "../../report/github.js";
import { writeHtmlReport } from "../../report/html/index.js";
import { writeJunitReport } from "../../report/junit.js";
import {
  chooseProgressMode,
  createProgressReporter,
  PROGRESS_CHOICES,
  useColor,
  type ProgressChoice,
} from "../../report/progress.js";
import { formatRunSummary } from "../../report/run-summary-text.js";
import type { RunSummary } from "../../run/run-summary.js";
import { DEFAULT_MAX_OUTPUT_MB } from "../../run/downloader.js";
import { DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_MODERATION_FAILURES } from "../../run/run-job.js";
import { DEFAULT_SIMULATE_SPEED, runJob, type RunJobOptions } from "../../simulated-run.js";
import { parseShard } from "../../run/shard.js";
import { loadPlan, type Plan } from "../../job/index.js";
import type { BudgetSpec, LoadedPlan, ProviderName } from "../../job/types.js";
import { parseCommandArgs, parsePositiveInt } from "../args.js";
import { writeLine, type CliIo } from "../io.js";
import { wireRunInterrupts } from "../signal-wiring.js";
import { chooseSubset, nothingToDo, type Subset } from "../subset.js";
import { reportingSpecErrors } from "../spec-errors.js";

export const runUsage = `Usage: actbatch run <job.yaml...> [options]

Submits every task of the job with bounded concurrency, polls each to the end, downloads and
verifies every output and writes <out>/manifest.json. Resumable: rerun the same command after a
crash, Ctrl-C or account stop; finished tasks cost no API call, submitted ones are polled, never
resubmitted. Several job files run one after another; the exit code is the worst of them.

Options:
  --out DIR                    output folder, replacing the job's output.dir (one job file only)
  --concurrency N              tasks in flight at once (default: the job's concurrency)
  --base-url URL               API base URL (also ACTBATCH_BASE_URL); https, or loopback
  --provider P                 cometapi (key in COMETAPI_KEY) or runway (RUNWAYML_API_SECRET)
  --simulate                   run against a simulator started in this process (no key, no network)
  --force                      render every task again (tasks still in flight are polled instead)
  --retry-failed               resubmit tasks that ended with a final failure (moderation,
                               invalid asset)
  --no-resubmit-ambiguous      hold tasks whose create had an unknown outcome instead of submitting
                               them again (a resubmission may pay twice; either way it is reported)
  --no-output-checks           do not check downloaded files' MP4 header (ratio, duration) against
                               the request; by default a mismatch is reported and the run exits 1
  --max-attempts N             create attempts per task within one run, for retryable failures and
                               ambiguous creates (default ${DEFAULT_MAX_ATTEMPTS})
  --max-moderation-failures N  stop submitting after N moderation failures in one run (default ${DEFAULT_MAX_MODERATION_FAILURES})
  --max-tasks N                allow the job to expand to up to N tasks (default 10000)
  --max-output-mb N            largest output file kept, in MiB (default ${DEFAULT_MAX_OUTPUT_MB}); a larger
                               one is not kept and its task fails with OUTPUT_TOO_LARGE (a rerun
                               with a higher limit downloads it from the task, no new render)
  --no-preflight               skip the asset checks before the first create (HEAD, type, size,
                               reference duration read from the MP4 header)
  --max-credits N              refuse to spend more than N credits (replaces the job's budget)
  --max-usd N                  refuse to spend more than N US dollars (replaces the job's budget)
  --allow-unknown-cost         with a budget, allow tasks whose cost cannot be known
  --shard I/N                  run only the I-th of N shards of the tasks (by task key)
  --only FIELD=PATTERN         run only the tasks whose FIELD matches (repeatable: all must match):
                               FIELD pair, key, ratio, bodyControl, expressionIntensity or seed;
                               PATTERN a value, a * wildcard, a list a|b or a range 1..4
  --last-failed                run only the tasks that failed or are unfinished in the output
                               folder's manifest (with --only: those of them that match)
  --report                     also write report.html, a contact sheet of the outputs, beside
                               the manifest
  --junit FILE                 also write a JUnit XML file: one testcase per task (CI test reports)
  --json                       print one summary object on stdout
  --progress MODE              live (a view redrawn in place), plain (timestamped lines) or none;
                               default: live on a terminal, plain when CI is set, stderr is not a
                               terminal or TERM=dumb (NO_COLOR turns colours off)
  --quiet                      no progress, and the summary only when the run did not succeed
  -h, --help                   show this help

Progress goes to stderr: a live view on a terminal, timestamped lines when CI is set or stderr is
not a terminal. In GitHub Actions (GITHUB_STEP_SUMMARY set) a Markdown summary is appended there.
Ctrl-C once stops submitting and keeps every task id (exit 130); twice cancels the tasks in
flight at the API.

Exit codes: 0 all succeeded, 1 a task failed or is unfinished, 2 usage or spec error (nothing was
submitted), 3 stopped by the account (bad key, no credits, daily limit) or by moderation failures,
130 interrupted (143 on SIGTERM).

Testing and benchmarks: ACTBATCH_TIME_SCALE=X runs the engine's clock X times faster, to match a
simulator started with --speed X in another process (with --simulate it sets the simulator's speed,
default ${DEFAULT_SIMULATE_SPEED}).`;

export function runCommand(args: string[], io: CliIo): Promise<number> {
  return reportingSpecErrors(io, () => runJobs(args, io));
}

async function runJobs(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    {
      out: { type: "string" },
      concurrency: { type: "string" },
      "base-url": { type: "string" },
      provider: { type: "string" },
      simulate: { type: "boolean" },
      force: { type: "boolean" },
      "retry-failed": { type: "boolean" },
      "no-resubmit-ambiguous": { type: "boolean" },
      "no-output-checks": { type: "boolean" },
      "max-attempts": { type: "string" },
      "max-moderation-failures": { type: "string" },
      "max-tasks": { type: "string" },
      "max-output-mb": { type: "string" },
      "no-preflight": { type: "boolean" },
      "max-credits": { type: "string" },
      "max-usd": { type: "string" },
      "allow-unknown-cost": { type: "boolean" },
      shard: { type: "string" },
      only: { type: "string", multiple: true },
      "last-failed": { type: "boolean" },
      report: { type: "boolean" },
      junit: { type: "string" },
      json: { type: "boolean" },
      progress: { type: "string" },
      quiet: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    runUsage,
  );
  if (values.help) {
    writeLine(io.stdout, runUsage);
    return ExitCode.ok;
  }
  if (positionals.length === 0) throw new UsageError("expected a job file", runUsage);
  if (values.out === "") throw new UsageError("--out expects a folder", runUsage);
  if (values.out !== undefined && positionals.length > 1)
    throw new UsageError("--out with several job files would mix their outputs in one folder", runUsage);
  const provider = parseProvider(values.provider);
  const concurrency = parsePositiveInt("--concurrency", values.concurrency, runUsage);
  const maxAttempts = parsePositiveInt("--max-attempts", values["max-attempts"], runUsage);
  const maxModerationFailures = parsePositiveInt(
    "--max-moderation-failures",
    values["max-moderation-failures"],
    runUsage,
  );
  const maxTasks = parsePositiveInt("--max-tasks", values["max-tasks"], runUsage);
  const maxOutputMb = parsePositiveInt("--max-output-mb", values["max-output-mb"], runUsage);
  const shard = values.shard === undefined ? undefined : parseShard(values.shard, runUsage);
  if (values.junit === "") throw new UsageError("--junit expects a file", runUsage);
  const progress = parseProgress(values.progress, values.quiet ?? false);

  // Every job file is checked before anything is submitted: a typo in the third file must not
  // surface after the first two have been paid for.
  const budget: BudgetSpec = {
    ...(values["max-credits"] !== undefined && {
      maxCredits: parseAmount("--max-credits", values["max-credits"]),
    }),
    ...(values["max-usd"] !== undefined && { maxUsd: parseAmount("--max-usd", values["max-usd"]) }),
  };
  const loadedPlans: LoadedPlan[] = [];
  for (const file of positionals)
    loadedPlans.push(await loadPlan(file, { maxTasks, outDir: values.out, cwd: io.cwd, env: io.env }));
  const plans: Plan[] = loadedPlans.map((loaded) => loaded.plan);
  // Outside the subset, tasks are neither submitted nor dropped (as with --shard).
  const subsetFlags = [
    ...(values.only ?? []).flatMap((only) => ["--only", only]),
    ...(values["last-failed"] ? ["--last-failed"] : []),
  ];
  const subsets: (Subset | undefined)[] = [];
  for (const loaded of loadedPlans)
    subsets.push(
      await chooseSubset(loaded, { only: values.only, lastFailed: values["last-failed"], cwd: io.cwd }),
    );

  const reporter = createProgressReporter({
    stream: io.stderr,
    mode: chooseProgressMode(io.stderr, io.env, progress),
    quiet: values.quiet ?? false,
    color: useColor(io.stderr, io.env),
  });
  const connectionFlags = [
    ...(values.simulate ? ["--simulate"] : []),
    ...(values.provider !== undefined ? ["--provider", values.provider] : []),
    ...(values["base-url"] !== undefined ? ["--base-url", values["base-url"]] : []),
  ];
  const shardFlags = [...(values.shard !== undefined ? ["--shard", values.shard] : []), ...subsetFlags];
  // Installed only now, every argument and job file checked: a usage error leaves no handler behind.
  const interrupts = wireRunInterrupts(io.process, {
    stderr: io.stderr,
    report: (event) => reporter.handle(event),
    connectionFlags,
    shardFlags,
    keepInstalled: io.ownsProcess ?? false,
  });
  const { stop, cancel } = interrupts;

  const summaries: RunSummary[] = [];
  const manifests: Manifest[] = [];
  let worst: number = ExitCode.ok;
  try {
    for (const [index, { plan, report }] of loadedPlans.entries()) {
      if (stop.aborted || worst === ExitCode.accountStop || worst === ExitCode.diskFull) break;
      const subset = subsets[index];
      if (subset?.tasks.length === 0) {
        writeLine(io.stderr, `${plan.job}: ${nothingToDo(subset)}`);
        continue;
      }
      const jobOptions: RunJobOptions = {
        plan,
        report,
        preflight: !(values["no-preflight"] ?? false),
        budget,
        allowUnknownCost: values["allow-unknown-cost"] ?? false,
        cwd: io.cwd,
        env: io.env,
        concurrency,
        baseUrl: values["base-url"],
        provider,
        simulate: values.simulate ?? false,
        force: values.force ?? false,
        retryFailed: values["retry-failed"] ?? false,
        resubmitAmbiguous: !(values["no-resubmit-ambiguous"] ?? false),
        outputChecks: !(values["no-output-checks"] ?? false),
        maxAttempts,
        maxModerationFailures,
        maxOutputMb,
        shard,
        ...(subset !== undefined && { only: { keys: subset.keys, flags: subsetFlags } }),
        signal: stop,
        cancelSignal: cancel,
        onEvent: interrupts.emit,
      };
      interrupts.jobStarted(plan);
      let result = await runJob(jobOptions);
      await reporter.close();
      reporter.summary(formatRunSummary(result.summary), result.exitCode);
      // A second Ctrl-C that came once the engine's work had ended (as it finished up, or while the
      // summary was printed): the tasks still in flight are cancelled now, by the same run with both
      // signals given. From here on a second Ctrl-C finds no run to act on, and is told so.
      if (cancel.aborted && !result.cancelHandled) {
        result = await runJob({ ...jobOptions, preflight: false });
        await reporter.close();
        reporter.summary(formatRunSummary(result.summary), result.exitCode);
      }
      interrupts.jobEnded();
      summaries.push(result.summary);
      // The manifest object is assembled only for the reports that read it.
      const finished = result;
      if (values.junit !== undefined) manifests.push(finished.manifest);
      worst = worseExit(worst, result.exitCode);
      await writeRunReports(io, plan, () => finished.manifest, result.manifestPath, result.summary, {
        html: values.report ?? false,
        provider,
      });
    }
    // One JUnit file for every job of the command, written even when the run stopped early: CI
    // shows what finished and what did not.
    if (values.junit !== undefined && manifests.length > 0) {
      const outputs = new Map(
        plans.flatMap((plan) => plan.tasks.map((task) => [task.key, task.output] as const)),
      );
      const file = resolve(io.cwd, values.junit);
      await writeJunitReport(file, manifests, { outputs });
      writeLine(io.stderr, `junit: ${file}`);
    }
  } finally {
    interrupts.jobEnded();
    await reporter.close();
    interrupts.dispose();
  }
  // A signal that came between two jobs (or before the first) still makes the run an interrupted one.
  if (stop.aborted)
    worst = worseExit(worst, stop.reason === "SIGTERM" ? ExitCode.terminated : ExitCode.interrupted);
  if (plans.length > summaries.length && summaries.length > 0)
    writeLine(io.stderr, `${plans.length - summaries.length} job files were not started (the run stopped)`);
  if (values.json) writeLine(io.stdout, JSON.stringify({ exitCode: worst, jobs: summaries }));
  return worst;
}

/** The contact sheet (--report) and, in GitHub Actions, the step summary of one finished job. */
async function writeRunReports(
  io: CliIo,
  plan: Plan,
  manifestOf: () => Manifest,
  manifestPath: string,
  summary: RunSummary,
  options: { html: boolean; provider: ProviderName | undefined },
): Promise<void> {
  const outputDir = dirname(manifestPath);
  const pricing = {
    provider: options.provider ?? plan.provider.name,
    usdPerTask: plan.provider.pricePerTaskUsd,
  };
  let reportPath: string | undefined;
  if (options.html) {
    reportPath = await writeHtmlReport(outputDir, manifestOf(), { ...pricing, cwd: io.cwd });
    writeLine(io.stderr, `report: ${reportPath}`);
  }
  if (!io.env.GITHUB_STEP_SUMMARY) return;
  await appendGithubStepSummary(io.env, manifestOf(), {
    outputDir,
    reportPath,
    ...pricing,
    durationMs: summary.elapsedMs,
  });
}

/** A non-negative amount of credits or dollars. */
function parseAmount(flag: string, raw: string): number {
  const value = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(value) || value < 0)
    throw new UsageError(`${flag} expects a non-negative number, got "${raw}"`, runUsage);
  return value;
}

function parseProgress(raw: string | undefined, quiet: boolean): ProgressChoice | undefined {
  if (raw === undefined) return undefined;
  if (quiet) throw new UsageError("--quiet already turns progress off: give --quiet or --progress", runUsage);
  const choice = PROGRESS_CHOICES.find((value) => value === raw);
  if (choice === undefined)
    throw new UsageError(`--progress expects ${PROGRESS_CHOICES.join(", ")}, got "${raw}"`, runUsage);
  return choice;
}

function parseProvider(raw: string | undefined): ProviderName | undefined {
  if (raw === undefined) return undefined;
  if (raw === "cometapi" || raw === "runway") return raw;
  throw new UsageError(`--provider expects cometapi or runway, got "${raw}"`, runUsage);
}

const SEVERITY: Record<number, number> = {
  [ExitCode.ok]: 0,
  [ExitCode.taskFailed]: 1,
  [ExitCode.accountStop]: 2,
  [ExitCode.diskFull]: 2,
  [ExitCode.interrupted]: 3,
  [ExitCode.terminated]: 3,
};

/** The worse of two exit codes: interrupted > account stop > task failed > ok. */
export function worseExit(a: number, b: number): number {
  return (SEVERITY[b] ?? 1) > (SEVERITY[a] ?? 1) ? b : a;
}
