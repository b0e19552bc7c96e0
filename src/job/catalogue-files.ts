// Asset catalogues: a CSV file (a header row naming the columns) or a JSONL file (one object a
// line), each row one named asset. Rows become asset objects exactly as the job file would write
// them, so that the schema and the rules check them as they check the job file's own assets; the
// TableLocator keeps where each value is, for errors at `characters.csv:14:3`.
import { diagnosticAt } from "./diagnostics.js";
import { parseCsv } from "./csv.js";
import type { Locator } from "./locator.js";
import { closestMatch } from "./suggest.js";
import type { Diagnostic, SourceLocation } from "./types.js";

/** Columns (CSV) and keys (JSONL) a row may have: an asset's fields and its name. */
export const CATALOGUE_FIELDS = ["name", "type", "uri", "path", "duration"] as const;

interface TableField {
  key?: SourceLocation;
  value: SourceLocation;
}

interface TableRow {
  start: SourceLocation;
  fields: Map<string, TableField>;
}

/** Pointers `/<row>/<field>` to the places of a catalogue's values. */
export class TableLocator implements Locator {
  readonly rows: TableRow[] = [];
  constructor(readonly file: string) {}

  locate(pointer: string, part: "key" | "value" = "value"): SourceLocation {
    const [, rowText = "", field] = pointer.split("/");
    const row = this.rows[Number(rowText)];
    if (row === undefined) return { file: this.file, line: 1, column: 1 };
    // The key of a row is its asset's name.
    const named = field ?? (part === "key" ? "name" : undefined);
    const place =
      named === undefined ? undefined : row.fields.get(named.replaceAll("~1", "/").replaceAll("~0", "~"));
    if (place === undefined) return row.start;
    return part === "key" && field !== undefined ? (place.key ?? place.value) : place.value;
  }
}

/** One asset of a catalogue, as a job file would write it under `assets`, and its row. */
export interface CatalogueRow {
  name: string;
  asset: Record<string, unknown>;
  row: number;
}

export interface Catalogue {
  rows: CatalogueRow[];
  locator: TableLocator;
  diagnostics: Diagnostic[];
}

/** A CSV catalogue: `name,type,uri` or `name,type,path` (and `duration`), in any order. */
export function readCsvCatalogue(file: string, text: string): Catalogue {
  const locator = new TableLocator(file);
  const diagnostics: Diagnostic[] = [];
  const at = (line: number, column: number): SourceLocation => ({ file, line, column });
  const { records, problems } = parseCsv(text);
  for (const problem of problems)
    diagnostics.push(diagnosticAt(at(problem.line, problem.column), problem.message));
  const [header, ...body] = records;
  if (header === undefined) {
    diagnostics.push(
      diagnosticAt(at(1, 1), "the catalogue is empty; expected a header row such as name,type,uri"),
    );
    return { rows: [], locator, diagnostics };
  }
  const columns = header.cells.map((cell) => cell.text);
  let usable = true;
  header.cells.forEach((cell, index) => {
    const known = (CATALOGUE_FIELDS as readonly string[]).includes(cell.text);
    const where = at(cell.line, cell.column);
    if (!known) {
      usable = false;
      const suggestion = closestMatch(cell.text, CATALOGUE_FIELDS);
      diagnostics.push(
        diagnosticAt(
          where,
          `unknown column "${cell.text}"${suggestion ? `: did you mean "${suggestion}"?` : ` (columns: ${CATALOGUE_FIELDS.join(", ")})`}`,
        ),
      );
    } else if (columns.indexOf(cell.text) !== index) {
      usable = false;
      diagnostics.push(diagnosticAt(where, `column "${cell.text}" is named twice in the header`));
    }
  });
  for (const required of ["name", "type"])
    if (!columns.includes(required)) {
      usable = false;
      diagnostics.push(
        diagnosticAt(
          at(header.line, 1),
          `the header has no "${required}" column; expected a header row such as name,type,uri`,
        ),
      );
    }
  if (!columns.includes("uri") && !columns.includes("path")) {
    usable = false;
    diagnostics.push(
      diagnosticAt(
        at(header.line, 1),
        'the header has neither a "uri" nor a "path" column; expected name,type,uri or name,type,path',
      ),
    );
  }
  if (!usable) return { rows: [], locator, diagnostics };

  const rows: CatalogueRow[] = [];
  for (const record of body) {
    const start = at(record.line, 1);
    if (record.cells.length !== columns.length) {
      diagnostics.push(
        diagnosticAt(
          start,
          `this row has ${record.cells.length} value${record.cells.length === 1 ? "" : "s"}, but the header names ${columns.length} columns (${columns.join(",")})`,
        ),
      );
      continue;
    }
    const fields = new Map<string, TableField>();
    const asset: Record<string, unknown> = {};
    let name = "";
    record.cells.forEach((cell, index) => {
      const column = columns[index] ?? "";
      fields.set(column, { value: at(cell.line, cell.column) });
      if (column === "name") name = cell.text;
      // An empty cell is a value not given (a path row in a catalogue that has a uri column too).
      else if (cell.text !== "") asset[column] = column === "duration" ? numberOrText(cell.text) : cell.text;
    });
    locator.rows.push({ start, fields });
    rows.push({ name, asset, row: locator.rows.length - 1 });
  }
  return { rows, locator, diagnostics };
}

