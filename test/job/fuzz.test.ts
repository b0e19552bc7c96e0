// Mutated and truncated job files must never crash actbatch: each one is either valid, or rejected
// with exit 2 and at least one message located at file:line:column. Never a stack trace.
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planFromBytes, SpecError } from "../../src/job/index.js";
import { repoRoot, runCli } from "../helpers/cli.js";

const SNIPPETS = [
  ":",
  "- ",
  "{",
  "}",
  "[",
  "]",
  ",",
  "&a ",
  "*a",
  "!!js/function ",
  "!x ",
  "|",
  ">",
  "'",
  '"',
  "#",
  "\t",
  "\n",
  "---\n",
  "__proto__: 1\n",
  "constructor",
  "<<: *a",
  "~",
  "null",
  "1e999",
  "-1",
  "4294967296",
  "seed",
  "zip",
  "{from: 0, to: 4000000000}",
  "\u0000",
  "é",
  "{key}",
  "../",
  "? ",
  "%YAML 1.1\n",
];

type Mutation =
  | { kind: "truncate"; at: number }
  | { kind: "delete"; at: number; length: number }
  | { kind: "insert"; at: number; text: string }
  | { kind: "duplicate-line"; line: number }
  | { kind: "swap-lines"; a: number; b: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 12 }) }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), text: fc.constantFrom(...SNIPPETS) }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), text: fc.string({ maxLength: 4 }) }),
  fc.record({ kind: fc.constant("duplicate-line" as const), line: fc.nat() }),
  fc.record({ kind: fc.constant("swap-lines" as const), a: fc.nat(), b: fc.nat() }),
);

function mutate(text: string, mutations: readonly Mutation[]): string {
  let result = text;
  for (const m of mutations) {
    const at = (n: number) => (result.length === 0 ? 0 : n % (result.length + 1));
    const lines = result.split("\n");
    switch (m.kind) {
      case "truncate":
        result = result.slice(0, at(m.at));
        break;
      case "delete":
        result = result.slice(0, at(m.at)) + result.slice(at(m.at) + m.length);
        break;
      case "insert":
        result = result.slice(0, at(m.at)) + m.text + result.slice(at(m.at));
        break;
      case "duplicate-line": {
        const index = m.line % lines.length;
        lines.splice(index, 0, lines[index] ?? "");
        result = lines.join("\n");
        break;
      }
      case "swap-lines": {
        const a = m.a % lines.length;
        const b = m.b % lines.length;
        [lines[a], lines[b]] = [lines[b] ?? "", lines[a] ?? ""];
        result = lines.join("\n");
        break;
      }
    }
  }
  return result;
}

let seeds: { name: string; text: string }[] = [];
let workDir = "";

beforeAll(async () => {
  const dirs = [
    join(repoRoot, "jobs"),
    join(repoRoot, "test/fixtures/jobs/valid"),
    join(repoRoot, "test/fixtures/jobs/invalid"),
  ];
  for (const dir of dirs) {
    for (const name of (await readdir(dir)).filter((file) => file.endsWith(".yaml")).toSorted()) {
      seeds.push({ name, text: await readFile(join(dir, name), "utf8") });
    }
  }
  workDir = await mkdtemp(join(tmpdir(), "actbatch-fuzz-"));
});

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
  seeds = [];
});

const mutatedJob = () =>
  fc
    .record({ seed: fc.nat(), mutations: fc.array(mutation, { minLength: 1, maxLength: 4 }) })
    .map(({ seed, mutations }) => {
      const source = seeds[seed % seeds.length]!;
      return { from: source.name, text: mutate(source.text, mutations) };
    });

describe("fuzzed job files", () => {
  it("in process: either a plan or a SpecError whose every diagnostic is inside the file", () => {
    fc.assert(
      fc.property(mutatedJob(), ({ text }) => {
        const lineCount = text.split(/\r\n|\r|\n/).length;
        const outcome = planOrError(text);
        expect(outcome.kind).not.toBe("crash");
        const diagnostics = outcome.kind === "refused" ? outcome.error.diagnostics : [];
        const misplaced = diagnostics.filter(
          (d) =>
            d.file !== "fuzz.yaml" ||
            d.line < 1 ||
            d.line > lineCount + 1 ||
            d.column < 1 ||
            d.message === "",
        );
        expect(misplaced).toEqual([]);
        const message = outcome.kind === "refused" ? outcome.error.message : "fuzz.yaml:1:1: (planned)";
        expect(message).toMatch(/^fuzz\.yaml:\d+:\d+: /);
      }),
      { numRuns: 400 },
    );
  });

  it("through the CLI binary: exit 0 or 2, a located message for every invalid file, no stack trace", async () => {
    const jobs = fc.sample(mutatedJob(), { numRuns: 80, seed: 4242 });
    const files: string[] = [];
    for (const [index, job] of jobs.entries()) {
      const file = join(workDir, `m${index}-${job.from}`);
      await writeFile(file, job.text);
      files.push(file);
    }
    const result = await runCli(["validate", ...files]);
    expect(result.signal).toBeNull();
    expect(result.stderr).not.toContain("internal error");
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect([0, 2]).toContain(result.code);
    let invalid = 0;
    for (const file of files) {
      const valid = result.stdout.includes(`${file}: valid, job `);
      const located = result.stderr
        .split("\n")
        .some((line) => new RegExp(`^(actbatch: )?${escape(file)}:\\d+:\\d+: (?!warning: )`).test(line));
      expect(valid !== located, `${file}: valid=${valid} located=${located}`).toBe(true);
      if (located) invalid++;
    }
    expect(result.code).toBe(invalid > 0 ? 2 : 0);
    expect(invalid).toBeGreaterThan(0);
  });

  it("through plan --json: a mutated file is planned or refused with exit 2, never a crash", async () => {
    const jobs = fc.sample(mutatedJob(), { numRuns: 4, seed: 7 });
    for (const [index, job] of jobs.entries()) {
      const file = join(workDir, `plan${index}.yaml`);
      await writeFile(file, job.text);
      const result = await runCli(["plan", file, "--json"]);
      expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
      const planned =
        result.code === 0 && Array.isArray((JSON.parse(result.stdout) as { tasks?: unknown }).tasks);
      const refused =
        result.code === 2 && new RegExp(`^${escape(file)}:\\d+:\\d+: error: `).test(result.stderr);
      expect(planned || refused, `exit ${String(result.code)}: ${result.stderr}`).toBe(true);
    }
  });
});

type Outcome =
  { kind: "planned" } | { kind: "refused"; error: SpecError } | { kind: "crash"; error: unknown };

function planOrError(text: string): Outcome {
  try {
    planFromBytes("fuzz.yaml", new TextEncoder().encode(text));
    return { kind: "planned" };
  } catch (error) {
    return error instanceof SpecError ? { kind: "refused", error } : { kind: "crash", error };
  }
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
