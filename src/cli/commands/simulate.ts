import { UsageError } from "../../errors.js";
import { parseCommandArgs, parsePositiveInt } from "../args.js";
import { writeLine, type CliIo } from "../io.js";
import { firstStopSignal, servingPort } from "../stop-signal.js";

const usage = `Usage: actbatch simulate [options]

Serves a local simulator of the Act-Two API (CometAPI and Runway routes) until Ctrl-C.
Prints "actbatch simulator listening on <base URL>" on stdout as soon as it listens, and on
stderr the ACTBATCH_TIME_SCALE a run in another process needs to keep pace with --speed.

Options:
  --port N              port to listen on (default 0: a free port)
  --host H              address to bind (default 127.0.0.1; other hosts need --allow-remote)
  --allow-remote        allow a non-loopback --host
  --shape S             GET shape on /runwayml routes: bare, wrapped or mixed (default bare)
  --speed X             time divisor: 100 makes a 90 s render take 0.9 s (default 1)
  --faults SPEC         e.g. "429=0.1,429ra=0.05,5xx=0.05,reset=0.02,truncate=0.01,fail=0.1"
  --concurrency N       account concurrency; tasks beyond it wait THROTTLED (default 4)
  --seed N              seed of every random draw (default 1)
  --render-mean-ms N    mean render time before --speed (default 90000)
  --task-not-exist-ms N how long a new task answers task_not_exist on /runwayml (default 3000)
  --url-ttl-ms N        lifetime of signed output URLs (default 86400000)
  --daily-limit N       creates allowed per rolling 24 h, then 429
  --credits N           credit balance; creates beyond it get 400
  --task-cost N         credits per task (default 5 per second of reference video)
  --failure-codes LIST  comma-separated codes drawn for FAILED tasks ("none": no code)
  --output-bytes N      serve synthetic outputs of N bytes instead of the MP4 clips
  --delete-mode M       what GET answers after DELETE: gone (404) or cancelled (default gone)
  --task-not-exist-status N  HTTP status of task_not_exist: 400, 404 or 200 (default 400)
  --retry-after-ms N    Retry-After sent with 429ra faults, before --speed (default 2000)
  --stall-ms N          how long a stalled exchange hangs before a reset (default 120000)
  --slow-ms N           how long a slow download trickles (default 20000)
  -h, --help            show this help

Environment:
  ACTBATCH_SIM_API_KEY  if set, the only API key the simulator accepts

Fault grammar: comma-separated [scope:]kind=rate; kinds 429 429ra 5xx 500 502 503 504 500ir reset
stall truncate slow lost lost5xx fail; scopes create get delete api download.`;

