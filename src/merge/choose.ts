// Which record of a task wins when shards' manifests disagree. Shards of one job run disjoint keys,
// so a key recorded by two folders is normally the same record (both restored from a shared cache)
// or a record and its placeholder (NOT_SUBMITTED in the shards that did not own the key). A later
// state of the same task (same task id, or an earlier attempt in the other's history) also wins.
// Anything else means two folders each ran the task: a conflict, never silently resolved.
import { isDeepStrictEqual } from "node:util";
import type { ManifestTask, ManifestTaskStatus } from "../manifest/types.js";

const TERMINAL: ReadonlySet<ManifestTaskStatus> = new Set(["SUCCEEDED", "FAILED", "CANCELLED"]);

/** The record that supersedes the other, or null when they conflict. */
export function chooseRecord(a: ManifestTask, b: ManifestTask): ManifestTask | null {
  if (isDeepStrictEqual(a, b)) return a;
  if (isPlaceholder(b)) return a;
  if (isPlaceholder(a)) return b;
  if (isLaterState(a, b)) return a;
  if (isLaterState(b, a)) return b;
  return null;
}

/** A record of a task no one submitted: what shards write for the keys of other shards. */
function isPlaceholder(task: ManifestTask): boolean {
  return (
    task.status === "NOT_SUBMITTED" &&
    task.taskId === null &&
    task.attempts === 0 &&
    task.history.length === 0
  );
}

/** Whether `later` continues `earlier`: the same task further along, or a resubmission of it. */
function isLaterState(later: ManifestTask, earlier: ManifestTask): boolean {
  if (later.attempts < earlier.attempts) return false;
  if (earlier.taskId !== null && later.taskId === earlier.taskId)
    return TERMINAL.has(later.status) && !TERMINAL.has(earlier.status);
  if (later.attempts === earlier.attempts) return false;
  const earlierIds = [earlier.taskId, ...earlier.history.map((attempt) => attempt.taskId)];
  const laterHistory = later.history.map((attempt) => attempt.taskId);
  return earlierIds.every((id) => id === null || laterHistory.includes(id));
}

/** One line on what a record is, for a conflict message. */
export function describeRecord(task: ManifestTask): string {
  const file = task.outputs[0];
  const parts = [
    task.status,
    `task id ${task.taskId ?? "none"}`,
    `${task.attempts} attempt${task.attempts === 1 ? "" : "s"}`,
  ];
  if (file) parts.push(`${file.file} sha256 ${file.sha256.slice(0, 12)}…`);
  return parts.join(", ");
}
