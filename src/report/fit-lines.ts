// Text for a terminal of a known width: a line longer than the terminal is wrapped here, at word
// boundaries, rather than by the terminal, which breaks words anywhere and starts the rest at column 0.

/** Columns a continuation line is indented past the line it continues. */
const CONTINUATION_INDENT = 2;
/** A continuation never leaves less room than this (deeply indented lines on a narrow terminal). */
const MIN_ROOM = 20;

/** Display columns of a string, counted as code points (actbatch's own text is narrow). */
export function displayWidth(text: string): number {
  let width = 0;
  for (const _ of text) width++;
  return width;
}

/**
 * Each line fitted to `columns`: a longer one is wrapped at spaces, its continuation lines indented
 * two columns past the line's own indentation; a word longer than the room (a path, a URL) is cut.
 */
export function fitLines(lines: Iterable<string>, columns: number): string[] {
  const fitted: string[] = [];
  for (const line of lines) fitted.push(...fitLine(line, columns));
  return fitted;
}

export function fitLine(line: string, columns: number): string[] {
  const width = Math.max(1, Math.floor(columns));
  if (displayWidth(line) <= width) return [line];
  const indent = /^ */.exec(line)?.[0].length ?? 0;
  const first = " ".repeat(Math.min(indent, Math.max(0, width - MIN_ROOM)));
  const next = " ".repeat(Math.min(indent + CONTINUATION_INDENT, Math.max(0, width - MIN_ROOM)));
  const out: string[] = [];
  let current = first;
  let empty = true;
  const room = (): number => width - displayWidth(current);
  for (const word of line.slice(indent).split(" ")) {
    if (word === "") continue;
    const separator = empty ? "" : " ";
    if (displayWidth(separator + word) <= room()) {
      current += separator + word;
      empty = false;
      continue;
    }
    if (!empty) {
      out.push(current);
      current = next;
      empty = true;
    }
    // A word wider than a whole line: cut it, each piece on a line of its own.
    let rest = [...word];
    while (rest.length > room()) {
      const take = room();
      out.push(current + rest.slice(0, take).join(""));
      rest = rest.slice(take);
      current = next;
    }
    current += rest.join("");
    empty = rest.length === 0;
  }
  if (!empty) out.push(current);
  return out;
}
