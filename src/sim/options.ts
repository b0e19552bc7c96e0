import { UserError } from "../errors.js";
import { DEFAULT_FAILURE_CODES } from "./failure-codes.js";
import { parseFaultSpec, type FaultSpec, type FaultTable } from "./faults.js";

/** How task GETs answer on the /runwayml (CometAPI) routes. /v1 routes always answer bare. */
export type SimShape = "bare" | "wrapped" | "mixed";

/** What a GET of a deleted or cancelled task answers. */
export type DeleteMode = "gone" | "cancelled";

/**
 * Options of the simulator. Every duration is in real milliseconds at speed 1 and is divided by
 * `speed`, as are the Retry-After values it sends.
 */
export interface SimulatorOptions {
  /** @defaultValue 0 (a free port) */
  port?: number;
  /** @defaultValue "127.0.0.1"; anything but loopback needs allowRemote */
  host?: string;
  allowRemote?: boolean;
  /** Seed of every random draw. @defaultValue 1 */
  seed?: number;
  /**
   * Mixed into the task ids' draw only: simulators with the same seed and different salts give the
   * same renders under different task ids (a simulator started per run must not reuse an earlier
   * run's ids, which a resumed run still holds). @defaultValue "" (the seed alone decides)
   */
  idSalt?: string;
  /** Time divisor: 100 turns a 90 s render into 0.9 s. @defaultValue 1 */
  speed?: number;
  /** @defaultValue "bare" */
  shape?: SimShape;
  /** Account concurrency: tasks beyond it wait THROTTLED. @defaultValue 4 */
  concurrency?: number;
  /** How long after creation a /runwayml GET answers task_not_exist. @defaultValue 3000 */
  taskNotExistMs?: number;
  /** HTTP status of the task_not_exist answer. @defaultValue 400 */
  taskNotExistStatus?: 400 | 404 | 200;
  /** Also hide new tasks on /v1 routes (404 Could not find Task) for taskNotExistMs. @defaultValue false */
  taskNotExistOnV1?: boolean;
  /** Lifetime of a signed output URL. @defaultValue 24 h */
  urlTtlMs?: number;
  /** If set, the only key accepted; otherwise any non-empty bearer token is. */
  apiKey?: string;
  /** Creates allowed per rolling 24 h; then 429. @defaultValue unlimited */
  dailyLimit?: number;
  /** Credit balance; a create that costs more than what is left gets 400. @defaultValue unlimited */
  credits?: number;
  /** Credits charged per task. @defaultValue 5 per second of reference video (10 s unless the URI says simDuration=N) */
  taskCost?: number;
  faults?: FaultSpec;
  /** Codes drawn for FAILED tasks; null means a failure without a code. @defaultValue all nine codes and null */
  failureCodes?: (string | null)[];
  /** Serve a deterministic synthetic payload of this many bytes instead of each task's render. */
  outputBytes?: number;
  /**
   * Render every task at this ratio ("1280:720"), whatever ratio it asked for: a render of the
   * wrong shape, for output checks to catch. @defaultValue the requested ratio
   */
  clipRatio?: string;
  /**
   * Render every task this many seconds long, whatever its reference: a render of the wrong
   * length, for output checks to catch. @defaultValue the reference's length
   */
  clipSeconds?: number;
  /** Mean of the lognormal RUNNING time. @defaultValue 90000 */
  renderMeanMs?: number;
  /** Lognormal sigma of the render time. @defaultValue 0.35 */
  renderSigma?: number;
  /** PENDING time is uniform in this range. @defaultValue [2000, 10000] */
  pendingMs?: [number, number];
  /** A task's state changes at most this often. @defaultValue 5000 */
  updateIntervalMs?: number;
  /** The CometAPI wrapper is refreshed this often. @defaultValue 15000 */
  wrapperRefreshMs?: number;
  /** Retry-After sent with 429ra faults. @defaultValue 2000 */
  retryAfterMs?: number;
  /** How long a stalled exchange hangs before the connection is reset. @defaultValue 120000 */
  stallMs?: number;
  /** How long a slow download takes to trickle out. @defaultValue 20000 */
  slowMs?: number;
  /** @defaultValue "gone" (404 Could not find Task, as the live API does) */
  deleteMode?: DeleteMode;
  /** Reject unknown body fields. @defaultValue false */
  strictBody?: boolean;
  /** Send Retry-After with the daily-limit 429. @defaultValue false (not documented by Runway) */
  dailyLimitRetryAfter?: boolean;
  /** Requests kept in the request log (newest last). @defaultValue 1000 */
  requestLogSize?: number;
  /** Clock, epoch milliseconds. @defaultValue Date.now */
  clock?: () => number;
  /** A file the simulator keeps its tasks in (loaded at start, saved after each change and on close). */
  statePath?: string;
}

