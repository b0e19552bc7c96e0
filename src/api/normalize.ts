// One internal task state from the two GET shapes (DESIGN.md section 1). Pure, tested as data.
//   bare (Runway):     {id, status, createdAt, progress?, output?, failure?, failureCode?}
//   wrapped (CometAPI): {code: "success", message, data: {task_id, status, fail_reason, progress: "37%",
//                        result_url?, data: <the Runway task, possibly stale>}}
import type { TaskState } from "./types.js";

export type NormalizedTask =
  | { kind: "state"; state: TaskState }
  /** The service said task_not_exist: not visible yet, or gone (the caller knows how old the task is). */
  | { kind: "not-exist" }
  /** Nothing we can act on (unknown status, a success without any output URL): poll again later. */
  | { kind: "invalid"; message: string };

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function text(value: unknown): string | null {
  return typeof value === "string" && value.trim() !== "" ? value.trim() : null;
}

function isHttpUrl(value: unknown): value is string {
  return typeof value === "string" && /^https?:\/\//i.test(value.trim());
}

/** Progress as a fraction 0..1: a number (0..1, or a percentage above 1), "37%", or "0.37". */
export function parseProgress(value: unknown): number | null {
  let n: number;
  if (typeof value === "number") {
    n = value > 1 ? value / 100 : value;
  } else if (typeof value === "string" && value.trim() !== "") {
    const trimmed = value.trim();
    const percent = trimmed.endsWith("%");
    n = Number(percent ? trimmed.slice(0, -1) : trimmed);
    if (percent || n > 1) n /= 100;
  } else {
    return null;
  }
  if (!Number.isFinite(n)) return null;
  return Math.min(1, Math.max(0, n));
}

/** The inner task object of the wrapped shape (new-api stores it raw; tolerate it arriving as a JSON string). */
function innerTask(wrapper: Json): Json | null {
  const inner = wrapper.data;
  if (isRecord(inner)) return inner;
  if (typeof inner === "string") {
    try {
      const parsed: unknown = JSON.parse(inner);
      return isRecord(parsed) ? parsed : null;
    } catch {
      return null;
    }
  }
  return null;
}

function urlsOf(output: unknown): string[] {
  if (!Array.isArray(output)) return [];
  return output.filter(isHttpUrl).map((url) => url.trim());
}

/**
 * The output URLs, in the documented order of places: the bare `output`, the inner task's `output`,
 * the wrapper's `result_url`, and (legacy new-api) an http URL in `fail_reason` of a SUCCESS.
 */
function findOutputs(body: Json, wrapper: Json | null, inner: Json | null): string[] {
  const bare = urlsOf(body.output);
  if (bare.length > 0) return bare;
  const fromInner = urlsOf(inner?.output);
  if (fromInner.length > 0) return fromInner;
  if (wrapper !== null) {
    if (isHttpUrl(wrapper.result_url)) return [wrapper.result_url.trim()];
    const status = text(wrapper.status)?.toUpperCase();
    if (status === "SUCCESS" && isHttpUrl(wrapper.fail_reason)) return [wrapper.fail_reason.trim()];
  }
  return [];
}

/** How far along a state is: a terminal state never goes back, so the further one is the newer news. */
function rank(state: TaskState): number {
  switch (state.status) {
    case "not-visible":
    case "missing":
      return 0;
    case "pending":
    case "throttled":
      return 1;
    case "running":
      return 2;
    case "succeeded":
    case "failed":
    case "cancelled":
      return 3;
  }
}

/** A state before the output URLs are attached (they are looked up across the whole body). */
type Draft = TaskState | { status: "succeeded-pending-urls" };

function fromRunwayTask(task: Json): Draft | "unknown" {
  const status = text(task.status)?.toUpperCase();
  switch (status) {
    case "PENDING":
      return { status: "pending" };
    case "THROTTLED":
      return { status: "throttled" };
    case "RUNNING":
      return { status: "running", progress: parseProgress(task.progress) };
    case "SUCCEEDED":
      return { status: "succeeded-pending-urls" };
    case "FAILED":
      return {
        status: "failed",
        code: text(task.failureCode),
        message: text(task.failure) ?? "the task failed without a reason",
      };
    case "CANCELLED":
      return { status: "cancelled" };
    default:
      return "unknown";
  }
}

