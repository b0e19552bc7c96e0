// Values from the environment in string values of job files and catalogues: `${NAME}`,
// `${NAME:-default}` (the default when NAME is unset or empty, as in sh) and `$${` for a literal
// `${`. The expanded text is what the request body carries, so a task's key follows it. The API
// keys are never expanded: a job file (perhaps someone else's) could otherwise send the key to any
// asset host in a URL, and it would be written to the journal and the manifest.
import { PROVIDERS } from "../api/connection.js";
import { diagnosticAt } from "./diagnostics.js";
import { pointerSegment } from "./read-yaml.js";
import type { Locator } from "./locator.js";
import type { Diagnostic, EnvironmentUse, SourceLocation } from "./types.js";

export type { EnvironmentUse } from "./types.js";

const SECRET_VARIABLES: ReadonlySet<string> = new Set(Object.values(PROVIDERS).map((p) => p.keyVariable));
const REFERENCE = /^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}$/;

export type Environment = Readonly<Record<string, string | undefined>>;

interface Expansion {
  text: string;
  uses: { name: string; value: string; from: EnvironmentUse["from"] }[];
  /** `fragment` is the faulty reference, as written. */
  problems: { fragment: string; message: string }[];
}

/** Expands the references of one string. Pure. */
export function expandEnvironment(text: string, env: Environment): Expansion {
  const result: Expansion = { text: "", uses: [], problems: [] };
  if (!text.includes("$")) return { ...result, text };
  let i = 0;
  while (i < text.length) {
    if (text.startsWith("$${", i)) {
      result.text += "${";
      i += 3;
      continue;
    }
    if (!text.startsWith("${", i)) {
      result.text += text[i++];
      continue;
    }
    const close = text.indexOf("}", i);
    if (close < 0) {
      result.problems.push({
        fragment: "${",
        message: '"${" is not closed by "}" (write $${ for a literal ${)',
      });
      return result;
    }
    const reference = text.slice(i, close + 1);
    const match = REFERENCE.exec(reference);
    const name = match?.[1];
    if (match === null || name === undefined) {
      result.problems.push({
        fragment: reference,
        message: `"${reference}" is not a variable reference: write \${NAME} or \${NAME:-default} (NAME of letters, digits and _, not starting with a digit), or $\${ for a literal \${`,
      });
    } else if (SECRET_VARIABLES.has(name)) {
      result.problems.push({
        fragment: reference,
        message: `\${${name}} is the API key: it is never written into a job file (it would travel in request bodies and be written to the journal and the manifest)`,
      });
    } else {
      const set = env[name];
      const fallback = match[2];
      if (set !== undefined && (set !== "" || fallback === undefined)) {
        result.text += set;
        result.uses.push({ name, value: set, from: "environment" });
      } else if (fallback !== undefined) {
        result.text += fallback;
        result.uses.push({ name, value: fallback, from: "default" });
      } else {
        result.problems.push({
          fragment: reference,
          message: `\${${name}}: ${name} is not set in the environment; set it, or write \${${name}:-value} for a default`,
        });
      }
    }
    i = close + 1;
  }
  return result;
}

/** What expanding every string of a file's data found. */
export interface FileExpansion {
  diagnostics: Diagnostic[];
  uses: EnvironmentUse[];
  /** Where a string could not be expanded (left as written): its other problems are this one. */
  failed: SourceLocation[];
}

/**
 * Expands, in place, every string value (not key) of `value`, a file's plain data. Problems are
 * located at the faulty `${` where the line's text shows it (`lineText`), else at the string.
 */
export function expandEnvironmentIn(
  value: unknown,
  locator: Locator,
  env: Environment,
  lineText?: (line: number) => string | undefined,
): FileExpansion {
  const found: FileExpansion = { diagnostics: [], uses: [], failed: [] };
  const visit = (node: unknown, pointer: string, set: (text: string) => void): void => {
    if (typeof node === "string") {
      if (!node.includes("$")) return;
      const expansion = expandEnvironment(node, env);
      if (expansion.problems.length === 0 && expansion.uses.length === 0 && expansion.text === node) return;
      const at = locator.locate(pointer);
      for (const problem of expansion.problems)
        found.diagnostics.push(diagnosticAt(columnOf(at, problem.fragment, lineText), problem.message));
      for (const use of expansion.uses) recordUse(found.uses, use, at);
      if (expansion.problems.length > 0) found.failed.push(at);
      else set(expansion.text);
    } else if (Array.isArray(node)) {
      node.forEach((item, index) => visit(item, `${pointer}/${index}`, (text) => (node[index] = text)));
    } else if (typeof node === "object" && node !== null) {
      const record = node as Record<string, unknown>;
      for (const key of Object.keys(record))
        visit(record[key], `${pointer}/${pointerSegment(key)}`, (text) => (record[key] = text));
    }
  };
  visit(value, "", () => undefined);
  return found;
}

/** Adds a use to a list of uses, one entry per variable and value. */
export function recordUse(
  uses: EnvironmentUse[],
  use: { name: string; value: string; from: EnvironmentUse["from"] },
  at: SourceLocation,
): void {
  const entry = uses.find((u) => u.name === use.name && u.value === use.value && u.from === use.from);
  if (entry === undefined) uses.push({ ...use, sources: [at] });
  else if (!entry.sources.some((s) => s.file === at.file && s.line === at.line && s.column === at.column))
    entry.sources.push(at);
}

/** The `${` itself when it is on the string's first line, else the string's start. */
function columnOf(
  at: SourceLocation,
  fragment: string,
  lineText: ((line: number) => string | undefined) | undefined,
): SourceLocation {
  const index = lineText?.(at.line)?.indexOf(fragment, at.column - 1) ?? -1;
  return index < 0 ? at : { ...at, column: index + 1 };
}
