// The API port: everything actbatch asks of the service (the tasks, their outputs, Runway's account
// and uploads), in the engine's own terms. src/api/client.ts implements it over one transport
// (transport.ts, the only import of undici), one retry loop and one redactor.
import type { RetryBudget } from "./retry-budget.js";
import type { ResponseBody } from "./streamed-body.js";
import type { ProviderName, RequestBody } from "./wire-types.js";

export interface ApiClientOptions {
  provider: ProviderName;
  /** Everything before /v1/ (e.g. https://api.cometapi.com/runwayml). */
  baseUrl: string;
  /** Read from the environment by the caller; never logged, never part of an error message. */
  apiKey: string;
  /** X-Runway-Version header, default 2024-11-06. */
  runwayVersion?: string;
  /** Sizes the connection pool: tasks in flight plus downloads. */
  concurrency: number;
  /** Grace period after creation during which task_not_exist / 404 means "not visible yet". Default 30 s. */
  visibilityGraceMs?: number;
  /** Injected for tests: the clock and the sleeper used by retries. */
  clock?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Injected for tests: randomness for jitter. */
  random?: () => number;
  /**
   * Runs the client's own timing at a different speed (benchmarks and tests, against the simulator's
   * speed factor): every default delay and timeout (backoff base and cap, the Retry-After clamp, the
   * visibility grace, the connect/headers/body timeouts, floored at 2 s) is divided by it. Values passed
   * explicitly are used as given. Default 1.
   */
  timeScale?: number;
  /** Attempts per request, the first one included (default 4). */
  maxAttempts?: number;
  /** Network timeouts in ms (defaults: connect 10 s, headers 60 s, body 60 s between chunks). */
  timeouts?: { connectMs?: number; headersMs?: number; bodyMs?: number };
  /** The retry budget, when several clients must share one (default: a fresh one per client). */
  retryBudget?: RetryBudget;
}

/** Account-wide conditions: every further create would fail the same way, so submission stops. */
/** Why nothing more can be sent: the account's state, or a service that cannot be reached at all. */
export type AccountStopReason = "bad-key" | "no-credits" | "daily-limit" | "unreachable";

export type CreateOutcome =
  | { kind: "created"; taskId: string }
  /** The service refused this body (400 validation, 404, non-retryable 5xx): this task will not be created. */
  | { kind: "rejected"; status: number; code: string | null; message: string }
  | { kind: "account-stop"; reason: AccountStopReason; status: number; message: string }
  /** The request may have reached the service and created a (paid) task, but no id came back. */
  | { kind: "ambiguous"; message: string }
  /** Retries exhausted on answers that prove no task was created (connect failures, 429/503 before acceptance). */
  | { kind: "unavailable"; message: string };

/** A task's state, normalised from both the bare (Runway) and the wrapped (CometAPI) GET shapes. */
export type TaskState =
  /** task_not_exist / 404 within the visibility grace period after creation. */
  | { status: "not-visible" }
  | { status: "pending" }
  | { status: "throttled" }
  /** progress is 0..1 when the service reports it. */
  | { status: "running"; progress: number | null }
  | { status: "succeeded"; outputs: string[] }
  | { status: "failed"; code: string | null; message: string }
  | { status: "cancelled" }
  /** Gone: 404 or task_not_exist after the grace period (deleted, or never existed). */
  | { status: "missing"; message: string };

export type GetOutcome =
  | { kind: "state"; state: TaskState }
  | { kind: "account-stop"; reason: AccountStopReason; status: number; message: string }
  /** Retries exhausted or a non-retryable error; the task itself may be fine: poll again later. */
  | { kind: "error"; message: string; status: number | null };

export type CancelOutcome = { kind: "cancelled" } | { kind: "error"; message: string };

export type DownloadOpen =
  | {
      kind: "ok";
      /** 200 for a whole body, 206 when a Range request was honoured. */
      status: 200 | 206;
      /** Bytes in this response's body, when the server said. */
      contentLength: number | null;
      /** Total size of the file when known (Content-Length of a 200, or the Content-Range total). */
      totalSize: number | null;
      body: ResponseBody;
    }
  /** 401/403/404 on a signed URL: the URL expired; GET the task again for fresh URLs. */
  | { kind: "expired"; status: number }
  | { kind: "error"; message: string; retryable: boolean };

/** The part of Runway's GET /v1/organization answer actbatch reads (the SDK's OrganizationRetrieveResponse). */
export interface OrganizationInfo {
  creditBalance: number;
  maxConcurrentGenerations: number | null;
  maxDailyGenerations: number | null;
  dailyGenerations: number;
}

export type OrganizationOutcome =
  | { kind: "ok"; organization: OrganizationInfo }
  /**
   * The service answered, but not with an account actbatch can read: 404 (CometAPI does not proxy the
   * endpoint), another error status, or a shape it does not know.
   */
  | { kind: "unusable"; status: number; message: string }
  /** No answer: the network failed (retries exhausted), or the caller aborted. */
  | { kind: "error"; message: string };

/** A local file for Runway's uploads. */
export interface UploadFile {
  filename: string;
  contentType: string;
  bytes: Uint8Array;
}

export type UploadOutcome =
  /** runway:// URI, valid for 24 h. */
  { kind: "uploaded"; runwayUri: string } | { kind: "error"; message: string };

/** Requests made for the tasks (the run's summary reports them); the account and uploads are not counted. */
export interface ApiRequestCounts {
  create: number;
  get: number;
  cancel: number;
  download: number;
  retries: number;
}

export interface ApiClient {
  createTask(body: RequestBody, signal?: AbortSignal): Promise<CreateOutcome>;
  /** createdAtMs: when this runner got the id (for the task_not_exist grace period). */
  getTask(taskId: string, createdAtMs: number, signal?: AbortSignal): Promise<GetOutcome>;
  cancelTask(taskId: string): Promise<CancelOutcome>;
  /** Opens an output URL, from byte `offset` (Range) when > 0. Never sends the API key to another origin. */
  openDownload(url: string, offset: number, signal?: AbortSignal): Promise<DownloadOpen>;
  /** Runway's account (GET /v1/organization): balance, and the tier's limits and today's usage of `model` (default act_two). */
  getOrganization(model?: string, signal?: AbortSignal): Promise<OrganizationOutcome>;
  /**
   * Runway's uploads: POST /v1/uploads, then the file as a multipart POST to the upload URL it returns
   * (another origin: never with the key), giving a runway:// URI valid for 24 h.
   */
  uploadEphemeral(file: UploadFile, signal?: AbortSignal): Promise<UploadOutcome>;
  counts(): ApiRequestCounts;
  close(): Promise<void>;
}
