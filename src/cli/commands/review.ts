import { spawn } from "node:child_process";
import { dirname, resolve } from "node:path";
import { ExitCode, UsageError } from "../../errors.js";
import { readManifest, resolveManifestPath } from "../../manifest/manifest.js";
import { readReview, reviewPath } from "../../report/review/decisions.js";
import { exportPicks } from "../../report/review/export-picks.js";
import { openReview } from "../../report/review/session.js";
import { PROVIDER_NAMES, SWEEP_FIELDS } from "../../job/types.js";
import { parseCommandArgs } from "../args.js";
import { writeLine, type CliIo } from "../io.js";
import { checkSheetFlags } from "./report.js";
import { firstStopSignal, servingPort } from "../stop-signal.js";

export const reviewUsage = `Usage: actbatch review <out-dir|manifest.json> [--port N] [--host H] [--allow-remote]
                       [--no-open] [--against PREV_OUT] [--rows FIELD] [--cols FIELD] [--provider P]
                       [--job FILE]
       actbatch review <out-dir|manifest.json> --export-picks

Serves the contact sheet of an output folder on loopback and prints "review: <address>" on
stdout; Ctrl-C stops it. Each pair's reference plays at the head of its grid; Space plays the
focused pair's visible clips and its reference in lockstep on one timeline. Decisions are written
at once to review.json in the folder (kept across reruns; report.html shows them read-only).

Keys: arrows move between cells, p picks, x rejects, n writes a note, u clears, f cycles the
filters (all, picked, rejected, undecided, failed, failed checks, changed), i shows a task's key,
task id and request, c compares a changed task with its earlier output (--against), Esc closes.

Options:
  --port N          port to listen on (default 0: a free port)
  --host H          address to listen on (default 127.0.0.1; other hosts need --allow-remote)
  --allow-remote    allow a non-loopback --host (anyone who reaches it can change the decisions)
  --no-open         do not open a browser
  --against DIR     an earlier output folder: tasks whose output changed show before and after
  --export-picks    print the picked tasks as exclude: and include: lists for the job file, and exit
  --rows FIELD      field for the grid's rows (${SWEEP_FIELDS.join(", ")})
  --cols FIELD      field for the grid's columns (default: the two fields with the most values)
  --provider P      price the estimate for ${PROVIDER_NAMES.join(" or ")} (default: the provider of the
                    folder's last run, else the job file's)
  --job FILE        the job file, when not the one the manifest names (for local reference clips)
  -h, --help        show this help`;

export async function runCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    {
      port: { type: "string" },
      host: { type: "string" },
      "allow-remote": { type: "boolean" },
      "no-open": { type: "boolean" },
      against: { type: "string" },
      "export-picks": { type: "boolean" },
      rows: { type: "string" },
      cols: { type: "string" },
      provider: { type: "string" },
      job: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    reviewUsage,
  );
  if (values.help) {
    writeLine(io.stdout, reviewUsage);
    return ExitCode.ok;
  }
  if (positionals.length !== 1)
    throw new UsageError("expected one output folder or manifest.json", reviewUsage);
  const target = positionals[0] as string;
  const { provider } = checkSheetFlags(values, reviewUsage);
  const port = values.port;
  if (port !== undefined && (!/^(?:0|[1-9][0-9]{0,4})$/.test(port) || Number(port) > 65_535))
    throw new UsageError(`--port expects a port number (0-65535), got "${port}"`, reviewUsage);

  if (values["export-picks"]) {
    const manifestPath = await resolveManifestPath(resolve(io.cwd, target));
    const manifest = await readManifest(manifestPath);
    const review = await readReview(dirname(manifestPath), manifest.job);
    const exported = exportPicks(manifest, review, `actbatch review ${target} --export-picks`);
    if (exported.picked === 0) {
      writeLine(
        io.stderr,
        `nothing is picked in ${reviewPath(dirname(manifestPath))}${exported.orphaned > 0 ? ` (${exported.orphaned} picks are of tasks no longer in the job)` : ""}`,
      );
      return ExitCode.taskFailed;
    }
    io.stdout.write(exported.text);
    return ExitCode.ok;
  }

  const axes = {
    ...(values.rows !== undefined ? { rows: values.rows } : {}),
    ...(values.cols !== undefined ? { cols: values.cols } : {}),
  };
  const stopPort = servingPort(io, "review");
  const review = await openReview({
    target,
    cwd: io.cwd,
    env: io.env,
    axes,
    ...(port !== undefined ? { port: Number(port) } : {}),
    ...(values.host !== undefined ? { host: values.host } : {}),
    ...(values["allow-remote"] ? { allowRemote: true } : {}),
    ...(values.against !== undefined ? { against: values.against } : {}),
    ...(provider !== undefined ? { provider } : {}),
    ...(values.job !== undefined ? { jobFile: values.job } : {}),
  });
  writeLine(io.stdout, `review: ${review.url}`);
  const tasks = review.manifest.tasks.length;
  writeLine(
    io.stderr,
    `${review.manifest.job}: ${tasks} task${tasks === 1 ? "" : "s"}${values.against !== undefined ? `, ${review.changed} changed since ${values.against}` : ""}; decisions go to ${reviewPath(review.outputDir)}; Ctrl-C stops`,
  );
  for (const note of review.notes) writeLine(io.stderr, `note: ${note}`);
  if (!values["no-open"]) openBrowser(review.url, io);

  const signal = await firstStopSignal(stopPort);
  await review.close();
  const decided = review.review().decisions.size;
  writeLine(
    io.stderr,
    `review stopped (${signal}): ${decided} decision${decided === 1 ? "" : "s"} in ${reviewPath(review.outputDir)}`,
  );
  return ExitCode.ok;
}

/** The system's way to open an address; a failure is said, never fatal (the address is printed). */
function openBrowser(url: string, io: CliIo): void {
  const [command, args] =
    process.platform === "darwin"
      ? ["open", [url]]
      : process.platform === "win32"
        ? ["cmd", ["/c", "start", "", url]]
        : ["xdg-open", [url]];
  const complain = (reason: string) =>
    writeLine(io.stderr, `could not open a browser (${reason}): open ${url} yourself, or pass --no-open`);
  try {
    const child = spawn(command as string, args as string[], { stdio: "ignore", detached: true });
    child.on("error", (error) => complain(error.message));
    child.unref();
  } catch (error) {
    complain(error instanceof Error ? error.message : String(error));
  }
}
