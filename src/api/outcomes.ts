// What a settled request means for its caller: pure functions from the retry loop's result (a verdict
// and the answer's status and text) to the port's typed outcomes. Every text that comes from the
// service goes through `safe` (the client's redactor) before it leaves. Tested as data.
import type { Verdict } from "./classify.js";
import { API_BODY_LIMIT, type ApiAnswer } from "./exchange.js";
import { normalizeTask } from "./normalize.js";
import type { Settled } from "./retry.js";
import type {
  CancelOutcome,
  CreateOutcome,
  GetOutcome,
  OrganizationInfo,
  OrganizationOutcome,
  TaskState,
} from "./types.js";
import { quoteTaskId, taskIdProblem } from "./task-id.js";
import { urlProblem } from "./url-policy.js";

/** Makes a text fit to leave the client: one bounded line, without the key. */
export type Redact = (text: string) => string;

type GaveUp = Extract<Settled<unknown>, { kind: "gave-up" }>;

export function gaveUpMessage(settled: GaveUp, safe: Redact): string {
  return safe(`${settled.last.message} (${settled.reason})`);
}

/** What a verdict says, for a request that got no answer to read. */
function verdictMessage(verdict: Verdict): string {
  if ("message" in verdict) return verdict.message;
  return verdict.kind === "expired" ? `HTTP ${verdict.status}` : "no answer";
}

/** A create answer's task id: taken, refused (not a plain path segment), or absent. */
export type AnsweredTaskId =
  { kind: "id"; id: string } | { kind: "refused"; id: string; problem: string } | { kind: "none" };

/** The task id of a create's answer: bare `{id}`, `{task_id}`, or new-api's `{code, data: id | {task_id}}`. */
export function taskIdOf(text: string): string | null {
  const answered = answeredTaskId(text);
  return answered.kind === "id" ? answered.id : null;
}

/** The first candidate that is a plain path segment; else the first string refused, and why. */
export function answeredTaskId(text: string): AnsweredTaskId {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { kind: "none" };
  }
  if (typeof body !== "object" || body === null) return { kind: "none" };
  const record = body as Record<string, unknown>;
  const data = record.data;
  const candidates: unknown[] = [record.id, record.task_id];
  if (typeof data === "string") candidates.push(data);
  else if (typeof data === "object" && data !== null) {
    const inner = data as Record<string, unknown>;
    candidates.push(inner.task_id, inner.id);
  }
  let refused: AnsweredTaskId = { kind: "none" };
  for (const candidate of candidates) {
    if (typeof candidate !== "string") continue;
    const problem = taskIdProblem(candidate);
    if (problem === null) return { kind: "id", id: candidate };
    if (refused.kind === "none") refused = { kind: "refused", id: candidate, problem };
  }
  return refused;
}

export function createOutcome(settled: Settled<ApiAnswer>, safe: Redact): CreateOutcome {
  if (settled.kind === "aborted") {
    return settled.sent
      ? {
          kind: "ambiguous",
          message: "interrupted after the request was sent (the service may have created the task)",
        }
      : { kind: "unavailable", message: "interrupted before the request was sent" };
  }
  if (settled.kind === "gave-up") return { kind: "unavailable", message: gaveUpMessage(settled, safe) };
  const { verdict, result } = settled;
  switch (verdict.kind) {
    case "ok": {
      if (result?.cut === true)
        return {
          kind: "ambiguous",
          message: `HTTP ${result.status}: the create's answer is larger than ${API_BODY_LIMIT} and was not read: the service accepted the request, but the id of the task it may have created is unknown`,
        };
      const answered: AnsweredTaskId = result === null ? { kind: "none" } : answeredTaskId(result.body);
      if (answered.kind === "id" && safe(answered.id) === answered.id)
        return { kind: "created", taskId: answered.id };
      // An id that quotes the key would carry it into every path and record it is written to.
      if (answered.kind === "id")
        return {
          kind: "ambiguous",
          message: `HTTP ${result?.status ?? "?"}: the service accepted the request but answered a task id that contains the key: refused, so the task it may have created cannot be polled`,
        };
      if (answered.kind === "refused")
        return {
          kind: "ambiguous",
          message: safe(
            `HTTP ${result?.status ?? "?"}: the service accepted the request but answered the task id ${quoteTaskId(answered.id)}, which is not a plain path segment (${answered.problem}): refused, so the task it may have created cannot be polled`,
          ),
        };
      return {
        kind: "ambiguous",
        message: safe(
          `HTTP ${result?.status ?? "?"}: the service accepted the request but its answer has no task id`,
        ),
      };
    }
    case "account-stop":
      return {
        kind: "account-stop",
        reason: verdict.reason,
        status: verdict.status,
        message: safe(verdict.message),
      };
    case "ambiguous":
      return { kind: "ambiguous", message: safe(verdict.message) };
    case "rejected":
      return {
        kind: "rejected",
        status: verdict.status,
        code: verdict.code === null ? null : safe(verdict.code),
        message: safe(verdict.message),
      };
    case "not-found":
    case "expired":
      return {
        kind: "rejected",
        status: verdict.status,
        code: null,
        message: safe(`HTTP ${verdict.status}`),
      };
  }
}