function fromWrapper(wrapper: Json, inner: Json | null): Draft | "unknown" {
  const status = text(wrapper.status)?.toUpperCase();
  switch (status) {
    case "NOT_START":
    case "SUBMITTED":
    case "QUEUED":
    case "UNKNOWN":
      return { status: "pending" };
    case "IN_PROGRESS":
      return { status: "running", progress: parseProgress(wrapper.progress) };
    case "SUCCESS":
      return { status: "succeeded-pending-urls" };
    case "FAILURE":
      return {
        status: "failed",
        code: text(inner?.failureCode),
        message: text(wrapper.fail_reason) ?? text(inner?.failure) ?? "the task failed without a reason",
      };
    default:
      return "unknown";
  }
}

function draftRank(draft: Draft): number {
  return draft.status === "succeeded-pending-urls" ? 3 : rank(draft);
}

function finish(draft: Draft, outputs: string[]): NormalizedTask {
  if (draft.status !== "succeeded-pending-urls") return { kind: "state", state: draft };
  if (outputs.length === 0)
    return { kind: "invalid", message: "the task succeeded but the answer has no output URL" };
  return { kind: "state", state: { status: "succeeded", outputs } };
}

function normalizeWrapped(body: Json, wrapper: Json): NormalizedTask {
  const inner = innerTask(wrapper);
  const outputs = findOutputs(body, wrapper, inner);
  const outer = fromWrapper(wrapper, inner);
  const fromInner = inner === null ? "unknown" : fromRunwayTask(inner);
  if (fromInner === "unknown") {
    if (outer !== "unknown") return finish(outer, outputs);
    return { kind: "invalid", message: `unrecognised task status ${JSON.stringify(wrapper.status ?? null)}` };
  }
  if (outer === "unknown") return finish(fromInner, outputs);
  if (fromInner.status === "failed" && outer.status === "failed" && text(inner?.failure) === null) {
    return finish({ ...fromInner, message: outer.message }, outputs);
  }
  if (fromInner.status === "running" && fromInner.progress === null && outer.status === "running") {
    return finish({ status: "running", progress: outer.progress }, outputs);
  }
  // The wrapper is a gateway's summary, refreshed in the background (up to ~15 s behind); the inner
  // object is Runway's own JSON, and carries the failure code and the outputs. Whichever of the two
  // is further along is the more recent news, since no task ever moves backwards. When both are as
  // far along (both terminal but disagreeing, say), Runway's own word wins.
  if (draftRank(fromInner) >= draftRank(outer)) return finish(fromInner, outputs);
  // The wrapper says SUCCESS before any URL is readable: keep the inner state and poll again.
  if (outer.status === "succeeded-pending-urls" && outputs.length === 0) return finish(fromInner, outputs);
  // A wrapper FAILURE ahead of a live inner task is the gateway's own verdict (its timeout sweeper,
  // say): through this gateway the task will never finish, so it is failed, with no provider code.
  return finish(outer, outputs);
}

/** Normalises a GET /v1/tasks/{id} body (parsed JSON) of either shape. */
export function normalizeTask(body: unknown): NormalizedTask {
  if (!isRecord(body)) return { kind: "invalid", message: "the task answer is not a JSON object" };
  if (text(body.code) === "task_not_exist" || text(body.status)?.toLowerCase() === "task_not_exist") {
    return { kind: "not-exist" };
  }
  // The bare shape has a top-level status; the wrapped one a code and a data object.
  if (body.status === undefined && isRecord(body.data)) return normalizeWrapped(body, body.data);
  const draft = fromRunwayTask(body);
  if (draft === "unknown") {
    return { kind: "invalid", message: `unrecognised task status ${JSON.stringify(body.status ?? null)}` };
  }
  return finish(draft, findOutputs(body, null, null));
}