/** A JSONL catalogue: one `{"name", "type", "uri" | "path", "duration"?}` object a line. */
export function readJsonlCatalogue(file: string, text: string): Catalogue {
  const locator = new TableLocator(file);
  const diagnostics: Diagnostic[] = [];
  const rows: CatalogueRow[] = [];
  const lines = (text.startsWith("\uFEFF") ? text.slice(1) : text).split("\n");
  lines.forEach((raw, index) => {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line.trim() === "") return;
    const start: SourceLocation = { file, line: index + 1, column: 1 };
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const position = /at position (\d+)/.exec(message)?.[1];
      const column = position === undefined ? 1 : Number(position) + 1;
      const reason = message
        .replace(/\s*in JSON at position[\s\S]*$/, "")
        .replace(/, ".*" is not valid JSON$/, "");
      diagnostics.push(diagnosticAt({ ...start, column }, `not valid JSON: ${reason}`));
      return;
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      diagnostics.push(
        diagnosticAt(
          start,
          'expected one object a line, such as {"name": "fox", "type": "image", "uri": "https://..."}',
        ),
      );
      return;
    }
    const fields = new Map<string, TableField>();
    for (const [key, place] of topLevelPositions(line))
      fields.set(key, {
        key: { file, line: index + 1, column: place.key + 1 },
        value: { file, line: index + 1, column: place.value + 1 },
      });
    const { name, ...asset } = value as Record<string, unknown>;
    locator.rows.push({ start, fields });
    const row = locator.rows.length - 1;
    if (typeof name !== "string") {
      diagnostics.push(
        diagnosticAt(
          name === undefined ? start : locator.locate(`/${row}/name`),
          'expected "name": the asset\'s name, as text',
        ),
      );
      return;
    }
    rows.push({ name, asset, row });
  });
  return { rows, locator, diagnostics };
}

function numberOrText(text: string): number | string {
  const number = Number(text);
  return text.trim() !== "" && Number.isFinite(number) ? number : text;
}

/**
 * Where each top-level key and its value start in one line of valid JSON holding an object
 * (0-based offsets). JSON.parse says nothing about positions; this scan only needs to skip values.
 */
export function topLevelPositions(line: string): Map<string, { key: number; value: number }> {
  const positions = new Map<string, { key: number; value: number }>();
  let i = line.indexOf("{") + 1;
  const skipSpace = (): void => {
    while (/\s/.test(line[i] ?? "")) i++;
  };
  const skipString = (): void => {
    i++;
    while (i < line.length && line[i] !== '"') i += line[i] === "\\" ? 2 : 1;
    i++;
  };
  const skipValue = (): void => {
    let depth = 0;
    while (i < line.length) {
      const character = line[i];
      if (character === '"') {
        skipString();
        continue;
      }
      if (character === "{" || character === "[") depth++;
      else if (character === "}" || character === "]") {
        if (depth === 0) return;
        depth--;
      } else if (character === "," && depth === 0) return;
      i++;
    }
  };
  for (;;) {
    skipSpace();
    if (line[i] !== '"') return positions;
    const keyStart = i;
    skipString();
    const key = JSON.parse(line.slice(keyStart, i)) as string;
    skipSpace();
    i++; // the colon
    skipSpace();
    positions.set(key, { key: keyStart, value: i });
    skipValue();
    if (line[i] !== ",") return positions;
    i++;
  }
}
