// Local files on the wire. Request bodies name a local file by its placeholder URI (local:sha256:...,
// see src/job/read-local-files.ts); at each create the placeholder becomes what the service can fetch: a
// data: URI while the file is small enough, else (provider runway) the runway:// URI of an upload made
// once and reused. The journal, the manifest and the task key keep the placeholder.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import type { ApiClient, CreateOutcome } from "../api/types.js";
import { ExitCode, UserError } from "../errors.js";
import {
  routeLocalFile,
  sniffMediaType,
  toDataUri,
  type LocalRoute,
} from "../preflight/check-local-files.js";
import { uploadOnce, UploadError, type UploadOptions } from "../preflight/upload-cache.js";
import { isLocalUri } from "../job/read-local-files.js";
import type { LocalFile, ProviderName, RequestBody } from "../job/types.js";

export interface LocalFileSenderOptions {
  provider: ProviderName;
  /** Runway's uploads endpoint (the run's API base URL) and the key, for files too large to inline. */
  upload: UploadOptions;
  /** <out>/.actbatch/uploads.json: uploads reused across runs while they are valid. */
  uploadCacheFile: string;
  /** Injected for tests: epoch ms. */
  clock?: () => number;
}

/** How long a resolved runway:// URI is handed out before uploadOnce is asked again (it lives 24 h). */
const UPLOAD_REFRESH_MS = 6 * 3600_000;

/** Resolves placeholders to wire URIs, each file once (memoised), checking its content still matches. */
export class LocalFileSender {
  readonly #files: Map<string, LocalFile>;
  readonly #resolved = new Map<string, { uri: Promise<string>; at: number; expires: boolean }>();
  readonly #options: LocalFileSenderOptions;

  constructor(files: readonly LocalFile[], options: LocalFileSenderOptions) {
    this.#files = new Map(files.map((file) => [file.uri, file]));
    this.#options = options;
  }

  /**
   * Resolves every local file these bodies use, before the first create: a file that cannot be sent
   * stops the run with a UserError before anything is spent.
   */
  async prepare(bodies: readonly RequestBody[]): Promise<void> {
    const uris = new Set<string>();
    for (const body of bodies)
      for (const uri of [body.character.uri, body.reference.uri]) if (isLocalUri(uri)) uris.add(uri);
    await Promise.all([...uris].map((uri) => this.#wireUri(uri)));
  }

  /** The body as the service must receive it. */
  async toWire(body: RequestBody): Promise<RequestBody> {
    const characterLocal = isLocalUri(body.character.uri);
    const referenceLocal = isLocalUri(body.reference.uri);
    if (!characterLocal && !referenceLocal) return body;
    return {
      ...body,
      character: characterLocal
        ? { type: body.character.type, uri: await this.#wireUri(body.character.uri) }
        : body.character,
      reference: referenceLocal
        ? { type: "video", uri: await this.#wireUri(body.reference.uri) }
        : body.reference,
    };
  }

  #wireUri(placeholder: string): Promise<string> {
    const now = (this.#options.clock ?? Date.now)();
    const known = this.#resolved.get(placeholder);
    if (known !== undefined && !(known.expires && now - known.at > UPLOAD_REFRESH_MS)) return known.uri;
    const file = this.#files.get(placeholder);
    if (file === undefined)
      return Promise.reject(new UserError(`${placeholder} names no local file of this job`, ExitCode.usage));
    const route = routeLocalFile(this.#options.provider, file.type, file.size);
    const uri = this.#send(file, route);
    // A failed resolution is not remembered: the next create tries again (an upload can be transient).
    uri.catch(() => this.#resolved.delete(placeholder));
    this.#resolved.set(placeholder, { uri, at: now, expires: route.kind === "upload" });
    return uri;
  }

  async #send(file: LocalFile, route: LocalRoute): Promise<string> {
    const where = `${file.written} (${file.type})`;
    if (route.kind === "refused") throw new UserError(`${where}: ${route.message}`, ExitCode.usage);
    let bytes: Buffer;
    try {
      bytes = await readFile(file.path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new UserError(`${where}: cannot read it (${code ?? String(error)})`, ExitCode.usage);
    }
    // What is sent must be what the task keys were made from: an edited file is another render.
    if (createHash("sha256").update(bytes).digest("hex") !== file.sha256)
      throw new UserError(
        `${where} changed since the job file was loaded; run again to plan it with its new content`,
        ExitCode.usage,
      );
    const mediaType = sniffMediaType(bytes.subarray(0, 16));
    if (mediaType === null || !mediaType.startsWith(`${file.type}/`))
      throw new UserError(
        `${where}: not ${file.type === "image" ? "an image (PNG, JPEG, WebP)" : "a video (MP4, MOV)"} actbatch can send`,
        ExitCode.usage,
      );
    if (route.kind === "data-uri") return toDataUri(bytes, mediaType);
    try {
      const { runwayUri } = await uploadOnce(
        { filename: basename(file.path), contentType: mediaType, bytes },
        {
          ...this.#options.upload,
          cacheFile: this.#options.uploadCacheFile,
          now: (this.#options.clock ?? Date.now)(),
        },
      );
      return runwayUri;
    } catch (error) {
      // The upload's answer is quoted, already redacted by the API client (a service may echo the key).
      if (error instanceof UploadError)
        throw new UserError(`${where}: upload failed: ${error.message}`, ExitCode.taskFailed);
      throw error;
    }
  }
}

/**
 * The API client as the engine sees it: creates go out with wire URIs. A file that cannot be sent
 * during the run (deleted or edited meanwhile, an upload failing) fails that create before anything
 * leaves, as a rejection that names the file.
 */
export function sendingLocalFiles(api: ApiClient, sender: LocalFileSender): ApiClient {
  return {
    async createTask(body, signal): Promise<CreateOutcome> {
      let wire: RequestBody;
      try {
        wire = await sender.toWire(body);
      } catch (error) {
        if (!(error instanceof UserError)) throw error;
        return { kind: "rejected", status: 0, code: "LOCAL_FILE", message: error.message };
      }
      return api.createTask(wire, signal);
    },
    getTask: (taskId, createdAtMs, signal) => api.getTask(taskId, createdAtMs, signal),
    cancelTask: (taskId) => api.cancelTask(taskId),
    openDownload: (url, offset, signal) => api.openDownload(url, offset, signal),
    getOrganization: (model, signal) => api.getOrganization(model, signal),
    uploadEphemeral: (file, signal) => api.uploadEphemeral(file, signal),
    counts: () => api.counts(),
    close: () => api.close(),
  };
}
