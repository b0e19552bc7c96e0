// What a plan was made from besides the job file, for `actbatch plan`: the bases and catalogues it
// read, and the environment variables its values used (each with the value it took).
import type { PlanReport, SourceLocation } from "../job/types.js";
import { escapeControlCharacters } from "../job/diagnostics.js";

const MAX_PLACES = 3;

export function* planInputLines(report: PlanReport): Generator<string> {
  if (report.inputs !== undefined && report.inputs.length > 0)
    yield escapeControlCharacters(`read with it: ${report.inputs.join(", ")}`);
  const uses = report.environment ?? [];
  if (uses.length === 0) return;
  yield "environment:";
  const width = Math.max(...uses.map((use) => use.name.length));
  for (const use of uses) {
    const from = use.from === "default" ? " (the default: not set)" : "";
    yield escapeControlCharacters(
      `  ${use.name.padEnd(width)}  ${JSON.stringify(use.value)}${from}, at ${places(use.sources)}`,
    );
  }
}

function places(sources: readonly SourceLocation[]): string {
  const shown = sources.slice(0, MAX_PLACES).map((at) => `${at.file}:${at.line}`);
  const more = sources.length - shown.length;
  return more > 0 ? `${shown.join(", ")} and ${more} more` : shown.join(", ");
}
