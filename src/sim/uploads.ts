// Runway's uploads flow (research/runway-api.md, "Uploads"): POST /v1/uploads {filename, type:
// "ephemeral"} answers {uploadUrl, fields, runwayUri}; the file then goes to uploadUrl as a
// multipart POST (every field first, then `file`), as to S3; the runway:// URI is valid for 24 h
// (scaled by speed) and only once the file arrived. URIs this simulator did not issue stay accepted.
import { createHash } from "node:crypto";
import { parseMp4 } from "../media/mp4.js";
import { UPLOAD_BYTES } from "../service-limits.js";

export const MIN_UPLOAD_BYTES = UPLOAD_BYTES.min;
export const MAX_UPLOAD_BYTES = UPLOAD_BYTES.max;
const RUNWAY_URI_PREFIX = "runway://sim-uploads/";

interface Upload {
  id: string;
  filename: string;
  createdAt: number;
  uploadedAt: number | null;
  bytes: number;
  sha256: string;
  policy: string;
  /** Seconds, when the file is an MP4 whose header says. */
  durationSec: number | null;
}

export interface IssuedUpload {
  uploadUrl: string;
  fields: Record<string, string>;
  runwayUri: string;
}

export class UploadStore {
  private readonly uploads = new Map<string, Upload>();
  private counter = 0;

  constructor(private readonly lifetimeMs: () => number) {}

  /** null and a message when the request body is not what the API takes. */
  issue(body: unknown, origin: string, now: number): IssuedUpload | string {
    const record = body as { filename?: unknown; type?: unknown } | null;
    if (record === null || typeof record !== "object") return "Invalid input: expected object";
    if (typeof record.filename !== "string" || record.filename === "" || record.filename.length > 255)
      return "filename: Invalid input: expected a file name";
    if (record.type !== "ephemeral") return 'type: Invalid input: expected "ephemeral"';
    const id = createHash("sha256")
      .update(`${now}:${++this.counter}:${record.filename}`)
      .digest("hex")
      .slice(0, 24);
    const policy = Buffer.from(JSON.stringify({ id, expires: now + this.lifetimeMs() })).toString("base64");
    this.uploads.set(id, {
      id,
      filename: record.filename,
      createdAt: now,
      uploadedAt: null,
      bytes: 0,
      sha256: "",
      policy,
      durationSec: null,
    });
    return {
      uploadUrl: `${origin}/__uploads/${id}`,
      fields: { key: `uploads/${id}/${record.filename}`, policy, "Content-Type": "application/octet-stream" },
      runwayUri: `${RUNWAY_URI_PREFIX}${id}`,
    };
  }

  /** The multipart POST to uploadUrl: an HTTP status and, on failure, an S3-like reason. */
  receive(
    id: string,
    contentType: string | undefined,
    body: Buffer,
    now: number,
  ): { status: number; reason?: string } {
    const upload = this.uploads.get(id);
    if (upload === undefined) return { status: 404, reason: "NoSuchUpload" };
    if (now - upload.createdAt > this.lifetimeMs()) return { status: 403, reason: "Policy expired" };
    const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? "");
    const marker = boundary?.[1] ?? boundary?.[2];
    if (marker === undefined) return { status: 400, reason: "expected multipart/form-data" };
    const parts = splitMultipart(body, marker);
    const names = parts.map((part) => part.name);
    const file = parts.at(-1);
    if (file === undefined || file.name !== "file")
      return { status: 400, reason: "the last part must be file" };
    if (!names.includes("key") || !names.includes("policy") || names.indexOf("file") !== names.length - 1)
      return { status: 400, reason: "every field must come before file" };
    if (parts.find((part) => part.name === "policy")?.data.toString() !== upload.policy)
      return { status: 403, reason: "Invalid policy" };
    if (file.data.length < MIN_UPLOAD_BYTES || file.data.length > MAX_UPLOAD_BYTES)
      return { status: 400, reason: `EntityTooSmall or EntityTooLarge (${file.data.length} bytes)` };
    upload.uploadedAt = now;
    upload.bytes = file.data.length;
    upload.sha256 = createHash("sha256").update(file.data).digest("hex");
    try {
      upload.durationSec = parseMp4(file.data).durationSec;
    } catch {
      upload.durationSec = null;
    }
    return { status: 204 };
  }

  /** Why a create may not use this runway:// URI, or null. */
  problem(uri: string, now: number): string | null {
    if (!uri.startsWith(RUNWAY_URI_PREFIX)) return null;
    const upload = this.uploads.get(uri.slice(RUNWAY_URI_PREFIX.length));
    if (upload === undefined || upload.uploadedAt === null) return "Invalid URL: no such upload";
    if (now - upload.createdAt > this.lifetimeMs()) return "Invalid URL: the upload has expired";
    return null;
  }

  /** How long an uploaded video lasts, when its header says. */
  durationOf(uri: string): number | null {
    if (!uri.startsWith(RUNWAY_URI_PREFIX)) return null;
    return this.uploads.get(uri.slice(RUNWAY_URI_PREFIX.length))?.durationSec ?? null;
  }

  /** What arrived, by runway:// URI (tests compare sizes and digests). */
  list(): { runwayUri: string; filename: string; bytes: number; sha256: string; uploaded: boolean }[] {
    return [...this.uploads.values()].map((upload) => ({
      runwayUri: `${RUNWAY_URI_PREFIX}${upload.id}`,
      filename: upload.filename,
      bytes: upload.bytes,
      sha256: upload.sha256,
      uploaded: upload.uploadedAt !== null,
    }));
  }
}

function splitMultipart(body: Buffer, boundary: string): { name: string; data: Buffer }[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: { name: string; data: Buffer }[] = [];
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const start = at + delimiter.length;
    if (body.subarray(start, start + 2).toString() === "--") break;
    const next = body.indexOf(delimiter, start);
    if (next < 0) break;
    const part = body.subarray(start + 2, next - 2); // after CRLF, before the CRLF ahead of the delimiter
    const headerEnd = part.indexOf("\r\n\r\n");
    if (headerEnd >= 0) {
      const headers = part.subarray(0, headerEnd).toString("utf8");
      const name = /name="([^"]*)"/i.exec(headers)?.[1] ?? "";
      parts.push({ name, data: part.subarray(headerEnd + 4) });
    }
    at = next;
  }
  return parts;
}
