import { closestMatch } from "./suggest.js";
import type { RequestBody } from "./types.js";

export const DEFAULT_OUTPUT_DIR = "out/{job}";
/** The key makes every name unique whatever the sweep, and stable when the job file changes. */
export const DEFAULT_OUTPUT_NAME = "{pair}/{key}.mp4";

export const NAME_PLACEHOLDERS = [
  "job",
  "pair",
  "key",
  "index",
  "model",
  "ratio",
  "bodyControl",
  "expressionIntensity",
  "seed",
  "publicFigureThreshold",
] as const;
export type NamePlaceholder = (typeof NAME_PLACEHOLDERS)[number];
export const DIR_PLACEHOLDERS = ["job"] as const satisfies readonly NamePlaceholder[];

export type TemplatePart = { literal: string } | { placeholder: NamePlaceholder };

/** Splits a template into literal text and placeholders, or says what is wrong with it. */
export function parseTemplate(
  template: string,
  allowed: readonly NamePlaceholder[],
): { parts: TemplatePart[] } | { problem: string } {
  const parts: TemplatePart[] = [];
  let rest = template;
  while (rest.length > 0) {
    const open = rest.indexOf("{");
    const close = rest.indexOf("}");
    if (close >= 0 && (open < 0 || close < open)) return { problem: `unmatched "}" in "${template}"` };
    if (open < 0) {
      parts.push({ literal: rest });
      break;
    }
    if (open > 0) parts.push({ literal: rest.slice(0, open) });
    if (close < 0) return { problem: `unmatched "{" in "${template}"` };
    const name = rest.slice(open + 1, close);
    if (!(allowed as readonly string[]).includes(name)) {
      const match = closestMatch(name, allowed);
      const hint = match === undefined ? undefined : `did you mean {${match}}?`;
      const list = allowed.map((placeholder) => `{${placeholder}}`).join(", ");
      return { problem: `unknown placeholder {${name}}${hint ? `: ${hint}` : ""} (placeholders: ${list})` };
    }
    parts.push({ placeholder: name as NamePlaceholder });
    rest = rest.slice(close + 1);
  }
  return { parts };
}

/**
 * The template cut at each "/" of its literal text: one list of parts per folder or file name.
 * Placeholder values never contain "/", so every rendered name has exactly these segments.
 */
export function templateSegments(parts: readonly TemplatePart[]): TemplatePart[][] {
  const segments: TemplatePart[][] = [[]];
  for (const part of parts) {
    if (!("literal" in part)) {
      segments.at(-1)!.push(part);
      continue;
    }
    const pieces = part.literal.split("/");
    for (const [index, piece] of pieces.entries()) {
      if (index > 0) segments.push([]);
      if (piece !== "") segments.at(-1)!.push({ literal: piece });
    }
  }
  return segments;
}

export interface TemplateValues {
  job: string;
  pair: string;
  key: string;
  index: number;
  request: RequestBody;
}

/** Fills a parsed template. `:` in a ratio becomes `x`, since `:` is not allowed in Windows file names. */
export function renderTemplate(parts: readonly TemplatePart[], values: TemplateValues): string {
  let text = "";
  for (const part of parts)
    text += "literal" in part ? part.literal : placeholderValue(part.placeholder, values);
  return text;
}

function placeholderValue(name: NamePlaceholder, values: TemplateValues): string {
  switch (name) {
    case "job":
      return values.job;
    case "pair":
      return values.pair;
    case "key":
      return values.key;
    case "index":
      return String(values.index);
    case "ratio":
      return values.request.ratio.replace(":", "x");
    case "publicFigureThreshold":
      return values.request.contentModeration.publicFigureThreshold;
    default:
      return String(values.request[name]);
  }
}

// Device names Windows reserves in every directory, with or without an extension.
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;
// Illegal in file names on Windows (and ':' on classic macOS); control characters everywhere.
// eslint-disable-next-line no-control-regex
const ILLEGAL_CHARACTERS = /[<>:"|?*\\\u0000-\u001f]/;
const MAX_SEGMENT_BYTES = 255;

/**
 * Why a relative output path is unsafe or unportable, or undefined when it is fine: it must stay
 * inside the output folder and be a legal file name on Linux, macOS and Windows.
 */
export function outputPathProblem(path: string): string | undefined {
  const whole = wholePathProblem(path);
  if (whole !== undefined) return whole;
  for (const segment of path.split("/")) {
    const problem = segmentProblem(segment);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/** The problems of a path as a whole: empty, absolute, or Windows-separated. */
export function wholePathProblem(path: string): string | undefined {
  if (path.length === 0) return "it is empty";
  if (path.startsWith("/") || /^[a-z]:/i.test(path)) {
    return "it is an absolute path; names are relative to the output folder";
  }
  if (path.includes("\\")) return `it contains "\\"; separate folders with "/"`;
  return undefined;
}

/** Why one folder or file name (between two "/") is unsafe or unportable. */
export function segmentProblem(segment: string): string | undefined {
  if (segment === "") return 'it has an empty folder name ("//", or "/" at the start or end)';
  if (segment === "." || segment === "..")
    return `it contains "${segment}", which could leave the output folder`;
  const illegal = ILLEGAL_CHARACTERS.exec(segment);
  if (illegal) {
    const shown =
      illegal[0] < " "
        ? `control character U+${illegal[0].charCodeAt(0).toString(16).padStart(4, "0")}`
        : `"${illegal[0]}"`;
    return `it contains ${shown}, which is not allowed in file names on Windows`;
  }
  if (/[. ]$/.test(segment)) return `"${segment}" ends with "${segment.at(-1)}", which Windows drops`;
  if (WINDOWS_RESERVED.test(segment)) return `"${segment}" is a reserved device name on Windows`;
  if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES) {
    return `"${segment.slice(0, 20)}..." is longer than ${MAX_SEGMENT_BYTES} bytes`;
  }
  return undefined;
}

/** Whether a name (job name, pair id) is usable as a path segment everywhere. */
export function nameSegmentProblem(name: string): string | undefined {
  if (/[. ]$/.test(name)) return `"${name}" ends with "${name.at(-1)}", which Windows drops from file names`;
  if (WINDOWS_RESERVED.test(name))
    return `"${name}" is a reserved device name on Windows and cannot name a file or folder`;
  return undefined;
}
