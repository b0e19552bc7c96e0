// Assets written as `path: ./clips/take1.mp4`: each file is read once at load time and named in the
// request bodies by a placeholder URI made of its content hash. Task keys then follow what the file
// holds (an edited clip is a new render; a moved or renamed one is not), and the journal and the
// manifest never carry megabytes of data: URI. The run swaps the real URI in at each create.
import { createHash } from "node:crypto";
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { resolve as resolvePath } from "node:path";
import { diagnosticAt } from "./diagnostics.js";
import type { Locator } from "./locator.js";
import { pointerSegment } from "./read-yaml.js";
import type { AssetSpec, Diagnostic, JobFile, LocalFile, MediaSpec, PairSpec } from "./types.js";
import { describeFsError } from "../fs/errno.js";

export const LOCAL_URI_PREFIX = "local:sha256:";

export function isLocalUri(uri: string): boolean {
  return uri.startsWith(LOCAL_URI_PREFIX);
}

export interface FileFingerprint {
  size: number;
  sha256: string;
}

/** Reads a file through once, in 1 MiB chunks: its size and sha256. Throws the fs error. */
export function fingerprintFile(path: string): FileFingerprint {
  const fd = openSync(path, "r");
  try {
    if (fstatSync(fd).isDirectory()) throw Object.assign(new Error("is a directory"), { code: "EISDIR" });
    const hash = createHash("sha256");
    const chunk = Buffer.allocUnsafe(1024 * 1024);
    let size = 0;
    for (;;) {
      const read = readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) break;
      hash.update(chunk.subarray(0, read));
      size += read;
    }
    return { size, sha256: hash.digest("hex") };
  } finally {
    closeSync(fd);
  }
}

export interface LocalizedJob {
  /** The job with every `path` replaced by its placeholder `uri`. */
  job: JobFile;
  files: LocalFile[];
  errors: Diagnostic[];
}

/**
 * Replaces every local file of the job (named assets and inline pair media) by its placeholder URI.
 * Assumes the rules passed (each media has exactly one of uri and path). `folderOf` gives the
 * folder a path at a pointer is relative to: that of the file where it is written.
 */
export function localizeJob(
  job: JobFile,
  source: Locator,
  folderOf: (pointer: string) => string,
  fingerprint: (path: string) => FileFingerprint = fingerprintFile,
): LocalizedJob {
  const files = new Map<string, LocalFile>();
  const errors: Diagnostic[] = [];
  const localize = <T extends MediaSpec>(media: T, pointer: string): T => {
    if (media.path === undefined) return media;
    const path = resolvePath(folderOf(`${pointer}/path`), media.path);
    let print: FileFingerprint;
    try {
      print = fingerprint(path);
    } catch (error) {
      errors.push(
        diagnosticAt(
          source.locate(`${pointer}/path`),
          `cannot read ${media.path}: ${describeFsError(error)}`,
        ),
      );
      return media;
    }
    const uri = `${LOCAL_URI_PREFIX}${print.sha256}`;
    if (!files.has(`${media.type} ${uri}`))
      files.set(`${media.type} ${uri}`, { uri, type: media.type, path, written: media.path, ...print });
    const localized: T = { ...media, uri };
    delete localized.path;
    return localized;
  };

  let assets: Record<string, AssetSpec> | undefined;
  if (job.assets !== undefined) {
    assets = {};
    for (const [name, asset] of Object.entries(job.assets))
      assets[name] = localize(asset, `/assets/${pointerSegment(name)}`);
  }
  const pairs = job.pairs.map((pair, index): PairSpec => {
    const character =
      typeof pair.character === "string"
        ? pair.character
        : localize(pair.character, `/pairs/${index}/character`);
    const reference =
      typeof pair.reference === "string"
        ? pair.reference
        : localize(pair.reference, `/pairs/${index}/reference`);
    return character === pair.character && reference === pair.reference
      ? pair
      : { ...pair, character, reference };
  });
  return {
    job: { ...job, ...(assets !== undefined && { assets }), pairs },
    files: [...files.values()],
    errors,
  };
}