/** A failure text is the service's words, which may quote the request's headers back. */
function redactState(state: TaskState, safe: Redact): TaskState {
  if (state.status === "failed") {
    return { ...state, code: state.code === null ? null : safe(state.code), message: safe(state.message) };
  }
  return state;
}

export interface Visibility {
  /** When this runner got the task's id. */
  createdAtMs: number;
  /** Now, on the same clock. */
  nowMs: number;
  /** How long after creation an unknown task is "not visible yet" rather than gone. */
  graceMs: number;
}

function visibility(when: Visibility, message: string, safe: Redact): TaskState {
  if (when.nowMs - when.createdAtMs < when.graceMs) return { status: "not-visible" };
  return { status: "missing", message: safe(message) };
}

export function getOutcome(settled: Settled<ApiAnswer>, when: Visibility, safe: Redact): GetOutcome {
  if (settled.kind === "aborted") return { kind: "error", message: "interrupted", status: null };
  if (settled.kind === "gave-up") {
    return { kind: "error", message: gaveUpMessage(settled, safe), status: settled.last.status };
  }
  const { verdict, result } = settled;
  switch (verdict.kind) {
    case "ok": {
      if (result?.cut === true)
        return {
          kind: "error",
          message: `the task's answer is larger than ${API_BODY_LIMIT} and was not read`,
          status: result.status,
        };
      let parsed: unknown;
      try {
        parsed = JSON.parse(result?.body ?? "");
      } catch {
        return { kind: "error", message: "the task answer is not JSON", status: result?.status ?? null };
      }
      const normalized = normalizeTask(parsed);
      if (normalized.kind === "state") return { kind: "state", state: redactState(normalized.state, safe) };
      if (normalized.kind === "not-exist") {
        return {
          kind: "state",
          state: visibility(when, "task_not_exist: the service does not know this task", safe),
        };
      }
      return { kind: "error", message: safe(normalized.message), status: result?.status ?? null };
    }
    case "not-found":
      return { kind: "state", state: visibility(when, verdict.message, safe) };
    case "account-stop":
      return {
        kind: "account-stop",
        reason: verdict.reason,
        status: verdict.status,
        message: safe(verdict.message),
      };
    case "rejected":
      return { kind: "error", message: safe(verdict.message), status: verdict.status };
    case "ambiguous":
      return { kind: "error", message: safe(verdict.message), status: null };
    case "expired":
      return { kind: "error", message: `HTTP ${verdict.status}`, status: verdict.status };
  }
}

export function cancelOutcome(settled: Settled<ApiAnswer>, safe: Redact): CancelOutcome {
  if (settled.kind === "aborted") return { kind: "error", message: "interrupted" };
  if (settled.kind === "gave-up") return { kind: "error", message: gaveUpMessage(settled, safe) };
  const { verdict } = settled;
  // A task the service no longer knows cannot run any more: that is what cancelling asked for.
  if (verdict.kind === "ok" || verdict.kind === "not-found") return { kind: "cancelled" };
  if (verdict.kind === "account-stop" || verdict.kind === "rejected" || verdict.kind === "ambiguous") {
    return { kind: "error", message: safe(verdict.message) };
  }
  return { kind: "error", message: `HTTP ${verdict.status}` };
}

function numberOrNull(value: unknown): number | null {
  return typeof value === "number" ? value : null;
}

/** The account in Runway's answer, for `model`; null when the answer is not that shape. */
export function parseOrganization(body: unknown, model = "act_two"): OrganizationInfo | null {
  const root = body as {
    creditBalance?: unknown;
    tier?: { models?: Record<string, { maxConcurrentGenerations?: unknown; maxDailyGenerations?: unknown }> };
    usage?: { models?: Record<string, { dailyGenerations?: unknown }> };
  } | null;
  if (root === null || typeof root !== "object" || typeof root.creditBalance !== "number") return null;
  const limits = root.tier?.models?.[model];
  const usage = root.usage?.models?.[model];
  return {
    creditBalance: root.creditBalance,
    maxConcurrentGenerations: numberOrNull(limits?.maxConcurrentGenerations),
    maxDailyGenerations: numberOrNull(limits?.maxDailyGenerations),
    dailyGenerations: typeof usage?.dailyGenerations === "number" ? usage.dailyGenerations : 0,
  };
}

