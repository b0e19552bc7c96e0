// Property 13 and the YAML half of 14: hostile job files given to `actbatch run` against a live
// simulator. Each one must exit 2 with a message located at file:line:column, without a stack trace,
// without a single API request and without writing anything; no key may reach an object prototype.
// Then a fuzz loop in process: random bytes and YAML-shaped text, where only located spec errors may
// come out.
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planFromBytes, SpecError } from "../../src/job/index.js";
import { count, figures, FULL, seedFor } from "./harness/mode.js";
import { createScenario, jobYaml, listTree, type Scenario } from "./harness/workspace.js";

const FIXTURES = fileURLToPath(new URL("../fixtures/reliability/hostile/", import.meta.url));

/** What each fixture's message must say (the right refusal, not an incidental one). */
const EXPECTED: Record<string, RegExp> = {
  "absolute-name.yaml": /absolute path/,
  "billion-laughs.yaml": /aliases expand to more than/,
  "collision.yaml": /same file/,
  "control-name.yaml": /control character/,
  "custom-tags.yaml": /custom tag !!js\/function is not allowed[\s\S]*custom tag !!binary is not allowed/,
  "duplicate-key.yaml": /duplicate key/,
  "huge-product.yaml": /12,000,000 in the whole job\), over the limit/,
  "huge-range.yaml": /4,294,967,296 tasks/,
  "long-name.yaml": /longer than 255 bytes/,
  "proto.yaml": /unknown key "__proto__"[\s\S]*unknown key "constructor"/,
  "reserved-name.yaml": /reserved device name/,
  "trailing-dot-name.yaml": /Windows drops/,
  "traversal-id.yaml": /expected a name of lowercase letters/,
  "traversal-name.yaml": /could leave the output folder/,
  "two-documents.yaml": /second one starts here/,
  "windows-name.yaml": /absolute path/,
  "aliases-10k.yaml": /more than 1,000 aliases/,
  "scalar-10mb.yaml": /too large for a job file \(at most 2 MB\)/,
  "nesting-10k-block.yaml": /too large for a job file \(at most 2 MB\)/,
  "nesting-1500-block.yaml": /nests too deeply/,
  "nesting-10k-flow.yaml": /nests too deeply/,
  "binary-garbage.yaml": /not valid UTF-8/,
};

/** The generated ones: too big to keep in the repository. */
function generated(): Record<string, string | Buffer> {
  const head = "version: 1\nname: hostile\n";
  const random = fc.sample(fc.uint8Array({ minLength: 4096, maxLength: 4096 }), { numRuns: 1, seed: 5 })[0];
  // Random bytes that are not valid UTF-8 (0xff never is).
  const garbage = Buffer.from([0xff, ...(random ?? [])]);
  return {
    "aliases-10k.yaml": `${head}base: &a { type: image, uri: "https://a.example.com/x.png" }\nlist:\n${"  - *a\n".repeat(10_000)}`,
    "scalar-10mb.yaml": `${head}x: "${"a".repeat(10 * 1024 * 1024)}"\n`,
    "nesting-10k-block.yaml": `${head}x:\n${Array.from({ length: 10_000 }, (_, i) => `${" ".repeat(i + 1)}k${i}:`).join("\n")}\n`,
    // The same under the size cap (1.1 MB): the nesting pre-scan refuses it.
    "nesting-1500-block.yaml": `${head}x:\n${Array.from({ length: 1500 }, (_, i) => `${" ".repeat(i + 1)}k${i}:`).join("\n")}\n`,
    "nesting-10k-flow.yaml": `${head}pairs: ${"[".repeat(10_000)}${"]".repeat(10_000)}\n`,
    "binary-garbage.yaml": garbage,
  };
}

const LOCATED = /^[^\n]+\.yaml:\d+:\d+: error: /;