const options = {
  port: { type: "string" },
  host: { type: "string" },
  "allow-remote": { type: "boolean" },
  shape: { type: "string" },
  speed: { type: "string" },
  faults: { type: "string" },
  concurrency: { type: "string" },
  seed: { type: "string" },
  "render-mean-ms": { type: "string" },
  "task-not-exist-ms": { type: "string" },
  "url-ttl-ms": { type: "string" },
  "daily-limit": { type: "string" },
  credits: { type: "string" },
  "task-cost": { type: "string" },
  "failure-codes": { type: "string" },
  "output-bytes": { type: "string" },
  "delete-mode": { type: "string" },
  "task-not-exist-status": { type: "string" },
  "retry-after-ms": { type: "string" },
  "stall-ms": { type: "string" },
  "slow-ms": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

export async function runCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, options, usage);
  if (values.help) {
    writeLine(io.stdout, usage);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`, usage);
  const shape = values.shape;
  if (shape !== undefined && shape !== "bare" && shape !== "wrapped" && shape !== "mixed")
    throw new UsageError(`--shape expects bare, wrapped or mixed, got "${shape}"`, usage);
  const deleteMode = values["delete-mode"];
  if (deleteMode !== undefined && deleteMode !== "gone" && deleteMode !== "cancelled")
    throw new UsageError(`--delete-mode expects gone or cancelled, got "${deleteMode}"`, usage);
  const notExistStatus = values["task-not-exist-status"];
  if (notExistStatus !== undefined && !["400", "404", "200"].includes(notExistStatus))
    throw new UsageError(`--task-not-exist-status expects 400, 404 or 200, got "${notExistStatus}"`, usage);
  const stopPort = servingPort(io, "simulate");
  const { startSimulator } = await import("../../sim/index.js");
  const apiKey = io.env["ACTBATCH_SIM_API_KEY"];
  const speed = parsePositiveNumber("--speed", values.speed) ?? 1;
  const sim = await startSimulator({
    port: parseNonNegativeInt("--port", values.port),
    host: values.host,
    allowRemote: values["allow-remote"],
    shape,
    speed,
    faults: values.faults,
    concurrency: parsePositiveInt("--concurrency", values.concurrency, usage),
    seed: parseNonNegativeInt("--seed", values.seed),
    renderMeanMs: parseNonNegativeInt("--render-mean-ms", values["render-mean-ms"]),
    taskNotExistMs: parseNonNegativeInt("--task-not-exist-ms", values["task-not-exist-ms"]),
    urlTtlMs: parsePositiveInt("--url-ttl-ms", values["url-ttl-ms"], usage),
    dailyLimit: parseNonNegativeInt("--daily-limit", values["daily-limit"]),
    credits: parseNonNegativeInt("--credits", values.credits),
    taskCost: parseNonNegativeInt("--task-cost", values["task-cost"]),
    failureCodes: values["failure-codes"]
      ?.split(",")
      .map((code) => code.trim())
      .filter((code) => code !== "")
      .map((code) => (code === "none" ? null : code)),
    outputBytes: parsePositiveInt("--output-bytes", values["output-bytes"], usage),
    deleteMode,
    taskNotExistStatus:
      notExistStatus === undefined ? undefined : (Number(notExistStatus) as 400 | 404 | 200),
    retryAfterMs: parseNonNegativeInt("--retry-after-ms", values["retry-after-ms"]),
    stallMs: parseNonNegativeInt("--stall-ms", values["stall-ms"]),
    slowMs: parseNonNegativeInt("--slow-ms", values["slow-ms"]),
    apiKey: apiKey === undefined || apiKey === "" ? undefined : apiKey,
  });
  writeLine(io.stdout, `actbatch simulator listening on ${sim.baseUrl}`);
  writeLine(
    io.stderr,
    `Runway-form base URL: ${sim.origin}  (stats: ${sim.origin}/__sim/stats; Ctrl-C stops)`,
  );
  // A run in another process keeps its own clock: without the same scale its polls wait as for the
  // real service, and a sped-up simulator looks frozen for half a minute.
  writeLine(
    io.stderr,
    `speed ${speed}: a run in another process matches it with ACTBATCH_TIME_SCALE=${speed}, e.g.`,
  );
  writeLine(
    io.stderr,
    `  ACTBATCH_TIME_SCALE=${speed} COMETAPI_KEY=${apiKey ? "<its key>" : "any"} actbatch run JOB.yaml --base-url ${sim.baseUrl}`,
  );
  const signal = await firstStopSignal(stopPort);
  await sim.close();
  const stats = sim.stats();
  writeLine(
    io.stderr,
    `simulator stopped (${signal}): ${stats.creates} tasks created, ${stats.bytesServed} output bytes served`,
  );
  return 0;

  function parseNonNegativeInt(flag: string, raw: string | undefined): number | undefined {
    if (raw === undefined) return undefined;
    if (!/^(?:0|[1-9][0-9]*)$/.test(raw))
      throw new UsageError(`${flag} expects a whole number, got "${raw}"`, usage);
    return Number(raw);
  }

  function parsePositiveNumber(flag: string, raw: string | undefined): number | undefined {
    if (raw === undefined) return undefined;
    const value = Number(raw);
    if (!/^\d*\.?\d+$/.test(raw) || !(value > 0))
      throw new UsageError(`${flag} expects a positive number, got "${raw}"`, usage);
    return value;
  }
}
