// The JSON bodies the simulator sends: Runway's bare task, CometAPI's wrapped envelope, and the two
// error families (Runway's `{error, issues?, docUrl?}` on /v1, CometAPI's `{error: {...}}` on /runwayml).
import { isTerminal, snapshotAt, type SimTask, type TaskSnapshot, type TaskStatus } from "./tasks.js";

export const DOC_URL = "https://docs.dev.runwayml.com/api";

export interface ValidationIssue {
  code: string;
  path: (string | number)[];
  message: string;
}

/** Credits a terminal task finally costs: refunded failures and cancels report 0. */
export function finalCost(task: SimTask, status: TaskStatus): number {
  if (status === "SUCCEEDED") return task.cost;
  if (status === "FAILED" && task.failure?.code?.startsWith("SAFETY")) return task.cost;
  return 0;
}

/** Runway's task object as GET /v1/tasks/{id} returns it. */
export function bareTask(
  task: SimTask,
  snap: TaskSnapshot,
  outputs: () => string[],
): Record<string, unknown> {
  const body: Record<string, unknown> = {
    id: task.id,
    status: snap.status,
    createdAt: new Date(task.createdAt).toISOString(),
  };
  if (snap.status === "RUNNING") body["progress"] = snap.progress ?? 0;
  if (snap.status === "SUCCEEDED") body["output"] = outputs();
  if (snap.status === "FAILED" && task.failure) {
    body["failure"] = task.failure.text;
    if (task.failure.code !== null) body["failureCode"] = task.failure.code;
  }
  if (isTerminal(snap.status)) body["cost"] = { credits: finalCost(task, snap.status) };
  else body["estimatedCost"] = { credits: task.cost };
  return body;
}

const WRAPPER_STATUS: Record<TaskStatus, string> = {
  THROTTLED: "QUEUED",
  PENDING: "QUEUED",
  RUNNING: "IN_PROGRESS",
  SUCCEEDED: "SUCCESS",
  FAILED: "FAILURE",
  CANCELLED: "FAILURE",
};

/**
 * CometAPI's envelope. The wrapper fields come from the gateway's last background refresh (every
 * wrapperRefresh ms, at a per-task phase), so they lag the inner task, which is current.
 */
export function wrappedTask(
  task: SimTask,
  now: number,
  wrapperRefresh: number,
  outputs: () => string[],
): Record<string, unknown> {
  const inner = bareTask(task, snapshotAt(task, now), outputs);
  inner["createdAt"] = isoWithOffset(task.createdAt, 8);
  const firstRefresh = task.createdAt + task.wrapperPhase;
  let status = "NOT_START";
  let progress = "0%";
  let startTime = 0;
  let finishTime = 0;
  let failReason = "";
  let resultUrl: string | undefined;
  if (now >= firstRefresh) {
    const seenAt = firstRefresh + Math.floor((now - firstRefresh) / wrapperRefresh) * wrapperRefresh;
    const seen = snapshotAt(task, seenAt);
    status = WRAPPER_STATUS[seen.status];
    if (seen.status === "RUNNING")
      progress = `${Math.min(99, Math.max(10, Math.round((seen.progress ?? 0) * 100)))}%`;
    else if (isTerminal(seen.status)) progress = "100%";
    else progress = "10%";
    if (seen.status !== "THROTTLED" && seen.status !== "PENDING" && seenAt >= task.runningAt)
      startTime = unixSeconds(task.runningAt);
    if (isTerminal(seen.status))
      finishTime = unixSeconds(Math.min(seenAt, task.endAt, task.cancelledAt ?? Infinity));
    if (seen.status === "FAILED") failReason = task.failure?.text ?? "";
    if (seen.status === "CANCELLED") failReason = "Task cancelled";
    if (seen.status === "SUCCEEDED" && Array.isArray(inner["output"]))
      resultUrl = (inner["output"] as string[])[0];
  }
  const data: Record<string, unknown> = {
    task_id: task.id,
    action: "CHARACTER_PERFORMANCE",
    status,
    fail_reason: failReason,
    submit_time: unixSeconds(task.createdAt),
    start_time: startTime,
    finish_time: finishTime,
    progress,
  };
  if (resultUrl !== undefined) data["result_url"] = resultUrl;
  data["data"] = inner;
  return { code: "success", message: "", data };
}

function unixSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}

/** An ISO time in a fixed UTC offset, without milliseconds, the way CometAPI re-serialises createdAt. */
export function isoWithOffset(ms: number, hours: number): string {
  const shifted = new Date(Math.floor(ms / 1000) * 1000 + hours * 3600_000).toISOString().slice(0, 19);
  const sign = hours >= 0 ? "+" : "-";
  return `${shifted}${sign}${String(Math.abs(hours)).padStart(2, "0")}:00`;
}

export function runwayError(message: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { error: message, ...extra };
}

export function cometError(message: string, requestId: string, code = ""): Record<string, unknown> {
  return {
    error: { message: `${message} (request id: ${requestId})`, type: "comet_api_error", param: "", code },
  };
}

export const TASK_NOT_EXIST = { code: "task_not_exist", message: "task_not_exist", data: null };
