// Which URLs actbatch talks to (DESIGN.md section 3): https only, except loopback addresses, which the
// simulator and the tests use. Plain http anywhere else would send the key and the outputs in clear.

/** 127.0.0.0/8, localhost (and its subdomains, RFC 6761) and [::1]. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, "");
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  if (host === "[::1]" || host === "::1") return true;
  return /^127(\.\d{1,3}){3}$/.test(host) && host.split(".").every((part) => Number(part) <= 255);
}

/** Why `url` may not be used, or null when it may (https, or http on a loopback address). */
export function urlProblem(url: URL): string | null {
  if (url.protocol === "https:") return null;
  if (url.protocol === "http:") {
    return isLoopbackHost(url.hostname)
      ? null
      : "http:// is allowed only for loopback addresses; use https://";
  }
  return `unsupported protocol ${url.protocol} (only https://, and http:// on a loopback address)`;
}

/** The longest path shown of a URL without an origin (a data: URL's path is its whole payload). */
const MAX_OPAQUE_PATH = 80;

/**
 * A URL as it may appear in a message: no query string (signed URLs carry their token there), no
 * fragment, no credentials. A URL without an origin (file:, data:, ...) keeps its scheme and host.
 */
export function describeUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "(an invalid URL)";
  }
  if (parsed.origin !== "null") return `${parsed.origin}${parsed.pathname}`;
  const path =
    parsed.pathname.length > MAX_OPAQUE_PATH
      ? `${parsed.pathname.slice(0, MAX_OPAQUE_PATH)}…`
      : parsed.pathname;
  const authority = parsed.host !== "" || parsed.pathname.startsWith("/") ? `//${parsed.host}` : "";
  return `${parsed.protocol}${authority}${path}`;
}
