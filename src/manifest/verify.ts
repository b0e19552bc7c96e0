// Checks that the files a manifest vouches for are still what it says: present, regular files
// inside the output folder, with the recorded size and sha256. Used by `status --verify`, and
// usable by anything that must not trust a folder it did not just write.
import { createHash } from "node:crypto";
import { createReadStream, lstatSync } from "node:fs";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { hasErrnoCode } from "../fs/errno.js";
import type { Manifest, ManifestOutput } from "./types.js";

export interface OutputProblem {
  key: string;
  file: string;
  problem: string;
}

export interface VerifyResult {
  /** Output files checked (those of SUCCEEDED tasks, orphans included). */
  checked: number;
  problems: OutputProblem[];
}

/** The fields of a file's stat that any change to its content moves. */
export interface FileStamp {
  size: number;
  mtimeNs: string;
  ctimeNs: string;
  ino: string;
}

/**
 * What is known of files hashed before (the run's hash cache, `.actbatch/hashes.json`): a file whose
 * stamp is unchanged since it was hashed is not read again. Without one, every file is hashed.
 */
export interface StampCache {
  holds(file: string, stamp: FileStamp, sha256: string): boolean;
  remember(file: string, stamp: FileStamp, sha256: string): void;
  forget(file: string): void;
}

export async function verifyOutputs(
  outputDir: string,
  manifest: Manifest,
  cache?: StampCache,
): Promise<VerifyResult> {
  const problems: OutputProblem[] = [];
  let checked = 0;
  for (const task of [...manifest.tasks, ...manifest.orphans]) {
    if (task.status !== "SUCCEEDED") continue;
    for (const output of task.outputs) {
      checked += 1;
      const problem = await checkOutput(outputDir, output, cache);
      if (problem !== null) problems.push({ key: task.key, file: output.file, problem });
    }
  }
  return { checked, problems };
}

/**
 * What is wrong with one recorded output file, or null when it matches: a regular file (not a
 * symbolic link) inside the output folder, with the recorded size and sha256. The one test of "this
 * output is intact", shared by runs (what to skip), `status` and `merge`.
 */
export async function checkOutput(
  outputDir: string,
  output: Pick<ManifestOutput, "file" | "bytes" | "sha256">,
  cache?: StampCache,
): Promise<string | null> {
  const root = resolve(outputDir);
  const path = resolve(root, output.file);
  const inside = relative(root, path);
  if (inside === "" || inside.startsWith(`..${sep}`) || inside === ".." || isAbsolute(inside))
    return "the recorded path leaves the output folder";
  let stats;
  try {
    // Taken before reading: a write during the hashing moves the change time past this stamp. Sync:
    // a metadata lookup costs less than the hop to the thread pool, and a rerun makes one per output.
    stats = lstatSync(path, { bigint: true });
  } catch (error) {
    if (hasErrnoCode(error, "ENOENT", "ENOTDIR")) return "missing";
    throw error;
  }
  if (stats.isSymbolicLink()) return "is a symbolic link, not the downloaded file";
  if (!stats.isFile()) return "is not a regular file";
  if (stats.size !== BigInt(output.bytes))
    return `has ${stats.size} bytes, the manifest says ${output.bytes}`;
  const stamp: FileStamp = {
    size: output.bytes,
    mtimeNs: String(stats.mtimeNs),
    ctimeNs: String(stats.ctimeNs),
    ino: String(stats.ino),
  };
  if (cache?.holds(output.file, stamp, output.sha256)) return null;
  let digest: string;
  try {
    digest = await sha256OfFile(path);
  } catch (error) {
    return `cannot be read (${error instanceof Error ? error.message : String(error)})`;
  }
  if (digest !== output.sha256) {
    cache?.forget(output.file);
    return `content changed (sha256 ${digest.slice(0, 12)}…, the manifest says ${output.sha256.slice(0, 12)}…)`;
  }
  cache?.remember(output.file, stamp, output.sha256);
  return null;
}

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
