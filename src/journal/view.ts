// A read-only, forgiving view of a run's journal for `actbatch status`. The run engine refuses a
// damaged journal (it must not guess which tasks were paid); a report should instead show as
// much as can be read and say what could not. A torn last line after kill -9 is normal.
import { readFile, stat } from "node:fs/promises";
import { hasErrnoCode } from "../fs/errno.js";
import {
  applyRecord,
  isPossiblyChargedTwice,
  type AttemptState,
  type JournalFold,
  type KeyState,
} from "./fold.js";
import { journalPath } from "./paths.js";
import { decodeRecord } from "./records.js";

export interface JournalView {
  path: string;
  mtimeMs: number;
  /** Intact records read. */
  records: number;
  /** The last line was incomplete (the process was killed while appending): ignored. */
  tornTail: boolean;
  /** 1-based numbers of damaged lines followed by intact ones: real damage, skipped here. */
  damagedLines: number[];
  /** Records that did not fit the ones before them (e.g. an answer without its intent): skipped. */
  inconsistentRecords: number;
  fold: JournalFold;
}

/** Reads the journal of an output folder; null when there is none. */
export async function readJournalView(outputDir: string): Promise<JournalView | null> {
  const path = journalPath(outputDir);
  let text: string;
  let mtimeMs: number;
  try {
    text = await readFile(path, "utf8");
    mtimeMs = (await stat(path)).mtimeMs;
  } catch (error) {
    if (hasErrnoCode(error, "ENOENT", "ENOTDIR")) return null;
    throw error;
  }
  return { path, mtimeMs, ...parseJournalLeniently(text) };
}

export function parseJournalLeniently(text: string): Omit<JournalView, "path" | "mtimeMs"> {
  const fold: JournalFold = new Map();
  let records = 0;
  let inconsistentRecords = 0;
  let lastIntactLine = 0;
  const bad: number[] = [];
  // The text after the last newline is a record that was being appended (usually torn, sometimes
  // whole with only its newline missing): decoded like the others, it is one more line.
  text.split("\n").forEach((line, index) => {
    if (line.trim() === "") return;
    const record = decodeRecord(line);
    if (record === null) {
      bad.push(index + 1);
      return;
    }
    records += 1;
    lastIntactLine = index + 1;
    try {
      applyRecord(fold, record, index + 1);
    } catch {
      inconsistentRecords += 1;
    }
  });
  return {
    records,
    // Damage after the last intact record is what kill -9 during an append leaves: expected.
    tornTail: bad.some((line) => line > lastIntactLine),
    damagedLines: bad.filter((line) => line < lastIntactLine),
    inconsistentRecords,
    fold,
  };
}

/** Where a key stands according to the journal. */
export type JournalTaskPhase =
  /** The intent to create is on disk and no answer: the create may or may not have reached the service. */
  | "unanswered"
  /** The create's outcome is known to be unknown (timeout after sending, reset). */
  | "ambiguous"
  /** Created, no terminal state recorded: still rendering, or finished unseen. */
  | "in-flight"
  /** SUCCEEDED at the service, not every output downloaded and verified yet. */
  | "awaiting-download"
  | "succeeded"
  | "failed"
  | "cancelled"
  /** The service provably did not create it (rejected, unavailable, account stop). */
  | "not-created";

export interface JournalTask {
  key: string;
  pair: string;
  params: KeyState["params"];
  phase: JournalTaskPhase;
  /** The current (last) attempt. */
  attempt: number;
  taskId: string | null;
  /** Every task id the journal knows for this key, oldest first. */
  taskIds: string[];
  possiblyChargedTwice: boolean;
}

export function journalTasks(fold: JournalFold): JournalTask[] {
  const tasks: JournalTask[] = [];
  for (const state of fold.values()) {
    const current = state.attempts.at(-1);
    if (!current) continue;
    tasks.push({
      key: state.key,
      pair: state.pair,
      params: state.params,
      phase: phaseOf(current),
      attempt: current.attempt,
      taskId: current.taskId,
      taskIds: state.attempts.flatMap((attempt) => (attempt.taskId === null ? [] : [attempt.taskId])),
      possiblyChargedTwice: isPossiblyChargedTwice(state),
    });
  }
  return tasks.toSorted((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function phaseOf(attempt: AttemptState): JournalTaskPhase {
  switch (attempt.phase) {
    case "intent":
      return "unanswered";
    case "ambiguous":
      return attempt.refusedCode === null ? "ambiguous" : "failed";
    case "not-created":
      return "not-created";
    case "created":
      return attempt.cancelled ? "cancelled" : "in-flight";
    case "terminal": {
      const terminal = attempt.terminal;
      if (terminal === null || terminal.status === "CANCELLED") return "cancelled";
      if (terminal.status === "FAILED") return "failed";
      return attempt.outputs.length < Math.max(terminal.outputs, 1) ? "awaiting-download" : "succeeded";
    }
  }
}
