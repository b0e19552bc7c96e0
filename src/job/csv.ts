// A small RFC 4180 reader that keeps where each value starts, so that a catalogue's problems are
// reported at their line and column. Quoted values may hold commas, doubled quotes and line
// breaks; unquoted values are trimmed of the spaces around them (hand-written `name, type, uri`);
// CRLF and LF both end a record; a UTF-8 byte order mark is ignored; blank lines are skipped.

export interface CsvCell {
  text: string;
  line: number;
  column: number;
}

export interface CsvRecord {
  line: number;
  cells: CsvCell[];
}

export interface CsvProblem {
  line: number;
  column: number;
  message: string;
}

export function parseCsv(input: string): { records: CsvRecord[]; problems: CsvProblem[] } {
  const text = input.startsWith("\uFEFF") ? input.slice(1) : input;
  const records: CsvRecord[] = [];
  const problems: CsvProblem[] = [];
  let line = 1;
  let lineStart = 0;
  let i = 0;
  let cells: CsvCell[] = [];
  let recordLine = 1;
  // Whether the record has a quoted value: `""` alone on a line is a record, an empty line is not.
  let quotedBlank = false;
  const endRecord = (): void => {
    const blank = cells.length === 1 && cells[0]?.text === "" && !quotedBlank;
    if (!blank) records.push({ line: recordLine, cells });
    cells = [];
  };
  while (i <= text.length) {
    if (cells.length === 0) {
      recordLine = line;
      quotedBlank = false;
    }
    // One value, from i.
    while (text[i] === " " || text[i] === "\t") i++;
    let cell: CsvCell;
    if (text[i] === '"') {
      const start = { line, column: i - lineStart + 1 };
      let value = "";
      i++;
      let closed = false;
      while (i < text.length) {
        const character = text[i];
        if (character === '"') {
          if (text[i + 1] === '"') {
            value += '"';
            i += 2;
            continue;
          }
          i++;
          closed = true;
          break;
        }
        if (character === "\n") {
          line++;
          lineStart = i + 1;
        }
        value += character;
        i++;
      }
      if (!closed) {
        problems.push({ ...start, message: 'a quoted value is not closed (a " with no closing ")' });
        return { records, problems };
      }
      while (text[i] === " " || text[i] === "\t") i++;
      if (i < text.length && text[i] !== "," && text[i] !== "\n" && text[i] !== "\r") {
        problems.push({
          line,
          column: i - lineStart + 1,
          message: 'unexpected text after a closing quote; write "" for a quote inside a quoted value',
        });
        while (i < text.length && text[i] !== "," && text[i] !== "\n") i++;
      }
      cell = { text: value.replaceAll("\r\n", "\n"), ...start };
      quotedBlank = true;
    } else {
      const column = i - lineStart + 1;
      let end = i;
      while (end < text.length && text[end] !== "," && text[end] !== "\n") end++;
      cell = { text: text.slice(i, end).replace(/[ \t\r]+$/, ""), line, column };
      i = end;
    }
    cells.push(cell);
    if (i >= text.length) {
      endRecord();
      break;
    }
    if (text[i] === "\r") i++;
    if (text[i] === ",") {
      i++;
      continue;
    }
    // A line break (or the end).
    i++;
    line++;
    lineStart = i;
    endRecord();
    if (i >= text.length) break;
  }
  return { records, problems };
}
