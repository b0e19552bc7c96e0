// Validation of a create body, as Runway does it: every problem becomes a zod-style issue naming
// its field. Asset URIs cannot be fetched here, so a URI can carry test hooks in its query string:
//   simDuration=N      the asset lasts N seconds (reference must be 3-30 s; cost is 5 credits/s)
//   simFetchStatus=N   fetching the asset answers HTTP N (400 "Failed to fetch asset...")
//   simFail=CODE       (character uri) the task ends FAILED with CODE ("none": without a code)
//   simRenderMs=N      (character uri) the render takes N ms (before the speed divisor)
import { parseMp4 } from "../media/mp4.js";
import { RATIOS } from "../job/types.js";
import type { ValidationIssue } from "./wire.js";
import { MAX_DATA_URI_BYTES, REFERENCE_SECONDS } from "../service-limits.js";

export interface CreateHints {
  referenceSeconds: number;
  /** The reference's length was read from its own bytes (a data: URI or an upload), not assumed. */
  referenceFromBytes?: boolean;
  forcedFailure: string | null | undefined;
  forcedRenderMs: number | undefined;
}

export interface ValidationResult {
  issues: ValidationIssue[];
  hints: CreateHints;
}

const KNOWN_FIELDS = new Set([
  "model",
  "character",
  "reference",
  "ratio",
  "bodyControl",
  "expressionIntensity",
  "seed",
  "contentModeration",
]);

const MB = 1024 * 1024;
const DEFAULT_REFERENCE_SECONDS = 10;

export function validateCreateBody(body: unknown, ownOrigin: string, strict: boolean): ValidationResult {
  const issues: ValidationIssue[] = [];
  const hints: CreateHints = {
    referenceSeconds: DEFAULT_REFERENCE_SECONDS,
    forcedFailure: undefined,
    forcedRenderMs: undefined,
  };
  if (!isRecord(body)) {
    issues.push({
      code: "invalid_type",
      path: [],
      message: `Invalid input: expected object, received ${typeName(body)}`,
    });
    return { issues, hints };
  }
  if (body["model"] !== "act_two")
    issues.push(
      body["model"] === undefined
        ? missing(["model"], "string")
        : { code: "invalid_value", path: ["model"], message: 'Invalid input: expected "act_two"' },
    );
  checkMedia(body["character"], "character", ["image", "video"], ownOrigin, issues, hints);
  checkMedia(body["reference"], "reference", ["video"], ownOrigin, issues, hints);
  if (body["ratio"] !== undefined && !(RATIOS as readonly unknown[]).includes(body["ratio"]))
    issues.push({
      code: "invalid_value",
      path: ["ratio"],
      message: `Invalid option: expected one of ${RATIOS.map((r) => `'${r}'`).join("|")}`,
    });
  if (body["bodyControl"] !== undefined && typeof body["bodyControl"] !== "boolean")
    issues.push(wrongType(["bodyControl"], "boolean", body["bodyControl"]));
  checkInteger(body["expressionIntensity"], ["expressionIntensity"], 1, 5, issues);
  checkInteger(body["seed"], ["seed"], 0, 4294967295, issues);
  const moderation = body["contentModeration"];
  if (moderation !== undefined) {
    if (!isRecord(moderation)) issues.push(wrongType(["contentModeration"], "object", moderation));
    else if (
      moderation["publicFigureThreshold"] !== undefined &&
      moderation["publicFigureThreshold"] !== "auto" &&
      moderation["publicFigureThreshold"] !== "low"
    )
      issues.push({
        code: "invalid_value",
        path: ["contentModeration", "publicFigureThreshold"],
        message: "Invalid option: expected one of 'auto'|'low'",
      });
  }
  if (strict) {
    const unknown = Object.keys(body).filter((key) => !KNOWN_FIELDS.has(key));
    if (unknown.length > 0)
      issues.push({
        code: "unrecognized_keys",
        path: [],
        message: `Unrecognized key${unknown.length > 1 ? "s" : ""}: ${unknown.map((k) => `"${k}"`).join(", ")}`,
      });
  }
  return { issues, hints };
}

function checkMedia(
  value: unknown,
  field: "character" | "reference",
  types: string[],
  ownOrigin: string,
  issues: ValidationIssue[],
  hints: CreateHints,
): void {
  if (value === undefined) {
    issues.push(missing([field], "object"));
    return;
  }
  if (!isRecord(value)) {
    issues.push(wrongType([field], "object", value));
    return;
  }
  const type = value["type"];
  if (typeof type !== "string" || !types.includes(type))
    issues.push({
      code: "invalid_value",
      path: [field, "type"],
      message: `Invalid option: expected one of ${types.map((t) => `'${t}'`).join("|")}`,
    });
  const uri = value["uri"];
  if (typeof uri !== "string") {
    issues.push(
      uri === undefined ? missing([field, "uri"], "string") : wrongType([field, "uri"], "string", uri),
    );
    return;
  }
  const problem = checkUri(uri, typeof type === "string" ? type : "", ownOrigin);
  if (problem !== null) {
    issues.push({ code: "custom", path: [field, "uri"], message: problem });
    return;
  }
  if (field === "reference" && uri.startsWith("data:")) checkDataUriDuration(uri, issues, hints);
  applyHooks(uri, field, issues, hints);
}

