// Runway's uploads, for local files with provider runway. The wire (POST /v1/uploads, then the file
// as a multipart POST to the returned upload URL, with no API key there: that URL is another origin)
// is the API port's (ApiClient.uploadEphemeral), giving a runway:// URI valid for 24 h. Uploads are
// remembered here by content hash in <out>/.actbatch/uploads.json and reused while they have more
// than an hour left.
import { createHash } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { ApiClient, UploadFile } from "../api/types.js";
import { writeFileAtomic } from "../fs/atomic-write.js";

export type { UploadFile } from "../api/types.js";

export const UPLOAD_LIFETIME_MS = 24 * 3600_000;
/** An upload this close to expiring is made again rather than handed to a task that may queue. */
const REUSE_MARGIN_MS = 3600_000;

export interface UploadOptions {
  /** The run's API client: its uploads go through the same transport, retries and redaction. */
  api: Pick<ApiClient, "uploadEphemeral">;
}

/** An upload the service refused or that got no answer; its message is already redacted. */
export class UploadError extends Error {
  override readonly name = "UploadError";
}

/** Uploads one file; returns its runway:// URI. */
export async function uploadEphemeral(file: UploadFile, options: UploadOptions): Promise<string> {
  const outcome = await options.api.uploadEphemeral(file);
  if (outcome.kind === "error") throw new UploadError(outcome.message);
  return outcome.runwayUri;
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
