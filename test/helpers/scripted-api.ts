// An in-memory API port for driving the run engine without a socket: every create is answered from a
// script kept per request key, every GET from a script kept per task id, and every call is recorded in
// the order it was made. Each answer comes on a later turn of the event loop (as a socket's would), so
// a task polled in a loop never starves the journal's writes; no real time passes.
import { createHash } from "node:crypto";
import { mkdir, open, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { taskKeyOf } from "../../src/canonical.js";
import type {
  AccountStopReason,
  ApiClient,
  ApiRequestCounts,
  CancelOutcome,
  CreateOutcome,
  DownloadOpen,
  GetOutcome,
  OrganizationOutcome,
  UploadFile,
  UploadOutcome,
} from "../../src/api/types.js";
import type { ResponseBody } from "../../src/api/streamed-body.js";
import type { RequestBody } from "../../src/api/wire-types.js";
import { DISK_FULL } from "../../src/manifest/codes.js";
import type { DownloadOptions, DownloadResult } from "../../src/run/downloader.js";

/** The HTTP status each account stop is usually answered with. */
const ACCOUNT_STOP_STATUS: Record<AccountStopReason, number> = {
  "bad-key": 401,
  "no-credits": 402,
  "daily-limit": 429,
  unreachable: 0,
};

/** What a create can answer, by name. */
export const create = {
  created: (taskId: string): CreateOutcome => ({ kind: "created", taskId }),
  rejected: (code: string | null = "VALIDATION_ERROR", status = 400): CreateOutcome => ({
    kind: "rejected",
    status,
    code,
    message: `the service refused the body (${code ?? `HTTP ${status}`})`,
  }),
  unavailable: (): CreateOutcome => ({
    kind: "unavailable",
    message: "503 on every attempt before the request was accepted",
  }),
  accountStop: (reason: AccountStopReason, status = ACCOUNT_STOP_STATUS[reason]): CreateOutcome => ({
    kind: "account-stop",
    reason,
    status,
    message: `account stop: ${reason}`,
  }),
  ambiguous: (): CreateOutcome => ({
    kind: "ambiguous",
    message: "connection reset after the request was sent",
  }),
};

/** What a GET of a task can answer, by name. */
export const get = {
  notVisible: (): GetOutcome => ({ kind: "state", state: { status: "not-visible" } }),
  pending: (): GetOutcome => ({ kind: "state", state: { status: "pending" } }),
  throttled: (): GetOutcome => ({ kind: "state", state: { status: "throttled" } }),
  running: (progress: number | null = null): GetOutcome => ({
    kind: "state",
    state: { status: "running", progress },
  }),
  succeeded: (...outputs: string[]): GetOutcome => ({
    kind: "state",
    state: { status: "succeeded", outputs },
  }),
  failed: (code: string | null, message = `failed: ${code ?? "no code"}`): GetOutcome => ({
    kind: "state",
    state: { status: "failed", code, message },
  }),
  cancelled: (): GetOutcome => ({ kind: "state", state: { status: "cancelled" } }),
  missing: (): GetOutcome => ({ kind: "state", state: { status: "missing", message: "task_not_exist" } }),
  error: (message = "503 after the client's retries", status: number | null = 503): GetOutcome => ({
    kind: "error",
    message,
    status,
  }),
  accountStop: (reason: AccountStopReason, status = ACCOUNT_STOP_STATUS[reason]): GetOutcome => ({
    kind: "account-stop",
    reason,
    status,
    message: `account stop: ${reason}`,
  }),
};

/** The URL of a task's output number `index`, as the scripts below hand them out. */
export function outputUrl(taskId: string, index = 0): string {
  return `https://cdn.test/outputs/${taskId}/${index}.mp4`;
}

/** The bytes served at an output URL: known to the test, different for every URL. */
export function outputBytes(url: string): Buffer {
  return Buffer.from(`mp4 bytes of ${url}\n`, "utf8");
}

export type ApiCall =
  | { method: "createTask"; key: string; body: RequestBody; answer: CreateOutcome }
  | { method: "getTask"; taskId: string; createdAtMs: number; answer: GetOutcome }
  | { method: "cancelTask"; taskId: string; answer: CancelOutcome }
  | { method: "openDownload"; url: string; offset: number }
  | { method: "getOrganization"; model: string | undefined }
  | { method: "uploadEphemeral"; filename: string }
  | { method: "close" };

export interface ScriptedApiOptions {
  /** GET answers of a task id nobody scripted (default: SUCCEEDED with one output). */
  unscriptedTask?: (taskId: string) => GetOutcome[];
  organization?: OrganizationOutcome;
}

export class ScriptedApi implements ApiClient {
  /** Every call, in the order it was made (an answer is recorded with its call). */
  readonly calls: ApiCall[] = [];
  private readonly creates = new Map<string, CreateOutcome[]>();
  private readonly createCounts = new Map<string, number>();
  private readonly states = new Map<string, GetOutcome[]>();
  private readonly gets = new Map<string, number>();
  private readonly cancels = new Map<string, CancelOutcome>();
  private readonly listeners: ((call: ApiCall) => void)[] = [];

  constructor(private readonly options: ScriptedApiOptions = {}) {}

  /**
   * The answers to the creates of the task whose request has this key, in order. Once they are used
   * up, a create answers `created` with the id `<key>#<n>` (n: the create's number for this key).
   */
  onCreate(key: string, ...answers: CreateOutcome[]): this {
    this.creates.set(key, [...(this.creates.get(key) ?? []), ...answers]);
    return this;
  }

  /** The answers to the GETs of this task id, in order; the last one is repeated. */
  onGet(taskId: string, ...answers: GetOutcome[]): this {
    if (answers.length === 0) throw new Error(`no answer scripted for ${taskId}`);
    this.states.set(taskId, answers);
    return this;
  }

  /** What a DELETE of this task id answers (default: cancelled). */
  onCancel(taskId: string, answer: CancelOutcome): this {
    this.cancels.set(taskId, answer);
    return this;
  }

  /** Called with each call as it is made (before it is answered). */
  listen(listener: (call: ApiCall) => void): this {
    this.listeners.push(listener);
    return this;
  }

  callsOf<M extends ApiCall["method"]>(method: M): Extract<ApiCall, { method: M }>[] {
    return this.calls.filter((call): call is Extract<ApiCall, { method: M }> => call.method === method);
  }

  /** The keys of the creates, in the order they were sent. */
  createdKeys(): string[] {
    return this.callsOf("createTask").map((call) => call.key);
  }

  /** The task ids that were read, once per GET, in order. */
  polledIds(): string[] {
    return this.callsOf("getTask").map((call) => call.taskId);
  }

  async createTask(body: RequestBody, _signal?: AbortSignal): Promise<CreateOutcome> {
    const key = taskKeyOf(body);
    const n = (this.createCounts.get(key) ?? 0) + 1;
    this.createCounts.set(key, n);
    const answer = this.creates.get(key)?.shift() ?? create.created(`${key}#${n}`);
    this.record({ method: "createTask", key, body, answer });
    await nextTurn();
    return answer;
  }

  async getTask(taskId: string, createdAtMs: number, _signal?: AbortSignal): Promise<GetOutcome> {
    const n = this.gets.get(taskId) ?? 0;
    this.gets.set(taskId, n + 1);
    const script = this.states.get(taskId) ??
      this.options.unscriptedTask?.(taskId) ?? [get.succeeded(outputUrl(taskId))];
    const answer = script[Math.min(n, script.length - 1)] as GetOutcome;
    this.record({ method: "getTask", taskId, createdAtMs, answer });
    await nextTurn();
    return answer;
  }

  async cancelTask(taskId: string): Promise<CancelOutcome> {
    const answer = this.cancels.get(taskId) ?? { kind: "cancelled" };
    this.record({ method: "cancelTask", taskId, answer });
    await nextTurn();
    return answer;
  }

  async openDownload(url: string, offset: number, _signal?: AbortSignal): Promise<DownloadOpen> {
    this.record({ method: "openDownload", url, offset });
    await nextTurn();
    const bytes = outputBytes(url).subarray(offset);
    return {
      kind: "ok",
      status: offset > 0 ? 206 : 200,
      contentLength: bytes.length,
      totalSize: outputBytes(url).length,
      body: bodyOf(bytes),
    };
  }

  async getOrganization(model?: string, _signal?: AbortSignal): Promise<OrganizationOutcome> {
    this.record({ method: "getOrganization", model });
    await nextTurn();
    return (
      this.options.organization ?? {
        kind: "ok",
        organization: {
          creditBalance: 1_000,
          maxConcurrentGenerations: 2,
          maxDailyGenerations: 100,
          dailyGenerations: 0,
        },
      }
    );
  }

  async uploadEphemeral(file: UploadFile, _signal?: AbortSignal): Promise<UploadOutcome> {
    this.record({ method: "uploadEphemeral", filename: file.filename });
    await nextTurn();
    const hash = createHash("sha256").update(file.bytes).digest("hex").slice(0, 16);
    return { kind: "uploaded", runwayUri: `runway://uploads/${hash}/${file.filename}` };
  }

  counts(): ApiRequestCounts {
    return {
      create: this.callsOf("createTask").length,
      get: this.callsOf("getTask").length,
      cancel: this.callsOf("cancelTask").length,
      download: this.callsOf("openDownload").length,
      retries: 0,
    };
  }

  async close(): Promise<void> {
    this.record({ method: "close" });
  }

  private record(call: ApiCall): void {
    this.calls.push(call);
    for (const listener of this.listeners) listener(call);
  }
}

/** Resolves on the next turn of the event loop (after pending I/O callbacks), without any timer. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * The engine's `download`, without the network: writes the URL's known bytes to the temporary file,
 * renames it into place, and answers their real size and sha256. Records each call.
 */
export function scriptedDownload(): {
  download: (options: DownloadOptions) => Promise<DownloadResult>;
  calls: DownloadOptions[];
  /** Answers `failed` for these URLs. */
  failing: Set<string>;
  /** Answers as the downloader does when the disk is full, for these URLs. */
  diskFull: Set<string>;
} {
  const calls: DownloadOptions[] = [];
  const failing = new Set<string>();
  const diskFull = new Set<string>();
  const download = async (options: DownloadOptions): Promise<DownloadResult> => {
    calls.push(options);
    if (failing.has(options.url)) return { kind: "failed", message: "403 on every attempt", retryable: true };
    if (diskFull.has(options.url))
      return {
        kind: "failed",
        code: DISK_FULL,
        message:
          "not downloaded: no space left where the output folder is (ENOSPC: no space left on device, write)",
        retryable: false,
      };
    const bytes = outputBytes(options.url);
    await mkdir(dirname(options.tempPath), { recursive: true });
    await writeFile(options.tempPath, bytes);
    // As the downloader does: the complete file is checked while open, then renamed into place.
    let checks;
    if (options.check) {
      const file = await open(options.tempPath, "r");
      try {
        checks = await options.check(file, bytes.length);
      } finally {
        await file.close();
      }
    }
    await rename(options.tempPath, options.finalPath);
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    return { kind: "ok", bytes: bytes.length, sha256, ...(checks && { checks }) };
  };
  return { download, calls, failing, diskFull };
}

/** An in-memory body: all its bytes in one batch, then its end. */
function bodyOf(bytes: Buffer): ResponseBody {
  let left: Buffer[] | null = [bytes];
  return {
    take: () => {
      const chunks = left;
      left = null;
      return Promise.resolve(chunks);
    },
    discard: () => {
      left = null;
    },
  };
}
