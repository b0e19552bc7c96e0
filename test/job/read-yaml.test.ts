import { describe, expect, it } from "vitest";
import { planFromBytes, SpecError } from "../../src/job/index.js";
import { ALIAS_NODE_BUDGET, MAX_NESTING_DEPTH, readYaml } from "../../src/job/read-yaml.js";

const PAIR = `pairs:
  - id: a
    character: { type: image, uri: "https://assets.example.com/a.png" }
    reference: { type: video, uri: "https://assets.example.com/a.mp4" }
`;

function problems(text: string | Uint8Array): string[] {
  const bytes = typeof text === "string" ? new TextEncoder().encode(text) : text;
  try {
    planFromBytes("job.yaml", bytes);
  } catch (error) {
    if (!(error instanceof SpecError)) throw error;
    return error.diagnostics.map((d) => `${d.file}:${d.line}:${d.column}: ${d.message}`);
  }
  throw new Error("expected the job to be rejected");
}

describe("reading YAML defensively", () => {
  it("rejects an empty file and a file of comments", () => {
    expect(problems("")).toEqual([
      "job.yaml:1:1: the file is empty; expected a job file (version, name, pairs, ...)",
    ]);
    expect(problems("# nothing here\n")).toEqual([
      "job.yaml:1:1: the file is empty; expected a job file (version, name, pairs, ...)",
    ]);
  });

  it("rejects a document that is not a mapping, saying what was expected", () => {
    expect(problems("- a\n- b\n")).toEqual(["job.yaml:1:1: expected a mapping (key: value), got a list"]);
  });

  it("rejects nesting deeper than the limit, whether block or flow", () => {
    const flow = `version: 1\nname: deep\n${PAIR}sweep: ${"[".repeat(MAX_NESTING_DEPTH + 5)}1${"]".repeat(MAX_NESTING_DEPTH + 5)}\n`;
    expect(problems(flow)).toEqual([
      `job.yaml:7:${8 + MAX_NESTING_DEPTH}: the document nests too deeply (at most ${MAX_NESTING_DEPTH} levels)`,
    ]);
    // Deep enough to exhaust the YAML parser's own stack: still one located message, no crash.
    const huge = `version: 1\nkey: ${"[".repeat(20_000)}\n`;
    const found = problems(huge);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^job\.yaml:2:\d+: the document nests too deeply/);
  });

  it("stops a billion-laughs file at the alias budget, at the alias that started the expansion", () => {
    const levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      levels.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${prev}`).join(", ")}]`,
      );
    }
    const text = `version: 1\nname: lol\n${levels.join("\n")}\n`;
    const found = problems(text);
    expect(found).toEqual([
      `job.yaml:6:36: aliases expand to more than ${ALIAS_NODE_BUDGET} values; job files do not need that many (is this a "billion laughs" file?)`,
    ]);
  });

  it("rejects an alias to an unknown anchor and an alias inside its own anchor", () => {
    expect(problems(`version: 1\nname: x\nsweep: *nowhere\n${PAIR}`)).toEqual([
      "job.yaml:3:8: unknown alias *nowhere: no anchor &nowhere before it",
    ]);
    expect(problems(`version: 1\nname: x\nloop: &l [1, *l]\n${PAIR}`)).toEqual([
      "job.yaml:3:14: alias *l refers to a value that contains it",
    ]);
  });

  it("lets no key reach an object prototype", () => {
    const text = `version: 1\nname: x\n__proto__: { polluted: true }\nconstructor: { prototype: { polluted: true } }\n${PAIR}`;
    const source = readYaml(text, "job.yaml");
    const value = source.value as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.hasOwn(value, "__proto__")).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
    expect(problems(text)).toEqual([
      expect.stringMatching(/^job\.yaml:3:1: unknown key "__proto__"/),
      expect.stringMatching(/^job\.yaml:4:1: unknown key "constructor"/),
    ]);
  });

  it("treats an asset named constructor as an asset, and never finds Object's constructor", () => {
    const withAsset = `version: 1
name: ctor
assets:
  constructor: { type: image, uri: "https://assets.example.com/c.png" }
  take: { type: video, uri: "https://assets.example.com/t.mp4" }
pairs:
  - { id: a, character: constructor, reference: take }
`;
    const { plan } = planFromBytes("job.yaml", new TextEncoder().encode(withAsset));
    expect(plan.tasks[0]?.request.character).toEqual({
      type: "image",
      uri: "https://assets.example.com/c.png",
    });
    const withoutAsset = withAsset.replace("  constructor: {", "  hero: {");
    expect(problems(withoutAsset)).toEqual([
      'job.yaml:7:25: unknown asset "constructor" (known assets: hero, take)',
    ]);
  });

  it("rejects keys that are not plain words", () => {
    expect(problems(`version: 1\nname: x\n[a, b]: 1\n${PAIR}`)).toEqual([
      "job.yaml:3:1: a key must be a plain word or string",
    ]);
  });

  it("locates a file that is not UTF-8 at the first bad byte", () => {
    const bytes = new Uint8Array([...new TextEncoder().encode("version: 1\nname: ü"), 0xff, 0x0a]);
    expect(problems(bytes)).toEqual(["job.yaml:2:8: the file is not valid UTF-8 text"]);
  });

  it("keeps positions through CRLF line endings and a byte-order mark", () => {
    const text = `\uFEFFversion: 1\r\nname: x\r\nnmae: y\r\n${PAIR.replaceAll("\n", "\r\n")}`;
    expect(problems(text)).toEqual(['job.yaml:3:1: unknown key "nmae": did you mean "name"?']);
  });

  it("locates a pointer's value, its key, and falls back to the nearest existing parent", () => {
    const source = readYaml("a:\n  b: [1, 2]\n  c: x\n", "f.yaml");
    expect(source.locate("/a/b")).toEqual({ file: "f.yaml", line: 2, column: 6 });
    expect(source.locate("/a/b", "key")).toEqual({ file: "f.yaml", line: 2, column: 3 });
    expect(source.locate("/a/b/1")).toEqual({ file: "f.yaml", line: 2, column: 10 });
    expect(source.locate("/a/b/7")).toEqual({ file: "f.yaml", line: 2, column: 6 });
    expect(source.locate("/zzz")).toEqual({ file: "f.yaml", line: 1, column: 1 });
  });
});
