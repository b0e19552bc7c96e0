// Pair matrices: `- matrix: { character: [fox, owl, "cast-*"], reference: [wave] }` with an id
// template makes one plain pair per combination of the listed asset names, in place of the entry.
// A made pair is the pair a person would have written by hand (same fields, same request bodies,
// so the same task keys), and each of its values is located where the matrix writes it.
import { NAME_PATTERN } from "./asset-sources.js";
import { diagnosticAt } from "./diagnostics.js";
import type { Locator, RoutedLocator } from "./locator.js";
import type { AssetSpec, Diagnostic, MatrixPairSpec, PairSpec, SourceLocation } from "./types.js";

const ROLES = ["character", "reference"] as const;
type Role = (typeof ROLES)[number];

/** Who made a pair id first: a pair written by hand, or a matrix (and from which names). */
type IdOwner =
  { kind: "pair"; at: SourceLocation } | { kind: "matrix"; entry: number; at: SourceLocation; names: string };

export interface MatrixExpansion {
  pairs: PairSpec[];
  diagnostics: Diagnostic[];
  /** Whether any entry was a matrix. */
  expanded: boolean;
}

function isMatrix(entry: PairSpec | MatrixPairSpec): entry is MatrixPairSpec {
  return Object.hasOwn(entry, "matrix");
}

/**
 * Replaces each matrix entry of `pairs` (written at `/pairs` in `written`) by the pairs it makes,
 * and routes every pointer of the result to where it is written.
 */
export function expandMatrices(
  pairs: readonly (PairSpec | MatrixPairSpec)[],
  assets: Readonly<Record<string, AssetSpec>>,
  written: Locator,
  routed: RoutedLocator,
): MatrixExpansion {
  const result: MatrixExpansion = { pairs: [], diagnostics: [], expanded: false };
  const owners = new Map<string, IdOwner>();
  pairs.forEach((entry, index) => {
    const pointer = `/pairs/${index}`;
    if (!isMatrix(entry)) {
      routed.route(`/pairs/${result.pairs.length}`, written, pointer);
      result.pairs.push(entry);
      const owner = owners.get(entry.id);
      const at = written.locate(`${pointer}/id`);
      if (owner?.kind === "matrix") {
        result.diagnostics.push(
          diagnosticAt(
            owner.at,
            `pair id "${entry.id}" is made by this matrix (${owner.names}) and written by hand at ${place(at, owner.at)}; pair ids must be unique`,
          ),
        );
      } else if (owner === undefined) owners.set(entry.id, { kind: "pair", at });
      return;
    }
    result.expanded = true;
    expandOne(entry, index, { assets, written, routed, owners, result });
  });
  return result;
}

interface ExpandContext {
  assets: Readonly<Record<string, AssetSpec>>;
  written: Locator;
  routed: RoutedLocator;
  owners: Map<string, IdOwner>;
  result: MatrixExpansion;
}

function expandOne(entry: MatrixPairSpec, index: number, context: ExpandContext): void {
  const { written, result } = context;
  const pointer = `/pairs/${index}`;
  const matrixAt = written.locate(`${pointer}/matrix`, "key");
  const problem = (at: SourceLocation, message: string): void => {
    result.diagnostics.push(diagnosticAt(at, message));
  };
  const axes: { role: Role; names: { name: string; item: number }[] }[] = [];
  let usable = true;
  for (const role of Object.keys(entry.matrix) as Role[]) {
    if (entry[role] !== undefined) {
      problem(
        written.locate(`${pointer}/${role}`, "key"),
        `"${role}" is both listed in the matrix and fixed on this entry; give it in one place`,
      );
      usable = false;
    }
    axes.push({
      role,
      names: axisNames(entry.matrix[role] ?? [], role, `${pointer}/matrix/${role}`, context),
    });
  }
  for (const role of ROLES) {
    if (entry.matrix[role] === undefined && entry[role] === undefined) {
      problem(
        matrixAt,
        `missing "${role}": list asset names under matrix.${role}, or give the one every pair uses as ${role}:`,
      );
      usable = false;
    }
  }
  const template = parseIdTemplate(entry, pointer, context);
  if (!usable || template === undefined || axes.some((axis) => axis.names.length === 0)) return;

  const { matrix: _matrix, id: _id, ...fixed } = entry;
  const invalid: string[] = [];
  const duplicates: string[] = [];
  let sameMatrix: { id: string; first: string; again: string } | undefined;
  let sameMatrixCount = 0;
  for (const combination of product(axes)) {
    const names = Object.fromEntries(combination.map(({ role, name }) => [role, name])) as Partial<
      Record<Role, string>
    >;
    const described = combination.map(({ role, name }) => `${role} ${name}`).join(", ");
    const id = template(names);
    if (!NAME_PATTERN.test(id)) {
      invalid.push(`"${id}" (${described})`);
      continue;
    }
    const owner = context.owners.get(id);
    if (owner?.kind === "matrix" && owner.entry === index) {
      sameMatrixCount++;
      sameMatrix ??= { id, first: owner.names, again: described };
      continue;
    }
    if (owner !== undefined) {
      const other =
        owner.kind === "pair"
          ? `written by hand at ${place(owner.at, matrixAt)}`
          : `by the matrix at ${place(owner.at, matrixAt)} (${owner.names})`;
      duplicates.push(`pair id "${id}" is made by this matrix (${described}) and ${other}`);
      continue;
    }
    context.owners.set(id, { kind: "matrix", entry: index, at: matrixAt, names: described });
    const made = context.result.pairs.length;
    const pair: PairSpec = { ...fixed, id, ...names } as PairSpec;
    context.routed.route(`/pairs/${made}`, written, pointer);
    context.routed.route(`/pairs/${made}/id`, written, `${pointer}/id`);
    for (const { role, item } of combination)
      context.routed.route(`/pairs/${made}/${role}`, written, `${pointer}/matrix/${role}/${item}`);
    result.pairs.push(pair);
  }
  if (invalid.length > 0)
    problem(
      written.locate(`${pointer}/id`),
      `the id makes ${invalid[0]}, which is not a valid pair id (lowercase letters, digits, '.', '_' or '-', starting with a letter or digit, at most 64 characters)${more(invalid.length)}`,
    );
  if (sameMatrix !== undefined) {
    const missing = axes
      .filter((axis) => axis.names.length > 1 && !entry.id.includes(`{${axis.role}}`))
      .map((axis) => `{${axis.role}}`);
    const hint = missing.length > 0 ? `; put ${missing.join(" and ")} in its id` : "";
    problem(
      matrixAt,
      `this matrix makes pair id "${sameMatrix.id}" more than once (${sameMatrix.first}; ${sameMatrix.again})${more(sameMatrixCount)}${hint}`,
    );
  }
  if (duplicates.length > 0)
    problem(matrixAt, `${duplicates[0]}; pair ids must be unique${more(duplicates.length)}`);
}