export interface ResolvedOptions {
  port: number;
  host: string;
  seed: number;
  idSalt: string;
  speed: number;
  shape: SimShape;
  concurrency: number;
  taskNotExistMs: number;
  taskNotExistStatus: 400 | 404 | 200;
  taskNotExistOnV1: boolean;
  urlTtlMs: number;
  apiKey: string | undefined;
  dailyLimit: number;
  credits: number;
  taskCost: number | undefined;
  faults: FaultTable;
  failureCodes: (string | null)[];
  outputBytes: number | undefined;
  clipRatio: string | undefined;
  clipSeconds: number | undefined;
  renderMeanMs: number;
  renderSigma: number;
  pendingMs: [number, number];
  updateIntervalMs: number;
  wrapperRefreshMs: number;
  retryAfterMs: number;
  stallMs: number;
  slowMs: number;
  deleteMode: DeleteMode;
  strictBody: boolean;
  dailyLimitRetryAfter: boolean;
  requestLogSize: number;
  clock: () => number;
}

const LOOPBACK = /^(?:127(?:\.\d{1,3}){3}|::1|localhost|::ffff:127(?:\.\d{1,3}){3})$/i;

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.test(host);
}

export function resolveOptions(options: SimulatorOptions = {}): ResolvedOptions {
  const host = options.host ?? "127.0.0.1";
  if (!isLoopbackHost(host) && options.allowRemote !== true)
    throw new UserError(
      `the simulator binds to loopback only, not "${host}"`,
      undefined,
      "pass allowRemote (--allow-remote) to serve other hosts",
    );
  const speed = options.speed ?? 1;
  if (!(speed > 0) || !Number.isFinite(speed))
    throw new UserError(`speed must be a positive number, got ${speed}`);
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UserError(`invalid port ${port}`);
  const resolved: ResolvedOptions = {
    port,
    host,
    seed: options.seed ?? 1,
    idSalt: options.idSalt ?? "",
    speed,
    shape: options.shape ?? "bare",
    concurrency: options.concurrency ?? 4,
    taskNotExistMs: options.taskNotExistMs ?? 3000,
    taskNotExistStatus: options.taskNotExistStatus ?? 400,
    taskNotExistOnV1: options.taskNotExistOnV1 ?? false,
    urlTtlMs: options.urlTtlMs ?? 24 * 3600_000,
    apiKey: options.apiKey,
    dailyLimit: options.dailyLimit ?? Infinity,
    credits: options.credits ?? Infinity,
    taskCost: options.taskCost,
    faults: parseFaultSpec(options.faults),
    failureCodes: options.failureCodes ?? DEFAULT_FAILURE_CODES,
    outputBytes: options.outputBytes,
    clipRatio: options.clipRatio,
    clipSeconds: options.clipSeconds,
    renderMeanMs: options.renderMeanMs ?? 90_000,
    renderSigma: options.renderSigma ?? 0.35,
    pendingMs: options.pendingMs ?? [2000, 10_000],
    updateIntervalMs: options.updateIntervalMs ?? 5000,
    wrapperRefreshMs: options.wrapperRefreshMs ?? 15_000,
    retryAfterMs: options.retryAfterMs ?? 2000,
    stallMs: options.stallMs ?? 120_000,
    slowMs: options.slowMs ?? 20_000,
    deleteMode: options.deleteMode ?? "gone",
    strictBody: options.strictBody ?? false,
    dailyLimitRetryAfter: options.dailyLimitRetryAfter ?? false,
    requestLogSize: options.requestLogSize ?? 1000,
    clock: options.clock ?? Date.now,
  };
  if (!["bare", "wrapped", "mixed"].includes(resolved.shape))
    throw new UserError(`shape must be bare, wrapped or mixed, got "${resolved.shape}"`);
  if (!Number.isInteger(resolved.concurrency) || resolved.concurrency < 1)
    throw new UserError(`concurrency must be a positive integer, got ${resolved.concurrency}`);
  if (
    resolved.outputBytes !== undefined &&
    (!Number.isSafeInteger(resolved.outputBytes) || resolved.outputBytes < 1)
  )
    throw new UserError(`outputBytes must be a positive integer, got ${resolved.outputBytes}`);
  if (resolved.failureCodes.length === 0) throw new UserError("failureCodes must list at least one code");
  return resolved;
}
