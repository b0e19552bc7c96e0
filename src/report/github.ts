// GitHub Actions integration: a Markdown job summary appended to $GITHUB_STEP_SUMMARY, and
// spec problems as `::error file=...,line=...,col=...::` workflow commands (annotations on the PR).
import { appendFile } from "node:fs/promises";
import { relative } from "node:path";
import type { Manifest } from "../manifest/types.js";
import type { Diagnostic, ProviderName } from "../job/types.js";
import { SpecError } from "../job/diagnostics.js";
import { formatCost } from "./html/cost.js";
import { estimateManifestCost } from "./html/write.js";
import { cell, code } from "./markdown.js";

export interface StepSummaryInfo {
  outputDir: string;
  /** The contact sheet, when one was written. */
  reportPath?: string;
  provider?: ProviderName;
  usdPerTask?: number;
  /** Shown as "in 12.3 s" when given. */
  durationMs?: number;
}

/** Failed tasks listed in the summary before "and N more" (a step summary is limited to 1 MiB). */
const MAX_FAILED_LISTED = 50;

/**
 * Appends the run's summary to the file $GITHUB_STEP_SUMMARY names; does nothing (and returns
 * false) outside GitHub Actions.
 */
export async function appendGithubStepSummary(
  env: NodeJS.ProcessEnv,
  manifest: Manifest,
  info: StepSummaryInfo,
): Promise<boolean> {
  const file = env.GITHUB_STEP_SUMMARY;
  if (!file) return false;
  await appendFile(file, await formatStepSummary(manifest, info, env.GITHUB_WORKSPACE));
  return true;
}

export async function formatStepSummary(
  manifest: Manifest,
  info: StepSummaryInfo,
  workspace?: string,
): Promise<string> {
  const s = manifest.summary;
  const cost = await estimateManifestCost(
    info.outputDir,
    manifest,
    info.provider ?? "cometapi",
    info.usdPerTask,
  );
  const icon = s.failed > 0 ? "❌" : s.pending > 0 ? "⏸️" : "✅";
  const lines = [
    `### ${icon} actbatch ${code(manifest.job)}: ${s.succeeded}/${s.total} succeeded`,
    "",
    "| tasks | succeeded | failed | pending | possibly charged twice | estimated cost |",
    "|---:|---:|---:|---:|---:|---|",
    `| ${s.total} | ${s.succeeded} | ${s.failed} | ${s.pending} | ${s.possiblyChargedTwice} | ${cell(formatCost(cost))} |`,
    "",
    `spec ${code(manifest.spec.file)} (sha256 ${code(manifest.spec.sha256.slice(0, 12))})` +
      (info.durationMs === undefined ? "" : `, in ${(info.durationMs / 1000).toFixed(1)} s`),
  ];
  const place = (path: string): string => code(workspace ? relative(workspace, path) || "." : path);
  lines.push("", `Output folder: ${place(info.outputDir)}`);
  if (info.reportPath) lines.push(`Contact sheet: ${place(info.reportPath)} (in the run's artifacts)`);
  const failed = manifest.tasks.filter((task) => task.status === "FAILED");
  if (failed.length > 0) {
    lines.push("", "#### Failed tasks", "", "| pair | key | code | message |", "|---|---|---|---|");
    for (const task of failed.slice(0, MAX_FAILED_LISTED))
      lines.push(
        `| ${cell(task.pair)} | ${code(task.key)} | ${code(task.error?.code ?? "-")} | ${cell(task.error?.message ?? "")} |`,
      );
    if (failed.length > MAX_FAILED_LISTED) lines.push("", `and ${failed.length - MAX_FAILED_LISTED} more`);
  }
  return lines.join("\n") + "\n\n";
}

/**
 * Spec problems as GitHub workflow commands, when running in GitHub Actions (GITHUB_ACTIONS=true);
 * [] elsewhere. Print them on stdout: GitHub turns them into annotations at the file's line.
 */
export function githubAnnotations(
  env: NodeJS.ProcessEnv,
  diagnostics: readonly Diagnostic[],
  level: "error" | "warning" = "error",
): string[] {
  if (env.GITHUB_ACTIONS !== "true") return [];
  return diagnostics.map((diagnostic) => formatAnnotation(level, diagnostic));
}

/** The annotations for an error about to be printed: a SpecError's diagnostics, else none. */
export function githubAnnotationsForError(env: NodeJS.ProcessEnv, error: unknown): string[] {
  return error instanceof SpecError ? githubAnnotations(env, error.diagnostics) : [];
}

export function formatAnnotation(level: "error" | "warning" | "notice", diagnostic: Diagnostic): string {
  const properties = `file=${escapeProperty(diagnostic.file)},line=${diagnostic.line},col=${diagnostic.column}`;
  return `::${level} ${properties}::${escapeData(diagnostic.message)}`;
}

// The escaping of @actions/core's command.ts: data escapes %, CR, LF; properties also : and ,.
function escapeData(text: string): string {
  return text.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, "%3A").replace(/,/g, "%2C");
}