/** GET /v1/organization: only a 200 with Runway's shape is an account; any other answer is unusable. */
export function organizationOutcome(
  settled: Settled<ApiAnswer>,
  model: string,
  safe: Redact,
): OrganizationOutcome {
  if (settled.kind === "aborted") return { kind: "error", message: "interrupted" };
  const answer = settled.result;
  if (answer === null) {
    const message =
      settled.kind === "gave-up" ? gaveUpMessage(settled, safe) : safe(verdictMessage(settled.verdict));
    return { kind: "error", message };
  }
  const unusable = (why: string): OrganizationOutcome => ({
    kind: "unusable",
    status: answer.status,
    message: safe(`HTTP ${answer.status}: ${why}`),
  });
  if (answer.status !== 200) {
    return unusable(settled.kind === "gave-up" ? settled.reason : "not an account");
  }
  if (answer.cut) return unusable(`the answer is larger than ${API_BODY_LIMIT} and was not read`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.body);
  } catch {
    return unusable("the answer is not JSON");
  }
  const organization = parseOrganization(parsed, model);
  return organization === null ? unusable("the answer has no credit balance") : { kind: "ok", organization };
}

/** Where POST /v1/uploads says to send the file, and the URI the file will have. */
export interface UploadSlot {
  uploadUrl: URL;
  /** The form fields to send before the file (S3's POST policy). */
  fields: Record<string, unknown>;
  runwayUri: string;
}

export type UploadStep<T> = { kind: "ok"; value: T } | { kind: "error"; message: string };

/** A request of the uploads flow that got no usable answer, in the words of the code before retries. */
function uploadFailure(settled: Settled<ApiAnswer>, what: string, safe: Redact): UploadStep<never> {
  if (settled.kind === "aborted") return { kind: "error", message: `${what}: interrupted` };
  const answer = settled.result;
  const retried = settled.kind === "gave-up" ? ` (${settled.reason})` : "";
  if (answer === null) {
    const message = settled.kind === "gave-up" ? settled.last.message : verdictMessage(settled.verdict);
    return { kind: "error", message: safe(`${what} got no answer: ${message}${retried}`) };
  }
  return {
    kind: "error",
    message: safe(`${what} answered ${answer.status}: ${answer.body.slice(0, 200)}${retried}`),
  };
}

interface SlotAnswer {
  uploadUrl?: unknown;
  fields?: unknown;
  runwayUri?: unknown;
}

/** POST /v1/uploads: a 200 naming an upload URL (https, or loopback http) and the runway:// URI. */
export function uploadSlotOutcome(settled: Settled<ApiAnswer>, safe: Redact): UploadStep<UploadSlot> {
  if (settled.kind !== "done" || settled.result === null || settled.result.status !== 200) {
    return uploadFailure(settled, "POST /v1/uploads", safe);
  }
  let answer: SlotAnswer | null = null;
  try {
    answer = JSON.parse(settled.result.body) as SlotAnswer | null;
  } catch {
    // answered below, as an answer without the fields
  }
  if (typeof answer?.uploadUrl !== "string" || typeof answer.runwayUri !== "string")
    return { kind: "error", message: "POST /v1/uploads answered without uploadUrl and runwayUri" };
  if (!URL.canParse(answer.uploadUrl)) return { kind: "error", message: "upload URL: not a valid URL" };
  const uploadUrl = new URL(answer.uploadUrl);
  const problem = urlProblem(uploadUrl);
  if (problem !== null) return { kind: "error", message: safe(`upload URL: ${problem}`) };
  const fields = (typeof answer.fields === "object" && answer.fields !== null ? answer.fields : {}) as Record<
    string,
    unknown
  >;
  // The URI goes into request bodies: one that quotes the key is refused, not passed on.
  if (safe(answer.runwayUri) !== answer.runwayUri)
    return { kind: "error", message: "POST /v1/uploads answered a runway:// URI that quotes the key" };
  return { kind: "ok", value: { uploadUrl, fields, runwayUri: answer.runwayUri } };
}

/** The multipart POST to the upload URL: any 2xx means the file arrived. */
export function uploadSentOutcome(settled: Settled<ApiAnswer>, safe: Redact): UploadStep<null> {
  const status = settled.kind === "done" ? settled.result?.status : undefined;
  if (status !== undefined && status >= 200 && status <= 299) return { kind: "ok", value: null };
  return uploadFailure(settled, "the upload URL", safe);
}