describe("hostile job files", () => {
  let scenario: Scenario;
  const files: string[] = [];

  beforeAll(async () => {
    scenario = await createScenario({ job: { pairs: 1, seeds: 1 }, speed: 50, concurrency: 2 });
    for (const name of await readdir(FIXTURES)) {
      await writeFile(join(scenario.dir, name), await readFile(join(FIXTURES, name)));
      files.push(name);
    }
    for (const [name, content] of Object.entries(generated())) {
      await writeFile(join(scenario.dir, name), content);
      files.push(name);
    }
    files.sort();
  });
  afterAll(async () => {
    await scenario?.close();
  });

  it("each is refused by `run` with exit 2, a located message, no stack trace, no API request and no file written", async () => {
    expect(files.toSorted()).toEqual(Object.keys(EXPECTED).toSorted());
    const rows: string[] = [];
    const problems: string[] = [];
    for (const file of files) {
      const before = (await scenario.sim.proxyLog()).length;
      const outcome = await scenario.run({
        args: ["run", file, "--out", "out", "--base-url", scenario.sim.baseUrl],
      });
      const requests = (await scenario.sim.proxyLog()).length - before;
      const written = await listTree(join(scenario.dir, "out"));
      rows.push(`${file} ${outcome.ms} ms`);
      const wrong = [
        outcome.code === 2 ? null : `exit ${outcome.code ?? outcome.signal}`,
        LOCATED.test(outcome.stderr) ? null : "no file:line:column at the start of the message",
        EXPECTED[file]?.test(outcome.stderr) ? null : `not the expected refusal (${String(EXPECTED[file])})`,
        /\n\s+at |internal error/.test(outcome.stderr) ? "a stack trace or internal error" : null,
        requests === 0 ? null : `${requests} API requests`,
        written.length === 0 ? null : `wrote ${written.join(", ")}`,
        outcome.stdout === "" ? null : "printed on stdout",
      ].filter((problem) => problem !== null);
      if (wrong.length > 0) problems.push(`${file}: ${wrong.join("; ")}\n${outcome.stderr.slice(0, 600)}`);
    }
    expect(problems.join("\n\n")).toBe("");
    figures(
      "property 13 (hostile job files)",
      `${files.length} hostile files refused by \`run\` with exit 2 and a located message, 0 API requests, 0 files written; wall time per CLI run (process start included): ${rows.join(", ")}`,
    );
  }, 120_000);

  it("no key of a hostile file reaches an object prototype (in process)", async () => {
    for (const file of ["proto.yaml", "billion-laughs.yaml", "custom-tags.yaml"]) {
      const bytes = await readFile(join(scenario.dir, file));
      expect(() => planFromBytes(file, bytes)).toThrow(SpecError);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getOwnPropertyNames(Object.prototype).toSorted()).toEqual(
      Object.getOwnPropertyNames(Object.getPrototypeOf({})).toSorted(),
    );
    expect("polluted" in Object.prototype).toBe(false);
  });

  // The bound is 100 ms per hostile file. A timed check, so full mode only; quick mode checks
  // the mechanisms (size cap, pre-scan, one-walk alias resolution) in test/job/hostile-limits.test.ts.
  // Replay: ACTBATCH_RELIABILITY=full npx vitest run test/reliability/hostile.test.ts -t "100 ms"
  it.runIf(FULL)(
    "each is refused in process in under 100 ms",
    async () => {
      // Warm the loader (schema compilation) so the first file is not charged for it.
      expect(() => planFromBytes("warm.yaml", Buffer.from("version: 1\n"))).toThrow(SpecError);
      const slow: string[] = [];
      const times: string[] = [];
      for (const file of files) {
        const bytes = await readFile(join(scenario.dir, file));
        const started = performance.now();
        expect(() => planFromBytes(file, bytes)).toThrow(SpecError);
        const ms = Math.round(performance.now() - started);
        times.push(`${file} ${ms} ms`);
        if (ms >= 100) slow.push(`${file}: ${ms} ms`);
      }
      figures("property 13 (time to refuse, in process)", times.join(", "));
      expect(slow).toEqual([]);
    },
    120_000,
  );

  // A refused name must not carry its raw control characters (NUL, BEL, and so ESC sequences) into
  // the message: a job file could write terminal escape sequences into a CI log.
  // Replay: `actbatch validate test/fixtures/reliability/hostile/control-name.yaml 2>&1 | od -c`
  it("messages about hostile names carry no raw control characters", async () => {
    const outcome = await scenario.run({
      args: ["run", "control-name.yaml", "--out", "out", "--base-url", scenario.sim.baseUrl],
    });
    expect(outcome.code).toBe(2);
    // oxlint-disable-next-line no-control-regex
    expect(outcome.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
  }, 120_000);

  it("fuzz: random bytes and YAML-shaped text are planned or refused with located errors, never anything else", () => {
    const runs = count(300, 10_000);
    const seed = seedFor("hostile-fuzz");
    const snippet = fc.constantFrom(
      "__proto__",
      "constructor",
      "prototype",
      "&a ",
      "*a",
      "!!js/function ",
      "!!binary ",
      "<<: *a",
      "---\n",
      "{from: 0, to: 4294967295}",
      "../",
      "/etc/passwd",
      "C:\\x",
      "\u0000",
      "CON",
      "{pair}",
      "[[[[[[[[",
      "é",
      "e\u0301",
    );
    const yamlish = fc
      .tuple(fc.array(fc.tuple(snippet, fc.string({ maxLength: 12 })), { maxLength: 12 }), fc.nat())
      .map(([parts, n]) => {
        const body = parts.map(
          ([a, b], i) => `${" ".repeat((n + i) % 4)}${b}: ${a}${i % 3 === 0 ? "\n- " : "\n"}`,
        );
        return Buffer.from(`version: 1\nname: fuzz\n${body.join("")}`);
      });
    // A valid job with a hostile snippet inserted somewhere: close to valid, so deeper checks run too.
    const valid = jobYaml({ pairs: 2, seeds: 2 });
    const spliced = fc
      .tuple(fc.nat({ max: valid.length }), snippet)
      .map(([at, text]) => Buffer.from(`${valid.slice(0, at)}${text}${valid.slice(at)}`));
    const input = fc.oneof(
      fc.uint8Array({ maxLength: 512 }).map((bytes) => Buffer.from(bytes)),
      yamlish,
      spliced,
    );
    let refused = 0;
    let planned = 0;
    fc.assert(
      fc.property(input, (bytes) => {
        try {
          planFromBytes("fuzz.yaml", bytes);
          planned++;
        } catch (error) {
          if (!(error instanceof SpecError)) return false;
          refused++;
          return (
            error.diagnostics.length > 0 &&
            error.diagnostics.every(
              (d) => d.file === "fuzz.yaml" && d.line >= 1 && d.column >= 1 && d.message.length > 0,
            )
          );
        }
        return true;
      }),
      { numRuns: runs, seed },
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    figures(
      "property 13 (fuzz)",
      `${runs} random inputs (fast-check seed ${seed}), ${refused} refused with located spec errors, ${planned} planned, 0 other errors`,
    );
  }, 120_000);
});
