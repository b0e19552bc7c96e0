import { ExitCode, UsageError } from "../../errors.js";
import { describeTask } from "../../report/run-summary-text.js";
import { cancelFolder } from "../../simulated-run.js";
import { parseCommandArgs } from "../args.js";
import { writeLine, type CliIo } from "../io.js";

export const cancelUsage = `Usage: actbatch cancel <out-dir> [options]

Cancels at the API every task the output folder records as in flight (submitted, not finished),
records each cancel in the folder's journal and manifest, and says what it did. Safe to run twice:
a task already cancelled or finished is not sent anything. A cancelled task is a final failure
(CANCELLED): a rerun leaves it, and submits it again only with --retry-failed. The folder's last
run recorded where its tasks live; the options below override it.

Exit codes: 0 nothing is left in flight; 1 a cancel was not confirmed (the task stays in flight);
2 usage error, no such folder, or a run is using it.

Options:
  --provider NAME   cometapi or runway
  --base-url URL    the API's base URL
  --simulate        the folder ran with --simulate: cancel in its simulator
  -h, --help        show this help`;

export async function runCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    {
      provider: { type: "string" },
      "base-url": { type: "string" },
      simulate: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    cancelUsage,
  );
  if (values.help) {
    writeLine(io.stdout, cancelUsage);
    return ExitCode.ok;
  }
  if (positionals.length !== 1) throw new UsageError("expected one output folder", cancelUsage);
  const provider = values.provider;
  if (provider !== undefined && provider !== "cometapi" && provider !== "runway")
    throw new UsageError(`--provider expects cometapi or runway, got "${provider}"`, cancelUsage);
  const outDir = positionals[0] as string;
  const result = await cancelFolder({
    outDir,
    cwd: io.cwd,
    env: io.env,
    ...(provider !== undefined && { provider }),
    ...(values["base-url"] !== undefined && { baseUrl: values["base-url"] }),
    simulate: values.simulate ?? false,
    onEvent: (event) => {
      if (event.kind === "note") writeLine(io.stderr, event.message);
    },
  });
  if (result.inFlight === 0) {
    writeLine(io.stderr, `nothing to cancel: ${outDir} records no task in flight`);
    return ExitCode.ok;
  }
  for (const task of result.cancelled) writeLine(io.stderr, `cancelled ${describeTask(task)}`);
  for (const { task, taskId, message } of result.failed)
    writeLine(io.stderr, `could not cancel ${describeTask(task)} (${taskId}): ${message}`);
  const manifest = result.manifestUpdated ? "; manifest.json updated" : "";
  writeLine(
    io.stderr,
    `${result.cancelled.length} of ${result.inFlight} tasks in flight cancelled${manifest}` +
      (result.failed.length > 0
        ? `; ${result.failed.length} still in flight: rerun cancel, or rerun the job to collect them`
        : ""),
  );
  return result.failed.length > 0 ? ExitCode.taskFailed : ExitCode.ok;
}
