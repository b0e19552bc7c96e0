// `actbatch plan --against`, as a person reads it: the folder's manifest and files compared with the
// job (plan-diff.ts), as text for a terminal, Markdown for a pull-request comment, or JSON.
import { access } from "node:fs/promises";
import { dirname } from "node:path";
import type { Writable } from "node:stream";
import type { LoadedPlan } from "../job/types.js";
import { readManifest, resolveManifestPath } from "../manifest/manifest.js";
import type { Manifest } from "../manifest/types.js";
import { verifyOutputs, type StampCache } from "../manifest/verify.js";
import { formatCost } from "./html/cost.js";
import { cell, code } from "./markdown.js";
import { diffPlan, referenceSecondsOf, runWouldAct, type FieldChange, type PlanDiff } from "./plan-diff.js";

/**
 * `plan --against`: reads the manifest of `target`, checks the files it records (size and sha256;
 * with a hash cache, files unchanged since a run hashed them are not read again), and returns the
 * comparison in the format asked, and whether a run would call the API. A folder with no manifest
 * yet (a first CI run, an empty cache) compares as empty, with a warning.
 */
export async function comparePlan(
  loaded: LoadedPlan,
  target: string,
  label: string,
  format: "text" | "markdown" | "json",
  warnings: Writable,
  hashCache?: StampCache,
): Promise<{ text: string; wouldAct: boolean }> {
  const path = await resolveManifestPath(target);
  let manifest: Manifest | null = null;
  if (await exists(path)) manifest = await readManifest(path);
  else warnings.write(`warning: no manifest at ${label}: every task is new\n`);
  const damaged = manifest
    ? new Set((await verifyOutputs(dirname(path), manifest, hashCache)).problems.map((p) => p.key))
    : new Set<string>();
  const diff = diffPlan(loaded.plan, manifest, manifest ? label : null, {
    referenceSeconds: referenceSecondsOf(loaded.report),
    damaged,
  });
  const text =
    format === "json"
      ? JSON.stringify(diff, null, 2) + "\n"
      : format === "markdown"
        ? formatPlanDiffMarkdown(diff)
        : formatPlanDiffText(diff);
  return { text, wouldAct: runWouldAct(diff) };
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** At most this many tasks are listed per group; a PR comment is limited to 65,536 characters. */
const MAX_LISTED = 100;

export function formatChanges(changes: readonly FieldChange[]): string {
  return changes.length === 0
    ? "(same request)"
    : changes.map((c) => `${c.field} ${c.from} -> ${c.to}`).join(", ");
}

function countLines(diff: PlanDiff): [string, number, string][] {
  const resumed = diff.unfinished.filter((task) => task.willSubmit).length;
  const polled = diff.unfinished.filter((task) => task.willPoll).length;
  return [
    ["new", diff.new.length, "will be rendered"],
    ["changed", diff.changed.length, "will be rendered again with a changed request"],
    ["reused", diff.reused.length, "already rendered, files intact: skipped"],
    [
      "fetch again",
      diff.fetchAgain.length,
      "rendered before, file missing or changed: downloaded again from its task (free)",
    ],
    [
      "render again",
      diff.renderAgain.length,
      "output lost and task expired at the provider: rendered again (paid)",
    ],
    [
      "unfinished",
      diff.unfinished.length,
      `in the manifest but not succeeded: ${resumed} will be submitted, ${polled} polled, the rest left as failed`,
    ],
    ["orphaned", diff.orphaned.length, "in the manifest, no longer in the spec (kept, never deleted)"],
  ];
}

export function formatPlanDiffText(diff: PlanDiff): string {
  const lines: string[] = [];
  lines.push(
    `job ${diff.job}: ${diff.total} tasks, compared with ${diff.against ?? "no previous output (every task is new)"}`,
    "",
  );
  for (const [name, n, meaning] of countLines(diff))
    lines.push(`  ${name.padEnd(12)} ${String(n).padStart(6)}  ${meaning}`);
  lines.push("", `cost of this change: ${formatCost(diff.cost)}`);
  const group = (title: string, rows: string[]): void => {
    if (rows.length === 0) return;
    lines.push("", `${title}:`);
    for (const row of rows.slice(0, MAX_LISTED)) lines.push(`  ${row}`);
    if (rows.length > MAX_LISTED) lines.push(`  ... and ${rows.length - MAX_LISTED} more`);
  };
  group(
    "new",
    diff.new.map((task) => `${task.key}  ${task.output}`),
  );
  group(
    "changed",
    diff.changed.map(
      (task) => `${task.key}  ${task.output}  ${formatChanges(task.changes)} (was ${task.previousKey})`,
    ),
  );
  group(
    "fetch again (free)",
    diff.fetchAgain.map((task) => `${task.key}  ${task.output}`),
  );
  group(
    "render again (paid)",
    diff.renderAgain.map((task) => `${task.key}  ${task.output}`),
  );
  group(
    "unfinished",
    diff.unfinished.map((task) => `${task.key}  ${task.output}  ${task.status}`),
  );
  group(
    "orphaned",
    diff.orphaned.map((task) => `${task.key}  ${task.pair}  ${task.status}  ${task.files.join(", ") || "-"}`),
  );
  return lines.join("\n") + "\n";
}

export function formatPlanDiffMarkdown(diff: PlanDiff): string {
  const lines: string[] = [];
  const against = diff.against === null ? "no previous output" : code(diff.against);
  lines.push(`### actbatch plan: ${code(diff.job)} against ${against}`, "");
  lines.push("| | tasks | |", "|---|---:|---|");
  for (const [name, n, meaning] of countLines(diff)) lines.push(`| ${name} | ${n} | ${cell(meaning)} |`);
  lines.push("", `**Cost of this change:** ${cell(formatCost(diff.cost))}`);
  const group = (title: string, header: string[], rows: string[][]): void => {
    if (rows.length === 0) return;
    lines.push(
      "",
      `<details${title.startsWith("Changed") ? " open" : ""}><summary>${title} (${rows.length})</summary>`,
      "",
    );
    lines.push(`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`);
    for (const row of rows.slice(0, MAX_LISTED)) lines.push(`| ${row.join(" | ")} |`);
    if (rows.length > MAX_LISTED) lines.push("", `and ${rows.length - MAX_LISTED} more`);
    lines.push("", "</details>");
  };
  group(
    "Changed",
    ["pair", "output", "change"],
    diff.changed.map((task) => [
      cell(task.pair),
      code(task.output),
      cell(formatChanges(task.changes).replaceAll(" -> ", " → ")),
    ]),
  );
  group(
    "New",
    ["pair", "output", "key"],
    diff.new.map((task) => [cell(task.pair), code(task.output), code(task.key)]),
  );
  group(
    "Fetch again (free)",
    ["pair", "output", "key"],
    diff.fetchAgain.map((task) => [cell(task.pair), code(task.output), code(task.key)]),
  );
  group(
    "Render again (paid)",
    ["pair", "output", "key"],
    diff.renderAgain.map((task) => [cell(task.pair), code(task.output), code(task.key)]),
  );
  group(
    "Unfinished",
    ["pair", "output", "status"],
    diff.unfinished.map((task) => [cell(task.pair), code(task.output), cell(task.status)]),
  );
  group(
    "Orphaned",
    ["pair", "key", "status", "files"],
    diff.orphaned.map((task) => [
      cell(task.pair),
      code(task.key),
      cell(task.status),
      cell(task.files.join(", ")),
    ]),
  );
  return lines.join("\n") + "\n";
}
