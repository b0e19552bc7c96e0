// A cheap look at how deeply a YAML text nests and how many aliases it uses, before the YAML parser
// sees it: the parser takes seconds on a 10,000-deep file, and a noticeable time on 10,000 aliases,
// before any limit of ours can apply. The count is approximate
// (indentation levels, sequence dashes and flow brackets), erring low where YAML is ambiguous, so
// the bound it is held to is twice the real one: only a file far beyond the real limit stops here;
// the exact limit is enforced on the parsed tree.

export interface ShapeExcess {
  /** Nesting deeper than the limit, or more aliases than the limit. */
  kind: "nesting" | "aliases";
  line: number;
  column: number;
}

export interface ShapeLimits {
  depth: number;
  aliases: number;
}

/**
 * Where the text first nests deeper than `limits.depth` levels or uses more than `limits.aliases`
 * aliases (the parser alone takes about as long as 10 ms per 1,000 of them), or null. Linear in
 * the text's length.
 */
export function findExcessShape(text: string, limits: ShapeLimits): ShapeExcess | null {
  const limit = limits.depth;
  let aliases = 0;
  const indents: number[] = [];
  let flow = 0;
  let quote: '"' | "'" | null = null;
  let blockScalarParent: number | null = null;
  let lineNumber = 0;
  for (const line of text.split("\n")) {
    lineNumber++;
    let pos = 0;
    if (flow === 0 && quote === null) {
      const indent = leadingSpaces(line);
      const blank = indent === line.length || line[indent] === "#" || line[indent] === "\r";
      if (blockScalarParent !== null) {
        if (blank || indent > blockScalarParent) continue;
        blockScalarParent = null;
      }
      if (blank || line.startsWith("---") || line.startsWith("...")) continue;
      const columns = [indent];
      pos = indent;
      while (line[pos] === "-" && (pos + 1 === line.length || line[pos + 1] === " ")) {
        pos = pos + 1 + leadingSpaces(line, pos + 1);
        columns.push(pos);
      }
      while (indents.length > 0 && (indents.at(-1) ?? 0) >= indent) indents.pop();
      for (const column of columns) {
        indents.push(column);
        if (indents.length > limit) return { kind: "nesting", line: lineNumber, column: column + 1 };
      }
      if (/(?:^|\s)[|>][-+0-9]*\s*(?:#.*)?\r?$/.test(line.slice(pos))) {
        blockScalarParent = indent;
        continue;
      }
      pos = valueStart(line, pos);
      const first = line[pos];
      if (first === "*" && ++aliases > limits.aliases)
        return { kind: "aliases", line: lineNumber, column: pos + 1 };
      if (first === '"' || first === "'") {
        quote = first;
        pos++;
      } else if (first !== "[" && first !== "{") continue;
    }
    // Inside a flow collection or a quoted scalar (which may span lines).
    for (; pos < line.length; pos++) {
      const character = line[pos];
      if (quote !== null) {
        if (character === "\\" && quote === '"') pos++;
        else if (character === quote) {
          quote = null;
          if (flow === 0) break;
        }
        continue;
      }
      if (character === "[" || character === "{") {
        flow++;
        if (indents.length + flow > limit) return { kind: "nesting", line: lineNumber, column: pos + 1 };
      } else if (character === "]" || character === "}") {
        flow = Math.max(flow - 1, 0);
        if (flow === 0) break;
      } else if ((character === '"' || character === "'") && /^$|[\s[{,:]/.test(line[pos - 1] ?? "")) {
        quote = character;
      } else if (character === "*" && /^$|[\s[{,:]/.test(line[pos - 1] ?? "")) {
        if (++aliases > limits.aliases) return { kind: "aliases", line: lineNumber, column: pos + 1 };
      } else if (character === "#" && /\s/.test(line[pos - 1] ?? " ")) break;
    }
  }
  return null;
}

function leadingSpaces(text: string, from = 0): number {
  let count = 0;
  while (text[from + count] === " ") count++;
  return count;
}

/** Where the value of a `key: value` line starts (past the first ": "), else where the content starts. */
function valueStart(line: string, contentStart: number): number {
  const first = line[contentStart];
  if (first === "[" || first === "{" || first === '"' || first === "'" || first === "*") return contentStart;
  const colon = line.indexOf(": ", contentStart);
  if (colon === -1) return line.length;
  return colon + 2 + leadingSpaces(line, colon + 2);
}
