// What editors' and CI's problem matchers read: every diagnostic on a line of its own, the first
// included, as FILE:LINE:COL: error: MESSAGE (or warning:), and validate --json as objects.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";

// GCC's form, which VS Code's $gcc matcher and GitHub's problem matchers take.
const MATCHER = /^(?<file>[^:\n]+):(?<line>\d+):(?<column>\d+): (?<severity>error|warning): (?<message>.+)$/;

let dir = "";
const TYPO = `version: 1
name: typo
pairs:
  - id: a
    character: { type: image, uri: "https://assets.example.com/a.png" }
    refrence: { type: video, uri: "https://assets.example.com/a.mp4" }
`;
const WARNS = `version: 1
name: warns
assets:
  unused: { type: image, uri: "https://assets.example.com/u.png" }
pairs:
  - id: a
    character: { type: image, uri: "https://assets.example.com/a.png" }
    reference: { type: video, uri: "https://assets.example.com/a.mp4" }
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "actbatch-diagnostics-"));
  await writeFile(join(dir, "typo.yaml"), TYPO);
  await writeFile(join(dir, "warns.yaml"), WARNS);
  await writeFile(join(dir, "two.yaml"), TYPO.replace("name: typo", "name: Two\nconcurrency: 0"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("diagnostics for editors and CI", () => {
  it("a misspelt required key is one diagnostic, with its suggestion", async () => {
    const result = await runCli(["validate", "typo.yaml"], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('typo.yaml:6:5: error: unknown key "refrence": did you mean "reference"?\n');
  });

  it("every line of a failing validate, plan and run is a matcher's line, the first one included", async () => {
    for (const command of ["validate", "plan", "run"]) {
      const result = await runCli([command, "two.yaml"], { cwd: dir });
      expect({ command, code: result.code }).toEqual({ command, code: 2 });
      const lines = result.stderr.trimEnd().split("\n");
      expect(lines.map((line) => MATCHER.test(line))).toEqual([true, true, true]);
      expect(lines[0]).toMatch(/^two\.yaml:2:7: error: expected a name of lowercase letters/);
    }
  });

  it("warnings take the same form, with warning:", async () => {
    const result = await runCli(["validate", "warns.yaml"], { cwd: dir });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('warns.yaml:4:3: warning: asset "unused" is not used by any pair\n');
  });

  it("validate --json prints every diagnostic as an object, and nothing on stderr", async () => {
    const result = await runCli(["validate", "--json", "typo.yaml", "warns.yaml", "nope.yaml"], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.stdout)).toEqual({
      valid: false,
      files: [
        { file: "typo.yaml", valid: false },
        { file: "warns.yaml", valid: true, job: "warns", tasks: 1 },
        { file: "nope.yaml", valid: false },
      ],
      diagnostics: [
        {
          file: "typo.yaml",
          line: 6,
          column: 5,
          severity: "error",
          message: 'unknown key "refrence": did you mean "reference"?',
        },
        {
          file: "warns.yaml",
          line: 4,
          column: 3,
          severity: "warning",
          message: 'asset "unused" is not used by any pair',
        },
        {
          file: "nope.yaml",
          line: null,
          column: null,
          severity: "error",
          message: "cannot read job file nope.yaml: no such file",
        },
      ],
    });
  });

  it("in GitHub Actions, validate also prints each problem as an annotation on stdout", async () => {
    const result = await runCli(["validate", "typo.yaml"], { cwd: dir, env: { GITHUB_ACTIONS: "true" } });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe(
      '::error file=typo.yaml,line=6,col=5::unknown key "refrence": did you mean "reference"?\n',
    );
  });
});
