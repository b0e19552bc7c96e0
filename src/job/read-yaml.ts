import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseAllDocuments,
  visit,
  type Alias,
  type Document,
  type Node,
} from "yaml";
import { diagnosticAt, SpecError } from "./diagnostics.js";
import { findExcessShape } from "./yaml-prescan.js";
import type { Diagnostic, SourceLocation } from "./types.js";

/** Deeper than any job file needs (about 6 levels); well below what would exhaust the stack. */
export const MAX_NESTING_DEPTH = 32;
/** Nodes that aliases may produce in all: generous for reuse, fatal for a "billion laughs" file. */
export const ALIAS_NODE_BUDGET = 10_000;
/** Aliases a file may use at all: far more than reuse needs; a file with more is refused before parsing. */
export const MAX_ALIASES = 1_000;
/** A file with hundreds of syntax errors is not worth listing in full. */
const MAX_SYNTAX_ERRORS = 20;

/** The tags plain YAML 1.2 data may spell out; everything else (`!!js/function`, `!custom`) is refused. */
const ALLOWED_TAGS = new Set(
  ["str", "int", "float", "bool", "null", "map", "seq"].map((name) => `tag:yaml.org,2002:${name}`),
);

/** A parsed job file: plain data, plus where each value was written. */
export interface YamlSource {
  file: string;
  value: unknown;
  /**
   * Where the value at a JSON pointer (as in ajv's instancePath) was written, or its key when
   * `part` is "key". Falls back to the nearest enclosing value for a pointer that does not exist.
   */
  locate(pointer: string, part?: "key" | "value"): SourceLocation;
}

interface NodePosition {
  key?: number;
  value: number;
}

/** Escapes one JSON pointer segment (RFC 6901), as ajv does in instancePath. */
export function pointerSegment(segment: string | number): string {
  return String(segment).replaceAll("~", "~0").replaceAll("/", "~1");
}

/**
 * Parses one YAML document defensively: duplicate keys, a second document, custom tags, excessive
 * nesting and alias expansion beyond a budget are errors, and no key can reach an object prototype.
 * Every problem found is reported together in one SpecError.
 */
export function readYaml(text: string, file: string): YamlSource {
  // The parser itself takes seconds on a file nested thousands deep: refuse those before parsing.
  // The pre-scan's count is approximate, so its depth bound is twice the exact one applied below.
  const excess = findExcessShape(text, { depth: 2 * MAX_NESTING_DEPTH, aliases: MAX_ALIASES });
  if (excess)
    throw new SpecError([
      diagnosticAt(
        { file, line: excess.line, column: excess.column },
        excess.kind === "nesting"
          ? `the document nests too deeply (at most ${MAX_NESTING_DEPTH} levels)`
          : `more than ${MAX_ALIASES.toLocaleString("en-US")} aliases: job files do not need that many (is this a "billion laughs" file?)`,
      ),
    ]);
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: true,
    merge: false,
    schema: "core",
    version: "1.2",
  });
  const at = (offset: number): SourceLocation => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line: Math.max(line, 1), column: Math.max(col, 1) };
  };

  const first = docs[0];
  if (first === undefined)
    throw new SpecError([
      diagnosticAt(at(0), "the file is empty; expected a job file (version, name, pairs, ...)"),
    ]);
  const diagnostics = syntaxDiagnostics(first, at);
  const second = docs[1];
  if (second !== undefined) {
    diagnostics.push(
      diagnosticAt(
        at(second.range[0]),
        "a job file holds one YAML document, but a second one starts here (---)",
      ),
    );
  }
  if (diagnostics.length > 0) throw new SpecError(diagnostics);
  if (first.contents === null) {
    throw new SpecError([
      diagnosticAt(at(0), "the file holds no data; expected a job file (version, name, pairs, ...)"),
    ]);
  }

  const positions = new Map<string, NodePosition>();
  const converter = new Converter(first, positions, at);
  const value = converter.convert(first.contents, "", undefined, 0);
  if (converter.diagnostics.length > 0) throw new SpecError(converter.diagnostics);

  return {
    file,
    value,
    locate(pointer, part = "value") {
      for (let current = pointer; ; current = current.slice(0, Math.max(current.lastIndexOf("/"), 0))) {
        const position = positions.get(current);
        if (position)
          return at(
            part === "key" && current === pointer ? (position.key ?? position.value) : position.value,
          );
        if (current === "") return at(0);
      }
    },
  };
}

