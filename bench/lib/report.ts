// The shape every benchmark reports in, and the one table they all print.

import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

export interface BenchRow {
  scenario: string;
  figure: string;
  actbatch: number | string | null;
  baseline: number | string | null;
  /** actbatch / baseline, or the scenario's own ratio (e.g. faults over fault-free). */
  ratio: number | null;
  /** Human-readable bar, e.g. "<= 1.05". Empty when the figure is informational. */
  target: string;
  /** null when there is no target or the figure could not be measured. */
  met: boolean | null;
}

export interface BenchResult {
  bench: string;
  startedAt: string;
  durationMs: number;
  params: Record<string, unknown>;
  rows: BenchRow[];
  notes: string[];
  /** Every raw figure, per run, for anyone who wants more than the table. */
  details: unknown;
}

/** Formats a figure with a sensible number of significant digits; NaN prints as "n/a". */
export function formatNumber(value: number | string | null): string {
  if (value === null) return "";
  if (typeof value === "string") return value;
  if (!Number.isFinite(value)) return "n/a";
  if (Number.isInteger(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude >= 1000) return Math.round(value).toString();
  if (magnitude >= 100) return value.toFixed(1);
  if (magnitude >= 10) return value.toFixed(2);
  return value.toFixed(3);
}

function metCell(met: boolean | null): string {
  if (met === null) return "";
  return met ? "yes" : "NO";
}

export function tableOf(rows: readonly BenchRow[]): string[][] {
  return [
    ["scenario", "figure", "actbatch", "baseline", "ratio", "target", "met?"],
    ...rows.map((row) => [
      row.scenario,
      row.figure,
      formatNumber(row.actbatch),
      formatNumber(row.baseline),
      formatNumber(row.ratio),
      row.target,
      metCell(row.met),
    ]),
  ];
}

/** A plain-text table with aligned columns. */
export function formatTable(rows: readonly BenchRow[]): string {
  const cells = tableOf(rows);
  const widths =
    cells[0]?.map((_, column) => Math.max(...cells.map((line) => (line[column] ?? "").length))) ?? [];
  const lines = cells.map((line) =>
    line
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join("  ")
      .trimEnd(),
  );
  const rule = widths.map((width) => "-".repeat(width)).join("  ");
  return [lines[0], rule, ...lines.slice(1)].join("\n");
}

/** The same table in Markdown (for bench/README.md). */
export function formatMarkdownTable(rows: readonly BenchRow[]): string {
  const cells = tableOf(rows);
  const [header = [], ...body] = cells;
  return [
    `| ${header.join(" | ")} |`,
    `| ${header.map(() => "---").join(" | ")} |`,
    ...body.map((line) => `| ${line.join(" | ")} |`),
  ].join("\n");
}

export async function writeJson(file: string, value: unknown): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(value, null, 2) + "\n");
}

/** true/false when both sides are numbers, null when the figure is missing. */
export function atMost(value: number | null, limit: number): boolean | null {
  return value === null || !Number.isFinite(value) ? null : value <= limit;
}

export function atLeast(value: number | null, limit: number): boolean | null {
  return value === null || !Number.isFinite(value) ? null : value >= limit;
}
