// What the page's script knows beyond the markup: each task's details (shown on demand), the
// decisions, and where to send them. Embedded as JSON in a non-executed script element; the script
// only ever sets it as text.
import type { ManifestTask } from "../../manifest/types.js";
import { fieldValue, type PairGrid } from "./grid.js";
import type { RenderInput } from "./sheet-types.js";

export interface PageTask {
  pair: string;
  values: string;
  status: string;
  taskId: string | null;
  attempts: number;
  outputs: { file: string; url: string | null; bytes: number; sha256: string; checks: unknown[] }[];
  error: { code: string; message: string } | null;
  history: unknown[];
  request: unknown;
  possiblyChargedTwice: boolean;
  /** --against: the earlier output's URL, for a changed task. */
  before?: string | null;
}

export interface PageData {
  live: boolean;
  /** Where decisions are posted (the live page only). */
  post: string | null;
  tasks: Record<string, PageTask>;
  decisions: Record<string, { decision: string | null; note: string; at: string }>;
}

export function pageData(input: RenderInput, grids: readonly PairGrid[], post: string | null): PageData {
  const tasks: Record<string, PageTask> = Object.create(null) as Record<string, PageTask>;
  for (const grid of grids)
    for (const task of grid.tasks) {
      const entry = describeTask(task, grid, input);
      Object.defineProperty(tasks, task.key, { value: entry, enumerable: true });
    }
  const decisions: PageData["decisions"] = {};
  for (const [key, entry] of input.review.decisions)
    Object.defineProperty(decisions, key, {
      value: { decision: entry.decision, note: entry.note, at: entry.at },
      enumerable: true,
    });
  return { live: input.live, post: input.live ? post : null, tasks, decisions };
}

function describeTask(task: ManifestTask, grid: PairGrid, input: RenderInput): PageTask {
  const described: PageTask = {
    pair: task.pair,
    values: grid.varying.map((field) => `${field}=${String(fieldValue(task, field))}`).join(" "),
    status: task.status,
    taskId: task.taskId,
    attempts: task.attempts,
    outputs: task.outputs.map((output) => ({
      file: output.file,
      url: input.outputUrl(output.file),
      bytes: output.bytes,
      sha256: output.sha256,
      checks: output.checks ?? [],
    })),
    error: task.error ? { code: task.error.code, message: task.error.message } : null,
    history: task.history,
    request: task.request,
    possiblyChargedTwice: task.possiblyChargedTwice,
  };
  if (input.changed?.has(task.key)) described.before = input.changed.get(task.key) ?? null;
  return described;
}

/**
 * JSON that stays inside its script element: every "<" is escaped, so no "</script>" or "<!--" in a
 * pair id or an error message can end the element or open a comment.
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}