/** The asset names an axis lists, patterns expanded (a reference pattern matches videos only). */
function axisNames(
  items: readonly string[],
  role: Role,
  pointer: string,
  context: ExpandContext,
): { name: string; item: number }[] {
  const names: { name: string; item: number }[] = [];
  const seen = new Set<string>();
  const add = (name: string, item: number): void => {
    if (seen.has(name)) return;
    seen.add(name);
    names.push({ name, item });
  };
  items.forEach((written, item) => {
    if (!written.includes("*")) {
      add(written, item);
      return;
    }
    const pattern = new RegExp(`^${written.split("*").map(escapeRegExp).join(".*")}$`);
    const candidates = Object.keys(context.assets).filter(
      (name) => role === "character" || context.assets[name]?.type === "video",
    );
    const matched = candidates.filter((name) => pattern.test(name)).toSorted();
    if (matched.length === 0) {
      const kind = role === "reference" ? "video asset" : "asset";
      const known = candidates.length > 0 ? `${kind}s: ${summarise(candidates.toSorted())}` : `no ${kind}s`;
      context.result.diagnostics.push(
        diagnosticAt(
          context.written.locate(`${pointer}/${item}`),
          `pattern "${written}" matches no ${kind} (${known})`,
        ),
      );
    }
    for (const name of matched) add(name, item);
  });
  return names;
}

/** The id template as a function of the names; undefined (and a diagnostic) when it is unusable. */
function parseIdTemplate(
  entry: MatrixPairSpec,
  pointer: string,
  context: ExpandContext,
): ((names: Partial<Record<Role, string>>) => string) | undefined {
  const at = context.written.locate(`${pointer}/id`);
  const fixedName = (role: Role): string | undefined => {
    const ref = entry[role];
    return typeof ref === "string" ? ref : undefined;
  };
  for (const match of entry.id.matchAll(/\{([^}]*)\}/g)) {
    const name = match[1] ?? "";
    if (name !== "character" && name !== "reference") {
      context.result.diagnostics.push(
        diagnosticAt(
          at,
          `unknown placeholder {${name}} in a matrix id: it may use {character} and {reference}`,
        ),
      );
      return undefined;
    }
    if (entry.matrix[name] === undefined && fixedName(name) === undefined) {
      context.result.diagnostics.push(
        diagnosticAt(
          at,
          `{${name}} in the id needs an asset name, but this entry's ${name} is written inline`,
        ),
      );
      return undefined;
    }
  }
  return (names) =>
    entry.id.replaceAll(
      /\{(character|reference)\}/g,
      (_, role: Role) => names[role] ?? fixedName(role) ?? "",
    );
}

function* product(
  axes: readonly { role: Role; names: readonly { name: string; item: number }[] }[],
): Generator<{ role: Role; name: string; item: number }[]> {
  const [first, ...rest] = axes;
  if (first === undefined) {
    yield [];
    return;
  }
  for (const named of first.names)
    for (const tail of product(rest)) yield [{ role: first.role, ...named }, ...tail];
}

function more(count: number): string {
  return count > 1 ? ` (and ${count - 1} more like it)` : "";
}

/** "line 12" in the same file, "base.yaml:12" in another. */
function place(at: SourceLocation, from: SourceLocation): string {
  return at.file === from.file ? `line ${at.line}` : `${at.file}:${at.line}`;
}

function summarise(names: readonly string[]): string {
  return names.length <= 12
    ? names.join(", ")
    : `${names.slice(0, 12).join(", ")}, ... (${names.length} in all)`;
}

function escapeRegExp(text: string): string {
  return text.replaceAll(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