/** A reference sent inline is measured as the service would: 3-30 s, read from its MP4 header. */
function checkDataUriDuration(uri: string, issues: ValidationIssue[], hints: CreateHints): void {
  let seconds: number;
  try {
    seconds = parseMp4(Buffer.from(uri.slice(uri.indexOf(",") + 1), "base64")).durationSec;
  } catch {
    issues.push({
      code: "custom",
      path: ["reference", "uri"],
      message: "Invalid video: cannot read its duration",
    });
    return;
  }
  checkReferenceSeconds(seconds, issues, hints);
  hints.referenceFromBytes = true;
}

/** Runway's 3-30 s rule for a reference; records the length for the cost and the render. */
export function checkReferenceSeconds(seconds: number, issues: ValidationIssue[], hints: CreateHints): void {
  if (seconds > REFERENCE_SECONDS.max)
    issues.push({
      code: "too_big",
      path: ["reference"],
      message: `Asset duration must be at most ${REFERENCE_SECONDS.max} seconds`,
    });
  else if (seconds < REFERENCE_SECONDS.min)
    issues.push({
      code: "too_small",
      path: ["reference"],
      message: `Asset duration must be at least ${REFERENCE_SECONDS.min} seconds`,
    });
  else hints.referenceSeconds = seconds;
}

/** Runway's URI rules; null when the URI is acceptable. */
function checkUri(uri: string, type: string, ownOrigin: string): string | null {
  if (uri.startsWith("data:")) {
    const match = /^data:([a-z]+)\/[-+.\w]+(?:;[^,;]+)*;base64,/i.exec(uri);
    if (!match) return "Invalid data URI";
    const mediaType = match[1]?.toLowerCase();
    if (mediaType !== type) return "Unsupported asset type";
    const bytes = Math.floor(((uri.length - match[0].length) * 3) / 4);
    const limit = type === "image" ? MAX_DATA_URI_BYTES.image : MAX_DATA_URI_BYTES.video;
    if (bytes > limit) return `Data URI assets must be at most ${limit / MB} MB`;
    return null;
  }
  if (uri.startsWith("runway://")) return uri.length > "runway://".length ? null : "Invalid URL";
  if (uri.length > 2048) return "URLs must be at most 2048 characters";
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return "Invalid URL";
  }
  if (url.origin === ownOrigin) return null;
  if (url.protocol !== "https:") return "Only HTTPS URLs are allowed";
  const host = url.hostname;
  if (/^\d{1,3}(?:\.\d{1,3}){3}$/.test(host) || host.startsWith("[") || !host.includes("."))
    return "URLs must be hosted on a domain";
  return null;
}

function applyHooks(
  uri: string,
  field: "character" | "reference",
  issues: ValidationIssue[],
  hints: CreateHints,
): void {
  const query = uri.indexOf("?");
  if (query < 0 || uri.startsWith("data:")) return;
  const params = new URLSearchParams(uri.slice(query + 1));
  const fetchStatus = params.get("simFetchStatus");
  if (fetchStatus !== null) {
    issues.push({
      code: "custom",
      path: [field, "uri"],
      message: `Failed to fetch asset. Received HTTP response code "${fetchStatus}"`,
    });
    return;
  }
  const duration = params.get("simDuration");
  if (duration !== null && Number.isFinite(Number(duration))) {
    const seconds = Number(duration);
    if (field === "reference") checkReferenceSeconds(seconds, issues, hints);
  }
  if (field === "character") {
    const fail = params.get("simFail");
    if (fail !== null) hints.forcedFailure = fail === "none" ? null : fail;
    const render = params.get("simRenderMs");
    if (render !== null && Number(render) >= 0) hints.forcedRenderMs = Number(render);
  }
}

function checkInteger(
  value: unknown,
  path: string[],
  min: number,
  max: number,
  issues: ValidationIssue[],
): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isFinite(value)) {
    issues.push(wrongType(path, "number", value));
  } else if (!Number.isInteger(value)) {
    issues.push({ code: "invalid_type", path, message: "Invalid input: expected int, received number" });
  } else if (value > max) {
    issues.push({ code: "too_big", path, message: `Too big: expected number to be <=${max}` });
  } else if (value < min) {
    issues.push({ code: "too_small", path, message: `Too small: expected number to be >=${min}` });
  }
}

function missing(path: string[], expected: string): ValidationIssue {
  return { code: "invalid_type", path, message: `Invalid input: expected ${expected}, received undefined` };
}

function wrongType(path: string[], expected: string, value: unknown): ValidationIssue {
  return {
    code: "invalid_type",
    path,
    message: `Invalid input: expected ${expected}, received ${typeName(value)}`,
  };
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
