import { ExitCode, UserError } from "../errors.js";
import type { Diagnostic, SourceLocation } from "./types.js";

/** `file:line:col: message`, the form editors and terminals turn into links. */
export function formatDiagnostic(diagnostic: Diagnostic): string {
  return `${diagnostic.file}:${diagnostic.line}:${diagnostic.column}: ${diagnostic.message}`;
}

export function diagnosticAt(location: SourceLocation, message: string): Diagnostic {
  return { file: location.file, line: location.line, column: location.column, message };
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
    super(diagnostics.map(formatDiagnostic).join("\n"), ExitCode.usage, hint);
    this.diagnostics = diagnostics;
  }
}
