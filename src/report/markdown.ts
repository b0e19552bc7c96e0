// Text that goes into GitHub Markdown (pull-request comments, job summaries) without becoming markup.

/**
 * Text in a Markdown table cell: GitHub renders inline HTML and Markdown, so both are neutralised,
 * and `|` would end the cell.
 */
export function cell(text: string): string {
  return text
    .replace(/[\\`*_[\]<>|#!~]/g, (char) => `\\${char}`)
    .replace(/&/g, "&amp;")
    .replace(/\r?\n/g, " ");
}

/** A code span that holds any text: a fence longer than any backtick run inside, pipes escaped. */
export function code(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((match) => match[0].length));
  const fence = "`".repeat(longest + 1);
  const body = text.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
  const pad = body.startsWith("`") || body.endsWith("`") ? " " : "";
  return `${fence}${pad}${body}${pad}${fence}`;
}
