// Job-file problems as problem matchers read them: every diagnostic on a line of its own,
// `FILE:LINE:COL: error: MESSAGE`, the first one included (main.ts would put "actbatch: " before
// it, and an editor's or CI's matcher would then miss it). The commands that load job files print
// a SpecError through here; every other error still goes through main.ts.
import { escapeControlCharacters, formatDiagnostic, SpecError } from "../job/diagnostics.js";
import { writeLine, type CliIo } from "./io.js";

/** Prints the error's diagnostics (and, in GitHub Actions, their annotations); returns its exit code. */
export async function printSpecError(error: SpecError, io: CliIo): Promise<number> {
  if (io.env.GITHUB_ACTIONS === "true") {
    const { githubAnnotations } = await import("../report/github.js");
    for (const line of githubAnnotations(io.env, error.diagnostics)) writeLine(io.stdout, line);
  }
  for (const diagnostic of error.diagnostics) writeLine(io.stderr, formatDiagnostic(diagnostic));
  if (error.hint) {
    const lines = error.hint.split("\n").map(escapeControlCharacters);
    writeLine(io.stderr, `hint: ${lines.join("\n")}`);
  }
  return error.exitCode;
}

/** Runs a command, printing a SpecError it throws as diagnostics; any other error is main.ts's. */
export async function reportingSpecErrors(io: CliIo, command: () => Promise<number>): Promise<number> {
  try {
    return await command();
  } catch (error) {
    if (error instanceof SpecError) return await printSpecError(error, io);
    throw error;
  }
}
