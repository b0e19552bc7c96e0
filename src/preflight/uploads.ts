// Runway's uploads flow, for local files with provider runway: POST /v1/uploads, then the file as
// a multipart POST to the returned upload URL (fields first, then file; no API key there: that URL
// is another origin), giving a runway:// URI valid for 24 h. Uploads are remembered by content
// hash in <out>/.actbatch/uploads.json and reused while they have more than an hour left.
import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { Agent } from "undici";
import { urlProblem } from "../api/url-policy.js";
import { writeFileAtomic } from "../fs/atomic-write.js";

export const UPLOAD_LIFETIME_MS = 24 * 3600_000;
/** An upload this close to expiring is made again rather than handed to a task that may queue. */
const REUSE_MARGIN_MS = 3600_000;

export interface UploadOptions {
  /** Everything before /v1/ (Runway's API). */
  baseUrl: string;
  apiKey: string;
  runwayVersion?: string;
  timeoutMs?: number;
}

export interface UploadFile {
  filename: string;
  contentType: string;
  bytes: Uint8Array;
}

export class UploadError extends Error {
  override readonly name = "UploadError";
}

/** Uploads one file; returns its runway:// URI. */
export async function uploadEphemeral(file: UploadFile, options: UploadOptions): Promise<string> {
  const base = new URL(options.baseUrl);
  const problem = urlProblem(base);
  if (problem !== null) throw new UploadError(`base URL: ${problem}`);
  const timeout = options.timeoutMs ?? 60_000;
  const agent = new Agent({ connectTimeout: timeout, headersTimeout: timeout, bodyTimeout: timeout });
  try {
    const created = await agent.request({
      origin: base.origin,
      path: `${base.pathname.replace(/\/+$/, "")}/v1/uploads`,
      method: "POST",
      headers: {
        authorization: `Bearer ${options.apiKey}`,
        "x-runway-version": options.runwayVersion ?? "2024-11-06",
        "content-type": "application/json",
      },
      body: JSON.stringify({ filename: file.filename, type: "ephemeral" }),
    });
    const text = await created.body.text();
    if (created.statusCode !== 200)
      throw new UploadError(`POST /v1/uploads answered ${created.statusCode}: ${text.slice(0, 200)}`);
    const answer = JSON.parse(text) as { uploadUrl?: unknown; fields?: unknown; runwayUri?: unknown };
    if (typeof answer.uploadUrl !== "string" || typeof answer.runwayUri !== "string")
      throw new UploadError("POST /v1/uploads answered without uploadUrl and runwayUri");
    const target = new URL(answer.uploadUrl);
    const targetProblem = urlProblem(target);
    if (targetProblem !== null) throw new UploadError(`upload URL: ${targetProblem}`);
    const fields = (
      typeof answer.fields === "object" && answer.fields !== null ? answer.fields : {}
    ) as Record<string, unknown>;
    const { body, contentType } = multipart(fields, file);
    const sent = await agent.request({
      origin: target.origin,
      path: `${target.pathname}${target.search}`,
      method: "POST",
      headers: { "content-type": contentType, "content-length": String(body.length) },
      body,
    });
    const reply = await sent.body.text();
    if (sent.statusCode < 200 || sent.statusCode >= 300)
      throw new UploadError(`the upload URL answered ${sent.statusCode}: ${reply.slice(0, 200)}`);
    return answer.runwayUri;
  } finally {
    await agent.close();
  }
}

interface UploadCacheFile {
  version: 1;
  uploads: Record<string, { runwayUri: string; uploadedAt: number }>;
}

/**
 * The runway:// URI of this content: reused from `cacheFile` while it has more than an hour to
 * live, else uploaded (and remembered). `now` is epoch ms.
 */
export async function uploadOnce(
  file: UploadFile,
  options: UploadOptions & { cacheFile: string; now?: number },
): Promise<{ runwayUri: string; reused: boolean }> {
  const now = options.now ?? Date.now();
  const sha256 = createHash("sha256").update(file.bytes).digest("hex");
  const cache = await readUploadCache(options.cacheFile);
  const known = cache.uploads[sha256];
  if (known !== undefined && now - known.uploadedAt < UPLOAD_LIFETIME_MS - REUSE_MARGIN_MS)
    return { runwayUri: known.runwayUri, reused: true };
  const runwayUri = await uploadEphemeral(file, options);
  cache.uploads[sha256] = { runwayUri, uploadedAt: now };
  await mkdir(dirname(options.cacheFile), { recursive: true });
  await writeFileAtomic(options.cacheFile, `${JSON.stringify(cache, null, 2)}\n`);
  return { runwayUri, reused: false };
}

async function readUploadCache(file: string): Promise<UploadCacheFile> {
  try {
    const parsed = JSON.parse(await readFile(file, "utf8")) as Partial<UploadCacheFile>;
    if (parsed.version === 1 && typeof parsed.uploads === "object" && parsed.uploads !== null)
      return { version: 1, uploads: parsed.uploads };
  } catch {
    // missing or malformed: nothing to reuse
  }
  return { version: 1, uploads: {} };
}

/** multipart/form-data, every field first and the file last, as S3's POST policy requires. */
function multipart(fields: Record<string, unknown>, file: UploadFile): { body: Buffer; contentType: string } {
  const boundary = `actbatch-${randomBytes(12).toString("hex")}`;
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(fields)) {
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${escapeName(name)}"\r\n\r\n${String(value)}\r\n`,
      ),
    );
  }
  parts.push(
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${escapeName(file.filename)}"\r\n` +
        `Content-Type: ${file.contentType}\r\n\r\n`,
    ),
    Buffer.from(file.bytes),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  );
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

function escapeName(name: string): string {
  return name.replace(/["\r\n]/g, "_");
}
