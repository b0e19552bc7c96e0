// Everything in the report that comes from a job file or the API passes through here: a pair id
// or an error message is text, never markup.

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escapes text for an element's content or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] ?? char);
}

/**
 * A link to a file of the output folder, relative to the report beside the manifest, or null when
 * the path could leave the folder (a hand-edited manifest): the report links nowhere else.
 */
export function relativeFileUrl(file: string): string | null {
  const segments = file.split("/");
  if (
    file.length === 0 ||
    file.startsWith("/") ||
    file.includes("\\") ||
    file.includes("\0") ||
    segments.some((segment) => segment === "" || segment === "." || segment === "..")
  )
    return null;
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(segments[0] ?? "")) return null;
  return segments.map(encodeURIComponent).join("/");
}
