import { diagnosticAt } from "./diagnostics.js";
import {
  NAME_PLACEHOLDERS,
  parseTemplate,
  renderTemplate,
  segmentProblem,
  templateSegments,
  wholePathProblem,
  type TemplatePart,
  type TemplateValues,
} from "./output-template.js";
import type { Diagnostic, OutputTemplate, RequestBody, TaskPlan } from "./types.js";

/** A template that collides usually collides thousands of times; a few examples say it all. */
const MAX_REPORTED = 5;

/**
 * Gives every task its output path from the template, and checks that each is safe and that no
 * two tasks share one (compared without case, as macOS and Windows file systems do).
 */
export function assignOutputNames(tasks: TaskPlan[], job: string, template: OutputTemplate): Diagnostic[] {
  const parsed = parseTemplate(template.template, NAME_PLACEHOLDERS);
  if ("problem" in parsed) return [diagnosticAt(template.source, `output.name: ${parsed.problem}`)];

  const diagnostics: Diagnostic[] = [];
  const unsafe = new Map<string, string>();
  let collisions = 0;
  const owners = new Map<string, TaskPlan>();
  const segments = templateSegments(parsed.parts).map((parts) => ({ parts, check: segmentChecker(parts) }));
  // Placeholder values are lowercase ASCII; only literal text can need case and Unicode folding.
  const literals = parsed.parts.map((part) => ("literal" in part ? part.literal : "")).join("");
  const fold = /[^ -~]|[A-Z]/.test(literals);
  for (const task of tasks) {
    const values: TemplateValues = {
      job,
      pair: task.pair,
      key: task.key,
      index: task.index,
      request: task.request,
    };
    let name = "";
    let problem: string | undefined;
    for (let index = 0; index < segments.length; index++) {
      const segment = segments[index]!;
      const text = renderTemplate(segment.parts, values);
      problem ??= segment.check(text);
      name = index === 0 ? text : `${name}/${text}`;
    }
    task.output = name;
    // Absolute or backslashed names come from the template's literal text: every task has them.
    const whole = wholePathProblem(name);
    if (whole !== undefined) {
      return [diagnosticAt(template.source, `output.name gives "${name}", which is unsafe: ${whole}`)];
    }
    if (problem !== undefined) {
      if (!unsafe.has(problem)) unsafe.set(problem, name);
      continue;
    }
    const folded = fold ? name.normalize("NFC").toLowerCase() : name;
    const owner = owners.get(folded);
    if (owner === undefined) {
      owners.set(folded, task);
      continue;
    }
    if (++collisions <= MAX_REPORTED)
      diagnostics.push(diagnosticAt(template.source, describeCollision(name, owner, task)));
  }
  for (const [problem, name] of unsafe) {
    diagnostics.push(
      diagnosticAt(template.source, `output.name gives "${name}", which is unsafe: ${problem}`),
    );
  }
  if (collisions > MAX_REPORTED) {
    diagnostics.push(
      diagnosticAt(
        template.source,
        `... and ${collisions - MAX_REPORTED} more tasks whose output name another task already has`,
      ),
    );
  }
  return diagnostics;
}

/** Placeholders that take a different value for (almost) every task: not worth remembering. */
const UNIQUE_PLACEHOLDERS = new Set(["key", "index", "seed"]);

/**
 * The check of one segment of the template. Folder names repeat across tasks (the pair's, a
 * parameter's), so their verdicts are remembered; a segment with a per-task value is checked as is.
 */
function segmentChecker(parts: readonly TemplatePart[]): (segment: string) => string | undefined {
  if (parts.some((part) => "placeholder" in part && UNIQUE_PLACEHOLDERS.has(part.placeholder)))
    return segmentProblem;
  const verdicts = new Map<string, string | undefined>();
  return (segment) => {
    if (verdicts.has(segment)) return verdicts.get(segment);
    const verdict = segmentProblem(segment);
    verdicts.set(segment, verdict);
    return verdict;
  };
}

function describeCollision(name: string, first: TaskPlan, second: TaskPlan): string {
  const differing = differingPlaceholders(first, second);
  const suggestion =
    differing.length > 0 ? differing.map((placeholder) => `{${placeholder}}`).join(" or ") : "{key}";
  return (
    `output.name gives the same file "${name}" to task ${first.index} (${describeTask(first)}) and task ${second.index} (${describeTask(second)}); ` +
    `add a placeholder that tells them apart, such as ${suggestion}`
  );
}

function describeTask(task: TaskPlan): string {
  const params = Object.entries(task.params).map(([field, value]) => `${field} ${String(value)}`);
  return [`pair ${task.pair}`, ...params, `key ${task.key}`].join(", ");
}

const REQUEST_PLACEHOLDERS = [
  "ratio",
  "bodyControl",
  "expressionIntensity",
  "seed",
] as const satisfies readonly (keyof RequestBody)[];

function differingPlaceholders(a: TaskPlan, b: TaskPlan): string[] {
  const differing: string[] = [];
  if (a.pair !== b.pair) differing.push("pair");
  for (const field of REQUEST_PLACEHOLDERS) if (a.request[field] !== b.request[field]) differing.push(field);
  if (
    a.request.contentModeration.publicFigureThreshold !== b.request.contentModeration.publicFigureThreshold
  ) {
    differing.push("publicFigureThreshold");
  }
  return differing;
}
