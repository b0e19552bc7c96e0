// The ApiClient port (src/api/types.ts), assembled: one transport (transport.ts, the only import of
// undici), one retry loop (retry.ts) under one retry budget, the outcome mapping (outcomes.ts), output
// downloads (downloads.ts) and Runway's account and uploads (account.ts). Every message that leaves
// the client has been through `safe`: clipped, and without the key in any of its forms.
import { setTimeout as delay } from "node:timers/promises";
import { redactSecrets } from "../redact.js";
import { getOrganization, uploadEphemeral, type AccountContext } from "./account.js";
import { DEFAULT_RUNWAY_VERSION } from "./connection.js";
import { openDownload, type DownloadContext } from "./downloads.js";
import { exchange, type ApiAnswer, type ExchangeContext } from "./exchange.js";
import { cancelOutcome, createOutcome, getOutcome, type Redact } from "./outcomes.js";
import { retrying, type RetryPolicy, type Settled } from "./retry.js";
import { quoteTaskId, taskIdProblem } from "./task-id.js";
import { createRetryBudget } from "./retry-budget.js";
import { Reachability } from "./reachability.js";
import { createTransport, errorMessage, type TransportRequest } from "./transport.js";
import type { ApiClient, ApiClientOptions, ApiRequestCounts } from "./types.js";
import type { RequestBody } from "./wire-types.js";

/** The client's timings at real speed (a run's time scale divides them). */
export const CLIENT_DEFAULTS = {
  backoffBaseMs: 500,
  backoffCapMs: 20_000,
  maxRetryAfterMs: 60_000,
  visibilityGraceMs: 30_000,
  connectMs: 10_000,
  headersMs: 60_000,
  bodyMs: 60_000,
  maxAttempts: 4,
  /** The shortest wait between two attempts of a request, before time scaling. */
  minRetryDelayMs: 250,
};
/** Scaled timeouts never drop below this: a busy 2-core test box must not turn a slow answer into an ambiguous create. */
const MIN_SCALED_TIMEOUT_MS = 2_000;
const MAX_MESSAGE = 800;

function taskPath(taskId: string): string {
  return `/v1/tasks/${encodeURIComponent(taskId)}`;
}

/** Why a task id recorded elsewhere (an old journal, a hand-edited manifest) is never sent, or null. */
function unsendable(taskId: string, safe: Redact): string | null {
  const problem = taskIdProblem(taskId);
  return problem === null
    ? null
    : safe(`the task id ${quoteTaskId(taskId)} is not a plain path segment (${problem}): not sent`);
}

