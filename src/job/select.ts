// Running a subset: `--only FIELD=PATTERN` (repeatable, every one must match). FIELD is pair, key
// or a swept request field; PATTERN is a value, a `*` wildcard, a list `a|b`, an integer range
// `1..4`, or a list of those. A pattern that selects no task is a mistake, said with the values
// that exist. Pure: the plan in, the selected tasks out.
import { closestMatch } from "./suggest.js";
import type { ParamValue, TaskPlan } from "./types.js";

export const ONLY_FIELDS = ["pair", "key", "ratio", "bodyControl", "expressionIntensity", "seed"] as const;
export type OnlyField = (typeof ONLY_FIELDS)[number];

export interface TaskFilter {
  /** As written on the command line. */
  written: string;
  field: OnlyField;
  matches(value: ParamValue): boolean;
}

const INTEGER_FIELDS: ReadonlySet<OnlyField> = new Set(["expressionIntensity", "seed"]);

/** Parses one `--only FIELD=PATTERN`; a string says what is wrong with it. */
export function parseOnly(written: string): TaskFilter | string {
  const equals = written.indexOf("=");
  const name = equals < 0 ? written : written.slice(0, equals);
  const pattern = equals < 0 ? "" : written.slice(equals + 1);
  if (!(ONLY_FIELDS as readonly string[]).includes(name)) {
    const suggestion = closestMatch(name, ONLY_FIELDS);
    return `--only ${written}: unknown field "${name}"${suggestion ? `; did you mean "${suggestion}"?` : ""} (fields: ${ONLY_FIELDS.join(", ")})`;
  }
  const field = name as OnlyField;
  if (pattern === "")
    return `--only ${written}: expected FIELD=PATTERN, such as ${field}=${INTEGER_FIELDS.has(field) ? "1..4" : "a|b"}`;
  const alternatives: ((value: string) => boolean)[] = [];
  for (const alternative of pattern.split("|")) {
    const matcher = alternativeMatcher(field, alternative);
    if (typeof matcher === "string") return `--only ${written}: ${matcher}`;
    alternatives.push(matcher);
  }
  return {
    written,
    field,
    matches: (value) => {
      const text = String(value);
      return alternatives.some((matches) => matches(text));
    },
  };
}

function alternativeMatcher(field: OnlyField, alternative: string): ((value: string) => boolean) | string {
  if (alternative === "") return "an empty alternative (two | in a row?)";
  if (alternative.includes("*")) {
    const pattern = new RegExp(`^${alternative.split("*").map(escapeRegExp).join(".*")}$`);
    return (value) => pattern.test(value);
  }
  const range = /^(\d+)\.\.(\d+)$/.exec(alternative);
  if (range !== null && INTEGER_FIELDS.has(field)) {
    const [from, to] = [Number(range[1]), Number(range[2])];
    if (from > to) return `the range ${alternative} ends before it starts`;
    return (value) => Number(value) >= from && Number(value) <= to;
  }
  if (INTEGER_FIELDS.has(field) && !/^\d+$/.test(alternative))
    return `"${alternative}" is not an integer, a range such as 1..4, or a pattern with *`;
  if (field === "bodyControl" && alternative !== "true" && alternative !== "false")
    return `"${alternative}" is not true or false`;
  // A ratio as it appears in file names (1280x720) is the same ratio.
  const wanted = field === "ratio" ? alternative.replace("x", ":") : alternative;
  return (value) => value === wanted;
}

/** The value of a field for a task. */
export function fieldValue(task: TaskPlan, field: OnlyField): ParamValue {
  switch (field) {
    case "pair":
      return task.pair;
    case "key":
      return task.key;
    default:
      return task.request[field];
  }
}

/**
 * The tasks every filter matches, in plan order; a string when a filter matches no task (with the
 * values the field takes), or when each matches some but none matches them all.
 */
export function selectTasks(tasks: readonly TaskPlan[], filters: readonly TaskFilter[]): TaskPlan[] | string {
  for (const filter of filters) {
    if (tasks.some((task) => filter.matches(fieldValue(task, filter.field)))) continue;
    const values = [...new Set(tasks.map((task) => String(fieldValue(task, filter.field))))];
    return `--only ${filter.written} selects no task; values of ${filter.field} in this job: ${summarise(values)}`;
  }
  const selected = tasks.filter((task) =>
    filters.every((filter) => filter.matches(fieldValue(task, filter.field))),
  );
  if (selected.length === 0)
    return `${filters.map((filter) => `--only ${filter.written}`).join(" ")}: each selects tasks, but no task matches them all`;
  return selected;
}

function summarise(values: readonly string[]): string {
  return values.length <= 12
    ? values.join(", ")
    : `${values.slice(0, 10).join(", ")}, ... (${values.length} in all)`;
}

function escapeRegExp(text: string): string {
  return text.replaceAll(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
