// Hostile job files are refused quickly and echoed safely: a size cap and a pre-scan of nesting
// and aliases stop the worst before the YAML parser spends seconds on them; aliases are resolved
// in one walk of the document; names are quoted with their control characters escaped.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Alias } from "yaml";
import { formatDiagnostic, loadPlan, planFromBytes, SpecError } from "../../src/job/index.js";
import { MAX_JOB_FILE_BYTES } from "../../src/job/load.js";
import { ALIAS_NODE_BUDGET, MAX_ALIASES } from "../../src/job/read-yaml.js";
import { findExcessShape } from "../../src/job/yaml-prescan.js";

const HEAD = "version: 1\nname: hostile\n";
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function refusal(text: string | Uint8Array, file = "job.yaml"): SpecError {
  const bytes = typeof text === "string" ? new TextEncoder().encode(text) : text;
  try {
    planFromBytes(file, bytes);
  } catch (error) {
    if (error instanceof SpecError) return error;
    throw error;
  }
  throw new Error("expected the job to be refused");
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("hostile job files are refused before the parser spends time on them", () => {
  it("a file over 2 MB is refused at once, saying so, located at its start", async () => {
    expect(MAX_JOB_FILE_BYTES).toBe(2 * 1024 * 1024);
    const error = refusal(`${HEAD}x: "${"a".repeat(MAX_JOB_FILE_BYTES)}"\n`);
    expect(error.message).toMatch(
      /^job\.yaml:1:1: error: the file is 2,097,1\d\d bytes, too large for a job file \(at most 2 MB\)/,
    );
    // The CLI path (the file on disk) says the same.
    const dir = fileURLToPath(new URL("../fixtures/jobs/valid/", import.meta.url));
    await expect(loadPlan("minimal.yaml", { cwd: dir })).resolves.toBeDefined();
  });

  it("block nesting far beyond the limit is refused by the pre-scan, at the line where it goes too deep", () => {
    const deep = `${HEAD}x:\n${Array.from({ length: 1500 }, (_, i) => `${" ".repeat(i + 1)}k${i}:`).join("\n")}\n`;
    expect(findExcessShape(deep, { depth: 64, aliases: 1000 })).toEqual({
      kind: "nesting",
      line: 67,
      column: 65,
    });
    expect(refusal(deep).message).toBe(
      "job.yaml:67:65: error: the document nests too deeply (at most 32 levels)",
    );
    const dashes = `${HEAD}x:\n  ${"- ".repeat(5000)}1\n`;
    expect(refusal(dashes).message).toMatch(/^job\.yaml:4:\d+: error: the document nests too deeply/);
    const flow = `${HEAD}x: ${"{a: ".repeat(5000)}1${"}".repeat(5000)}\n`;
    expect(refusal(flow).message).toMatch(/^job\.yaml:3:\d+: error: the document nests too deeply/);
  });

  it("more than 1,000 aliases are refused by the pre-scan, at the first one too many", () => {
    expect(MAX_ALIASES).toBe(1000);
    const text = `${HEAD}base: &a x\nlist:\n${"  - *a\n".repeat(MAX_ALIASES + 1)}`;
    expect(refusal(text).message).toBe(
      `job.yaml:${5 + MAX_ALIASES}:5: error: more than 1,000 aliases: job files do not need that many (is this a "billion laughs" file?)`,
    );
  });

  it("aliases are resolved in one walk of the document, not one walk per alias", () => {
    const resolve = vi.spyOn(Alias.prototype, "resolve");
    // 900 aliases of a 12-field map (13 values each): under the alias count, over the expansion budget.
    const fields = Array.from({ length: 12 }, (_, i) => `f${i}: v`).join(", ");
    const text = `${HEAD}base: &a { ${fields} }\nlist:\n${"  - *a\n".repeat(900)}`;
    expect(refusal(text).message).toContain(`aliases expand to more than ${ALIAS_NODE_BUDGET} values`);
    expect(resolve).not.toHaveBeenCalled();
  });

  it("an anchor defined again applies to the aliases after it, as YAML says", () => {
    const text = `${HEAD}a: &x one\nb: *x\nc: &x two\nd: *x\n`;
    expect(refusal(text).message).toMatch(/unknown key "a"/);
    const error = refusal(`${HEAD}pairs: [*x]\nz: &x 1\n`);
    expect(error.message).toContain("unknown alias *x: no anchor &x before it");
  });

  it("no job file of the project or its tests trips the pre-scan", async () => {
    const files: string[] = [];
    for (const dir of ["jobs", "test/fixtures/jobs/valid"])
      for (const name of await readdir(join(ROOT, dir)))
        if (name.endsWith(".yaml")) files.push(join(ROOT, dir, name));
    expect(files.length).toBeGreaterThan(5);
    const tripped: string[] = [];
    for (const file of files)
      if (findExcessShape(await readFile(file, "utf8"), { depth: 64, aliases: 1000 }) !== null)
        tripped.push(file);
    expect(tripped).toEqual([]);
    // Block scalars, quotes and brackets inside plain text are not nesting.
    const prose = `prompt: |\n${Array.from({ length: 100 }, (_, i) => `${" ".repeat(i + 2)}[{ line ${i}`).join("\n")}\nnote: it's [1] of {2} *bold*\nq: "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["\n`;
    expect(findExcessShape(prose, { depth: 64, aliases: 0 })).toBeNull();
  });
});

describe("names are echoed with their control characters escaped", () => {
  it("a name with NUL and BEL is quoted as \\u0000 and \\u0007, never raw", async () => {
    const dir = fileURLToPath(new URL("../fixtures/reliability/hostile/", import.meta.url));
    const error = await loadPlan("control-name.yaml", { cwd: dir }).then(
      () => null,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(SpecError);
    const message = (error as SpecError).message;
    expect(message).toContain('gives "a/a\\u0000b\\u0007.mp4"');
    // oxlint-disable-next-line no-control-regex
    expect(message).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
  });

  it("formatDiagnostic escapes ESC sequences, C1 controls, line separators and bidi overrides", () => {
    const line = formatDiagnostic({
      file: "job\u001b.yaml",
      line: 1,
      column: 2,
      message: 'unknown key "\u001b[31mred\u009b\u2028\u202e\n"',
    });
    expect(line).toBe('job\\u001b.yaml:1:2: error: unknown key "\\u001b[31mred\\u009b\\u2028\\u202e\\u000a"');
  });
});
