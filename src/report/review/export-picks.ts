// `actbatch review OUT --export-picks`: the picked tasks as job-file text, pure. Pasted in place of
// a job's exclude: and include: lists it renders exactly the picks: one exclude per pair drops
// every combination of the sweep, and each include then adds one picked task back (an include that
// extends nothing adds a task, DESIGN.md section 2). Fields a pair fixes stay where they are written.
import type { ParamValue } from "../../job/types.js";
import type { Manifest } from "../../manifest/types.js";
import type { Review } from "./decisions.js";

export interface ExportedPicks {
  /** The YAML text; empty when nothing is picked. */
  text: string;
  picked: number;
  /** Picks whose keys have left the job: said in a comment, not listed. */
  orphaned: number;
}

export function exportPicks(manifest: Manifest, review: Review, command: string): ExportedPicks {
  const picked = manifest.tasks.filter((task) => review.decisions.get(task.key)?.decision === "pick");
  const current = new Set(manifest.tasks.map((task) => task.key));
  const orphaned = [...review.decisions].filter(
    ([key, entry]) => entry.decision === "pick" && !current.has(key),
  );
  if (picked.length === 0) return { text: "", picked: 0, orphaned: orphaned.length };
  const pairs = [...new Set(manifest.tasks.map((task) => task.pair))];
  const lines = [
    `# ${picked.length} picked task${picked.length === 1 ? "" : "s"} of job ${JSON.stringify(manifest.job)} (${command}).`,
    "# Paste in place of the job file's exclude: and include: lists: each exclude drops a pair's",
    "# sweep, each include adds one picked task back, so the job renders exactly these tasks.",
  ];
  for (const [key, entry] of orphaned)
    lines.push(`# not listed: pick ${key} (${entry.pair} ${formatParams(entry.params)}) has left the job`);
  lines.push("exclude:");
  for (const pair of pairs) lines.push(`  - { pair: ${JSON.stringify(pair)} }`);
  lines.push("include:");
  for (const task of picked) {
    const fields = [`pair: ${JSON.stringify(task.pair)}`];
    for (const [field, value] of Object.entries(task.params)) fields.push(`${field}: ${yamlScalar(value)}`);
    lines.push(`  - { ${fields.join(", ")} }`);
  }
  return { text: `${lines.join("\n")}\n`, picked: picked.length, orphaned: orphaned.length };
}

/** Strings are double-quoted (a ratio such as "1280:720", or "1e3", must stay a string). */
function yamlScalar(value: ParamValue): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

function formatParams(params: Record<string, ParamValue>): string {
  return Object.entries(params)
    .map(([field, value]) => `${field}=${String(value)}`)
    .join(" ");
}