export function createApiClient(options: ApiClientOptions): ApiClient {
  const scale = options.timeScale !== undefined && options.timeScale > 0 ? options.timeScale : 1;
  const scaledTimeout = (ms: number): number => Math.max(MIN_SCALED_TIMEOUT_MS, Math.round(ms / scale));
  const clock = options.clock ?? Date.now;
  const graceMs = options.visibilityGraceMs ?? CLIENT_DEFAULTS.visibilityGraceMs / scale;
  const secrets = [options.apiKey];
  const counts: ApiRequestCounts = { create: 0, get: 0, cancel: 0, download: 0, retries: 0 };

  const base = new URL(options.baseUrl);
  const apiOrigin = base.origin;
  const basePath = base.pathname.replace(/\/+$/, "");
  const transport = createTransport({
    apiOrigin,
    apiKey: options.apiKey,
    runwayVersion: options.runwayVersion ?? DEFAULT_RUNWAY_VERSION,
    connections: Math.max(1, Math.ceil(options.concurrency)) + 2,
    connectMs: options.timeouts?.connectMs ?? scaledTimeout(CLIENT_DEFAULTS.connectMs),
    headersMs: options.timeouts?.headersMs ?? scaledTimeout(CLIENT_DEFAULTS.headersMs),
    bodyMs: options.timeouts?.bodyMs ?? scaledTimeout(CLIENT_DEFAULTS.bodyMs),
  });

  /** Every message handed to the caller: one line, bounded, and never containing the key. */
  const safe: Redact = (message) => {
    const clipped = message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}…` : message;
    return redactSecrets(clipped, secrets);
  };

  const accountRetry: RetryPolicy = {
    maxAttempts: options.maxAttempts ?? CLIENT_DEFAULTS.maxAttempts,
    backoff: { baseMs: CLIENT_DEFAULTS.backoffBaseMs / scale, capMs: CLIENT_DEFAULTS.backoffCapMs / scale },
    maxRetryAfterMs: CLIENT_DEFAULTS.maxRetryAfterMs / scale,
    minDelayMs: CLIENT_DEFAULTS.minRetryDelayMs / scale,
    budget: options.retryBudget ?? createRetryBudget(),
    sleep:
      options.sleep ??
      ((ms: number, signal?: AbortSignal) => delay(ms, undefined, signal ? { signal } : undefined)),
    random: options.random ?? Math.random,
  };
  /** The tasks' requests count their retries (the run's summary reports them); the account's do not. */
  const taskRetry: RetryPolicy = { ...accountRetry, onRetry: () => counts.retries++ };
  const context: ExchangeContext = { transport, provider: options.provider, clock };
  const reachability = new Reachability(base.host);

  function apiRequest(
    method: TransportRequest["method"],
    path: string,
    body: string | undefined,
    signal: AbortSignal | undefined,
  ): TransportRequest {
    const headers: Record<string, string> = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    return {
      origin: apiOrigin,
      path: `${basePath}${path}`,
      method,
      headers,
      ...(body !== undefined && { body }),
      signal,
      credentials: true,
    };
  }

  /** One task request (create, get, cancel), counted at every attempt, through the retry loop. */
  function taskRequest(
    kind: "create" | "get" | "cancel",
    request: TransportRequest,
    signal: AbortSignal | undefined,
  ): Promise<Settled<ApiAnswer>> {
    return retrying(taskRetry, signal, async () => {
      // A host found unreachable is not tried again: every request gets the same stop, nothing is sent.
      const refusal = reachability.refusal();
      if (refusal !== null) return { kind: "verdict", verdict: refusal, result: null };
      counts[kind]++;
      return reachability.observe(await exchange(context, kind, request));
    });
  }

  const unexpected = (error: unknown): string => safe(`unexpected error: ${errorMessage(error)}`);
  const downloads: DownloadContext = {
    ...context,
    retry: taskRetry,
    safe,
    onRequest: () => counts.download++,
  };
  const accountContext: AccountContext = { ...context, retry: accountRetry, safe, apiRequest };

  return {
    async createTask(body: RequestBody, signal?: AbortSignal) {
      try {
        const request = apiRequest("POST", "/v1/character_performance", JSON.stringify(body), signal);
        return createOutcome(await taskRequest("create", request, signal), safe);
      } catch (error) {
        // Nothing above should throw; if it does, no id came back and the request may have left.
        return { kind: "ambiguous", message: unexpected(error) };
      }
    },
    async getTask(taskId: string, createdAtMs: number, signal?: AbortSignal) {
      const refused = unsendable(taskId, safe);
      if (refused !== null) return { kind: "error", message: refused, status: null };
      try {
        const request = apiRequest("GET", taskPath(taskId), undefined, signal);
        const settled = await taskRequest("get", request, signal);
        return getOutcome(settled, { createdAtMs, nowMs: clock(), graceMs }, safe);
      } catch (error) {
        return { kind: "error", message: unexpected(error), status: null };
      }
    },
    async cancelTask(taskId: string) {
      const refused = unsendable(taskId, safe);
      if (refused !== null) return { kind: "error", message: refused };
      try {
        const request = apiRequest("DELETE", taskPath(taskId), undefined, undefined);
        return cancelOutcome(await taskRequest("cancel", request, undefined), safe);
      } catch (error) {
        return { kind: "error", message: unexpected(error) };
      }
    },
    async openDownload(url: string, offset: number, signal?: AbortSignal) {
      try {
        return await openDownload(downloads, url, offset, signal);
      } catch (error) {
        return { kind: "error", message: unexpected(error), retryable: true };
      }
    },
    async getOrganization(model = "act_two", signal?: AbortSignal) {
      try {
        return await getOrganization(accountContext, model, signal);
      } catch (error) {
        return { kind: "error", message: unexpected(error) };
      }
    },
    async uploadEphemeral(file, signal?: AbortSignal) {
      try {
        return await uploadEphemeral(accountContext, file, signal);
      } catch (error) {
        return { kind: "error", message: unexpected(error) };
      }
    },
    counts: () => ({ ...counts }),
    close: () => transport.close(),
  };
}