function syntaxDiagnostics(doc: Document.Parsed, at: (offset: number) => SourceLocation): Diagnostic[] {
  const problems = [
    ...doc.errors,
    ...doc.warnings.filter((warning) => warning.code !== "TAG_RESOLVE_FAILED"),
  ];
  const exhausted = problems.find((problem) => problem.code === "RESOURCE_EXHAUSTION");
  if (exhausted) {
    return [
      diagnosticAt(
        at(exhausted.pos[0]),
        `the document nests too deeply (at most ${MAX_NESTING_DEPTH} levels)`,
      ),
    ];
  }
  const seen = new Set<string>();
  const diagnostics: Diagnostic[] = [];
  for (const problem of problems) {
    const diagnostic = diagnosticAt(at(problem.pos[0]), describeYamlError(problem.code, problem.message));
    const id = `${diagnostic.line}:${diagnostic.column}:${diagnostic.message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    diagnostics.push(diagnostic);
  }
  if (diagnostics.length > MAX_SYNTAX_ERRORS) {
    const rest = diagnostics.length - MAX_SYNTAX_ERRORS;
    const last = diagnostics[MAX_SYNTAX_ERRORS - 1];
    diagnostics.length = MAX_SYNTAX_ERRORS;
    if (last)
      diagnostics.push({ ...last, message: `... and ${rest} more YAML syntax errors after this one` });
  }
  return diagnostics;
}

function describeYamlError(code: string, message: string): string {
  const text = message.replace(/ at line \d+, column \d+[\s\S]*$/, "").trim();
  if (code === "DUPLICATE_KEY") return "duplicate key: each key may appear once in a mapping";
  return `YAML syntax error: ${text.charAt(0).toLowerCase()}${text.slice(1)}`;
}

class AliasBudgetExceeded extends Error {}

/** Turns the YAML node tree into plain data, recording positions and enforcing the limits. */
class Converter {
  readonly diagnostics: Diagnostic[] = [];
  private aliasNodes = 0;
  private readonly expanding = new Set<Node>();
  private aliasDepth = 0;
  /** Where the outermost alias being expanded is written: the place to point at when the budget runs out. */
  private aliasStart = 0;
  /** What each alias refers to, found in one walk (Alias.resolve walks the document from its start each time). */
  private readonly aliasTargets: Map<Alias, Node | undefined>;

  constructor(
    doc: Document.Parsed,
    private readonly positions: Map<string, NodePosition>,
    private readonly at: (offset: number) => SourceLocation,
  ) {
    this.aliasTargets = resolveAliases(doc);
  }

  convert(node: unknown, pointer: string, keyOffset: number | undefined, depth: number): unknown {
    try {
      return this.convertNode(node, pointer, keyOffset, depth);
    } catch (error) {
      if (error instanceof AliasBudgetExceeded) return null;
      throw error;
    }
  }

  private convertNode(node: unknown, pointer: string, keyOffset: number | undefined, depth: number): unknown {
    if (node === null || node === undefined) {
      this.positions.set(pointer, { key: keyOffset, value: keyOffset ?? 0 });
      return null;
    }
    const range = (node as { range?: [number, number, number] }).range;
    const offset = range?.[0] ?? keyOffset ?? 0;
    this.positions.set(pointer, { key: keyOffset, value: offset });
    if (this.aliasDepth > 0 && ++this.aliasNodes > ALIAS_NODE_BUDGET) {
      this.diagnostics.push(
        diagnosticAt(
          this.at(this.aliasStart),
          `aliases expand to more than ${ALIAS_NODE_BUDGET} values; job files do not need that many (is this a "billion laughs" file?)`,
        ),
      );
      throw new AliasBudgetExceeded();
    }
    if (depth > MAX_NESTING_DEPTH) {
      this.diagnostics.push(
        diagnosticAt(this.at(offset), `the document nests too deeply (at most ${MAX_NESTING_DEPTH} levels)`),
      );
      return null;
    }

    if (isAlias(node)) {
      const target = this.aliasTargets.get(node);
      if (!target) {
        this.diagnostics.push(
          diagnosticAt(this.at(offset), `unknown alias *${node.source}: no anchor &${node.source} before it`),
        );
        return null;
      }
      if (this.expanding.has(target)) {
        this.diagnostics.push(
          diagnosticAt(this.at(offset), `alias *${node.source} refers to a value that contains it`),
        );
        return null;
      }
      this.expanding.add(target);
      if (this.aliasDepth === 0) this.aliasStart = offset;
      this.aliasDepth++;
      try {
        // The alias stands where it is written; what it expands to keeps the anchor's positions.
        const value = this.convertNode(target, pointer, keyOffset, depth);
        this.positions.set(pointer, { key: keyOffset, value: offset });
        return value;
      } finally {
        this.aliasDepth--;
        this.expanding.delete(target);
      }
    }

    const tag = (node as { tag?: string }).tag;
    if (tag !== undefined && !ALLOWED_TAGS.has(tag)) {
      this.diagnostics.push(
        diagnosticAt(
          this.at(offset),
          `custom tag ${shortTag(tag)} is not allowed: job files are plain YAML data`,
        ),
      );
      return null;
    }

    if (isScalar(node)) return node.value;
    if (isSeq(node)) {
      return node.items.map((item, index) =>
        this.convertNode(item, `${pointer}/${index}`, undefined, depth + 1),
      );
    }
    if (isMap(node)) {
      const result: Record<string, unknown> = {};
      for (const pair of node.items) {
        const keyNode = pair.key as Node | null;
        const keyStart = (keyNode as { range?: [number, number, number] } | null)?.range?.[0] ?? offset;
        if (!isScalar(keyNode) || (typeof keyNode.value !== "string" && typeof keyNode.value !== "number")) {
          this.diagnostics.push(diagnosticAt(this.at(keyStart), "a key must be a plain word or string"));
          continue;
        }
        if (keyNode.tag !== undefined && !ALLOWED_TAGS.has(keyNode.tag)) {
          this.diagnostics.push(
            diagnosticAt(
              this.at(keyStart),
              `custom tag ${shortTag(keyNode.tag)} is not allowed: job files are plain YAML data`,
            ),
          );
          continue;
        }
        const key = String(keyNode.value);
        const value = this.convertNode(pair.value, `${pointer}/${pointerSegment(key)}`, keyStart, depth + 1);
        // defineProperty, not assignment: a "__proto__" key becomes an ordinary own property.
        Object.defineProperty(result, key, { value, enumerable: true, writable: true, configurable: true });
      }
      return result;
    }
    this.diagnostics.push(diagnosticAt(this.at(offset), "unsupported YAML node"));
    return null;
  }
}

/**
 * Each alias's target: the last node anchored with its name before it, in document order, as
 * YAML (and Alias.resolve) defines it.
 */
function resolveAliases(doc: Document.Parsed): Map<Alias, Node | undefined> {
  const anchors = new Map<string, Node>();
  const targets = new Map<Alias, Node | undefined>();
  visit(doc, (_key, node) => {
    if (isAlias(node)) targets.set(node, anchors.get(node.source));
    else if ((isScalar(node) || isMap(node) || isSeq(node)) && node.anchor) anchors.set(node.anchor, node);
  });
  return targets;
}

function shortTag(tag: string): string {
  return tag.startsWith("tag:yaml.org,2002:") ? `!!${tag.slice("tag:yaml.org,2002:".length)}` : tag;
}
