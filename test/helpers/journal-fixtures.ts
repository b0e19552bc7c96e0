// Journal files written the way the run engine writes them (one CRC-checked record per line).
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { sha256Hex as sha256 } from "../../src/canonical.js";
import { encodeRecord, type JournalRecord } from "../../src/journal/records.js";
import type { TaskPlan } from "../../src/job/types.js";

type Distribute<T> = T extends JournalRecord ? Omit<T, "at"> : never;
export type RecordInput = Distribute<JournalRecord>;

const AT = "2026-03-01T10:00:00.000Z";

export function journalText(records: RecordInput[]): string {
  return records.map((record) => encodeRecord({ ...record, at: AT } as JournalRecord) + "\n").join("");
}

export async function writeJournal(outputDir: string, text: string): Promise<string> {
  const dir = join(outputDir, ".actbatch");
  await mkdir(dir, { recursive: true });
  const path = join(dir, "journal.ndjson");
  await writeFile(path, text);
  return path;
}

export function intent(task: TaskPlan, attempt = 1): RecordInput {
  return {
    t: "intent",
    key: task.key,
    attempt,
    pair: task.pair,
    params: task.params,
    request: task.request,
    output: task.output,
  };
}

export function created(task: TaskPlan, attempt = 1, taskId = `task-${task.key}-${attempt}`): RecordInput {
  return { t: "created", key: task.key, attempt, taskId };
}

export function ambiguous(task: TaskPlan, attempt = 1): RecordInput {
  return { t: "ambiguous", key: task.key, attempt, message: "connection reset after the request was sent" };
}

export function succeeded(task: TaskPlan, attempt = 1, taskId = `task-${task.key}-${attempt}`): RecordInput {
  return { t: "terminal", key: task.key, attempt, taskId, status: "SUCCEEDED", error: null, outputs: 1 };
}

export function failed(task: TaskPlan, attempt = 1, taskId = `task-${task.key}-${attempt}`): RecordInput {
  return {
    t: "terminal",
    key: task.key,
    attempt,
    taskId,
    status: "FAILED",
    error: { code: "SAFETY.INPUT.IMAGE", message: "flagged", retryable: false },
    outputs: 0,
  };
}

export function output(
  task: TaskPlan,
  content: string,
  attempt = 1,
  taskId = `task-${task.key}-${attempt}`,
): RecordInput {
  return {
    t: "output",
    key: task.key,
    attempt,
    taskId,
    index: 0,
    file: task.output,
    bytes: Buffer.byteLength(content),
    sha256: sha256(content),
  };
}
