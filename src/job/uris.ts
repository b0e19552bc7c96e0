import { isIP } from "node:net";
import { formatMegabytes, MAX_DATA_URI_BYTES } from "../service-limits.js";

/** Limits the service applies to assets (DESIGN.md section 1). */
export const MAX_URL_LENGTH = 2048;

/**
 * Why the service would refuse this asset URI, or undefined when it is acceptable: an https:// URL
 * on a domain name, a data: URI of the right media type, or a runway:// upload URI.
 */
export function assetUriProblem(uri: string, type: "image" | "video"): string | undefined {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1]?.toLowerCase();
  if (scheme === "data") return dataUriProblem(uri, type);
  if (scheme === "runway")
    return uri.length > "runway://".length ? undefined : "runway:// URI has no upload id";
  if ((scheme === "http" || scheme === "https") && onLoopback(uri)) return undefined;
  if (scheme === "http") return "the service only fetches https:// URLs";
  if (scheme !== "https") return "expected an https:// URL, a data: URI or a runway:// upload URI";
  if (uri.length > MAX_URL_LENGTH) return `URL is longer than ${MAX_URL_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return "not a valid URL";
  }
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (host === "") return "URL has no host";
  if (isIP(host) !== 0) return "the service only fetches URLs on a domain name, not an IP address";
  if (url.username !== "" || url.password !== "") return "URL must not carry a user name or password";
  return undefined;
}

function dataUriProblem(uri: string, type: "image" | "video"): string | undefined {
  const comma = uri.indexOf(",");
  if (comma < 0) return "data: URI has no ',' before its data";
  const header = uri.slice("data:".length, comma);
  const mediaType = header.split(";")[0]?.toLowerCase() ?? "";
  if (!/^[a-z]+\/[a-z0-9.+-]+$/.test(mediaType))
    return "data: URI must name its media type, as in data:image/png;base64,...";
  if (!mediaType.startsWith(`${type}/`))
    return `data: URI holds ${mediaType}, but the asset is ${type === "image" ? "an image" : "a video"}`;
  const payload = uri.length - comma - 1;
  const bytes = header.endsWith(";base64") ? Math.floor((payload * 3) / 4) : payload;
  const limit = MAX_DATA_URI_BYTES[type];
  if (bytes > limit)
    return `data: URI holds about ${formatMegabytes(bytes)}; the service takes ${type}s up to ${formatMegabytes(limit)} this way`;
  return undefined;
}

/**
 * Loopback URLs (http or https) are the simulator's and the tests' assets: the service could not
 * fetch them, but nothing is sent there except by a simulated run, and preflight probes them.
 */
function onLoopback(uri: string): boolean {
  if (uri.length > MAX_URL_LENGTH) return false;
  try {
    const url = new URL(uri);
    return url.username === "" && url.password === "" && isLoopbackHost(url.hostname);
  } catch {
    return false;
  }
}

/** Loopback hosts, where plain http:// is allowed (the simulator and tests). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return host === "localhost" || host === "::1" || /^127(\.\d{1,3}){3}$/.test(host);
}

/** Why an API base URL is unacceptable, or undefined: https://, or http:// on loopback. */
export function baseUrlProblem(raw: string): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "expected a URL such as https://api.cometapi.com/runwayml";
  }
  if (url.protocol === "http:" && !isLoopbackHost(url.hostname)) {
    return "plain http:// is only allowed on a loopback address (127.0.0.1, localhost, [::1]); use https://";
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return "expected an https:// URL";
  if (url.username !== "" || url.password !== "")
    return "the base URL must not carry credentials; the key comes from the environment";
  if (url.search !== "" || url.hash !== "")
    return "the base URL is everything before /v1/; it takes no query or fragment";
  return undefined;
}
