import { ExitCode, UserError } from "../errors.js";
import type { Diagnostic, SourceLocation } from "./types.js";

// C0 and C1 controls, DEL, line/paragraph separators and the bidirectional overrides: text a job
// file can hide in a name, which a terminal or CI log would obey (colours, cursor moves, a faked
// log line, reordered text) if it were echoed raw.
// oxlint-disable-next-line no-control-regex
const UNSAFE_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** User text made safe to print: each control character shown as its `\uXXXX` escape. */
export function escapeControlCharacters(text: string): string {
  return text.replace(
    UNSAFE_CHARACTERS,
    (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

export type Severity = "error" | "warning";

/**
 * `file:line:col: error: message` (or `warning:`): one line, the form editors, terminals and CI
 * problem matchers (GCC's) turn into links and annotations.
 */
export function formatDiagnostic(diagnostic: Diagnostic, severity: Severity = "error"): string {
  return escapeControlCharacters(
    `${diagnostic.file}:${diagnostic.line}:${diagnostic.column}: ${severity}: ${diagnostic.message}`,
  );
}

/** A diagnostic as `validate --json` prints it. */
export function diagnosticJson(
  diagnostic: Diagnostic,
  severity: Severity = "error",
): { file: string; line: number; column: number; severity: Severity; message: string } {
  const { file, line, column, message } = diagnostic;
  return { file: escapeControlCharacters(file), line, column, severity, message };
}

/** Drops repeats of the same message at the same place (a matrix entry's mistake, made once per pair it makes). */
export function uniqueDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diagnostics.filter((diagnostic) => {
    const id = `${diagnostic.file}\u0000${diagnostic.line}:${diagnostic.column}\u0000${diagnostic.message}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/** Escapes the message here too, so that every way of printing a diagnostic (warnings, --json) is safe. */
export function diagnosticAt(location: SourceLocation, message: string): Diagnostic {
  return {
    file: location.file,
    line: location.line,
    column: location.column,
    message: escapeControlCharacters(message),
  };
}

/** Orders diagnostics by file position so a report reads top to bottom. Stable for equal positions. */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return diagnostics.toSorted(
    (a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column,
  );
}

/**
 * Everything wrong with one or more job files. The message lists every diagnostic, one per line,
 * so printing the message alone is a complete report.
 */
export class SpecError extends UserError {
  readonly diagnostics: readonly Diagnostic[];

  constructor(diagnostics: readonly Diagnostic[], hint?: string) {
    const unique = uniqueDiagnostics(diagnostics);
    super(unique.map((diagnostic) => formatDiagnostic(diagnostic)).join("\n"), ExitCode.usage, hint);
    this.diagnostics = unique;
  }
}
