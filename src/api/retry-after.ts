// Server-supplied retry delays. `retry-after-ms` (float milliseconds, as OpenAI and Azure send it) is
// preferred; else `Retry-After` as seconds (fractions allowed) or as an HTTP date (RFC 9110 §10.2.3).
// Anything unparseable is ignored, and the caller falls back to its own backoff.

export type HeaderValue = string | string[] | undefined;

function firstValue(value: HeaderValue): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

const NUMBER = /^\s*\d+(\.\d+)?\s*$/;

/** The delay the server asked for, in milliseconds, or null when it asked for none (or said nonsense). */
export function parseRetryAfter(headers: Record<string, HeaderValue>, nowMs: number): number | null {
  const ms = firstValue(headers["retry-after-ms"]);
  if (ms !== undefined && NUMBER.test(ms)) return Number(ms);
  const value = firstValue(headers["retry-after"]);
  if (value === undefined || value.trim() === "") return null;
  if (NUMBER.test(value)) return Number(value) * 1000;
  // Only something that looks like an HTTP date: Date.parse also accepts bare numbers and fragments.
  if (!/[a-z]{3}/i.test(value)) return null;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - nowMs);
}
