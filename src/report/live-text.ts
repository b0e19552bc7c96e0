// The live view's text, fitted to the terminal (pure): the job's line and one row per pair with a
// bar and its counts. Each is built to fit its room whole, so the terminal never breaks one.
import type { LivePhase, PairPhases, RunSnapshot } from "../run/events.js";
import { displayWidth } from "./fit-lines.js";
import { formatDuration } from "./run-summary-text.js";
import { plural } from "./words.js";

/** The bar's width when the row has room for it (a wider one says no more). */
const BAR_MAX = 24;
/** Below this the bar is left out: counts matter more than a sliver of bar. */
const BAR_MIN = 6;
/** A pair's name takes at most this share of a row. */
const LABEL_SHARE = 0.35;

/** Time left as a person reads it: whole seconds, nothing when no work is left. */
export function formatEta(ms: number | null): string | null {
  if (ms === null || ms <= 0) return null;
  if (ms < 60_000) return `${Math.ceil(ms / 1_000)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1_000);
  return seconds === 0 ? `${minutes} min` : `${minutes} min ${seconds} s`;
}

function totalOf(p: Record<LivePhase, number>): number {
  return Object.values(p).reduce((sum, n) => sum + n, 0);
}

/** A pair's outcome when the run ends (or is over for it). */
export type RowEnd = "succeeded" | "failed" | "unfinished";

export function rowEnd(p: Record<LivePhase, number>): RowEnd {
  if (p.failed > 0) return "failed";
  return p.succeeded === totalOf(p) ? "succeeded" : "unfinished";
}

/** Whether every task of the pair succeeded: its row can end before the run does. */
export function pairSucceeded(p: Record<LivePhase, number>): boolean {
  return totalOf(p) > 0 && p.succeeded === totalOf(p);
}

/** Counts worth showing, most telling first; parts that do not fit are dropped from the end. */
function countParts(p: Record<LivePhase, number>): string[] {
  const parts: string[] = [];
  if (p.failed) parts.push(`${p.failed} failed`);
  if (p.running) parts.push(`${p.running} running`);
  if (p.submitting + p.pending) parts.push(`${p.submitting + p.pending} submitted`);
  if (p.downloading) parts.push(`${p.downloading} downloading`);
  if (p.queued) parts.push(`${p.queued} queued`);
  if (p.held) parts.push(`${p.held} held`);
  if (p["not-submitted"]) parts.push(`${p["not-submitted"]} not submitted`);
  return parts;
}

/** `head` and as many parts as fit in `width`, joined by " · " (the first by `first`). */
function fitParts(head: string, parts: readonly string[], width: number, first = " · "): string {
  let text = head;
  for (const [index, part] of parts.entries()) {
    const next = `${text}${index === 0 ? first : " · "}${part}`;
    if (displayWidth(next) > width) break;
    text = next;
  }
  return truncate(text, width);
}

/** Cut to `width` columns with an ellipsis (a name too long for any row). */
export function truncate(text: string, width: number): string {
  if (displayWidth(text) <= width) return text;
  if (width <= 1) return [...text].slice(0, Math.max(0, width)).join("");
  return `${[...text].slice(0, width - 1).join("")}…`;
}

/**
 * The job's line: `prefix` (how it ended), its counts, the time so far and the time left, in at
 * most `width` columns; what does not fit is dropped from the end.
 */
export function jobTitle(job: string, s: RunSnapshot, width: number, prefix = ""): string {
  const p = s.phases;
  const counts = countParts(p);
  const eta = formatEta(s.etaMs);
  const times = [formatDuration(s.elapsedMs), ...(eta === null ? [] : [`ETA ${eta}`])];
  // The times come before the rarer counts: when room is short they still say the run is alive.
  const parts = [
    `${prefix}${p.succeeded}/${plural(s.total, "task")} done`,
    ...counts.slice(0, 2),
    ...times,
    ...counts.slice(2),
    ...(s.getsPerTask === null ? [] : [`${s.getsPerTask.toFixed(1)} GETs/task`]),
  ];
  return fitParts(`${truncate(job, Math.floor(width / 2))}:`, parts, width, " ");
}

/** The job's line before its first snapshot. */
export function startTitle(job: string, line: string, width: number): string {
  return truncate(`${job}: ${line}`, width);
}

/** The width of the pairs' names column: the longest name, within its share of the row. */
export function labelWidth(pairs: readonly string[], width: number): number {
  const longest = Math.max(0, ...pairs.map(displayWidth));
  return Math.min(longest, Math.max(8, Math.floor(width * LABEL_SHARE)));
}

/**
 * A pair's row: its name, a bar of its finished tasks (succeeded or failed) and its counts,
 * within `width` columns. The bar shrinks, then goes, before any count is dropped.
 */
export function pairRow(row: PairPhases, width: number, nameWidth: number): string {
  const p = row.phases;
  const total = totalOf(p);
  const name = truncate(row.pair, nameWidth).padEnd(nameWidth);
  const count = `${p.succeeded}/${total}`;
  const details = countParts(p);
  const tail = [count, ...details].join(" · ");
  const room = width - displayWidth(name) - displayWidth(tail) - 2;
  const barWidth = Math.min(BAR_MAX, room);
  if (barWidth >= BAR_MIN) return `${name} ${bar(p.succeeded + p.failed, total, barWidth)} ${tail}`;
  return fitParts(`${name} ${count}`, details, width);
}

function bar(done: number, total: number, width: number): string {
  const filled = total === 0 ? 0 : Math.round((done / total) * width);
  return "█".repeat(filled) + "░".repeat(width - filled);
}
