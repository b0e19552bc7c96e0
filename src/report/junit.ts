// `--junit FILE`: one testcase per task, readable by GitHub Actions, GitLab and Jenkins. Failed
// tasks are failures carrying the provider's code and message; tasks a run never finished are
// skipped (the exit code already says the run is incomplete); a create held as ambiguous is an error.
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { writeFileAtomic } from "../fs/atomic-write.js";
import type { Manifest, ManifestTask } from "../manifest/types.js";

export interface JunitOptions {
  /** Planned output file by task key: names unfinished tasks by the file they will produce. */
  outputs?: ReadonlyMap<string, string>;
}

/** Writes one JUnit file for one job, or for several (one testsuite per job and pair). */
export async function writeJunitReport(
  file: string,
  manifests: Manifest | readonly Manifest[],
  options: JunitOptions = {},
): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFileAtomic(file, formatJunitReport(manifests, options));
}

export function formatJunitReport(
  manifests: Manifest | readonly Manifest[],
  options: JunitOptions = {},
): string {
  const jobs: readonly Manifest[] = Array.isArray(manifests) ? manifests : [manifests as Manifest];
  const all = jobs.flatMap((manifest) => manifest.tasks);
  const totals = countOutcomes(all);
  const name = `actbatch ${jobs.map((manifest) => manifest.job).join(", ")}`;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xml(name)}" tests="${totals.tests}" failures="${totals.failures}" errors="${totals.errors}" skipped="${totals.skipped}">`,
  ];
  for (const manifest of jobs) {
    const byPair = new Map<string, ManifestTask[]>();
    for (const task of manifest.tasks) {
      let list = byPair.get(task.pair);
      if (!list) byPair.set(task.pair, (list = []));
      list.push(task);
    }
    for (const [pair, tasks] of byPair) {
      const counts = countOutcomes(tasks);
      const suite = `${manifest.job}/${pair}`;
      lines.push(
        `  <testsuite name="${xml(suite)}" tests="${counts.tests}" failures="${counts.failures}" errors="${counts.errors}" skipped="${counts.skipped}">`,
      );
      for (const task of tasks) lines.push(...testcase(suite, task, options));
      lines.push("  </testsuite>");
    }
  }
  lines.push("</testsuites>", "");
  return lines.join("\n");
}

type Outcome = "passed" | "failure" | "error" | "skipped";

function outcomeOf(task: ManifestTask): Outcome {
  if (task.status === "SUCCEEDED") return "passed";
  if (task.status === "FAILED") return "failure";
  if (task.status === "AMBIGUOUS") return "error";
  return "skipped";
}

function countOutcomes(tasks: readonly ManifestTask[]): {
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
} {
  const counts = { tests: tasks.length, failures: 0, errors: 0, skipped: 0 };
  for (const task of tasks) {
    const outcome = outcomeOf(task);
    if (outcome === "failure") counts.failures += 1;
    else if (outcome === "error") counts.errors += 1;
    else if (outcome === "skipped") counts.skipped += 1;
  }
  return counts;
}

function testcase(suite: string, task: ManifestTask, options: JunitOptions): string[] {
  const name = task.outputs[0]?.file ?? options.outputs?.get(task.key) ?? task.key;
  const open = `    <testcase classname="${xml(suite)}" name="${xml(name)}">`;
  const body: string[] = [];
  const outcome = outcomeOf(task);
  const code = task.error?.code ?? task.status;
  const message = task.error ? `${task.error.code}: ${task.error.message}` : task.status;
  if (outcome === "failure")
    body.push(`      <failure type="${xml(code)}" message="${xml(message)}">${xml(message)}</failure>`);
  else if (outcome === "error")
    body.push(`      <error type="${xml(code)}" message="${xml(message)}">${xml(message)}</error>`);
  else if (outcome === "skipped") body.push(`      <skipped message="${xml(`not finished: ${message}`)}"/>`);
  const params = Object.entries(task.params)
    .map(([field, value]) => `${field}=${String(value)}`)
    .join(" ");
  const out = [
    `key ${task.key}`,
    `task ${task.taskId ?? "none"}`,
    `status ${task.status}`,
    `attempts ${task.attempts}`,
    ...(params ? [`params ${params}`] : []),
    ...(task.possiblyChargedTwice ? ["possibly charged twice"] : []),
  ];
  body.push(`      <system-out>${xml(out.join("\n"))}</system-out>`);
  return [open, ...body, "    </testcase>"];
}

/**
 * Text for XML content or a quoted attribute. Characters XML 1.0 cannot hold at all (most C0
 * controls, lone surrogates) become U+FFFD: a provider message must not make the file unreadable.
 */
export function xml(text: string): string {
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, "\uFFFD")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;")
    .replace(/\n/g, "&#10;")
    .replace(/\r/g, "&#13;")
    .replace(/\t/g, "&#9;");
}
