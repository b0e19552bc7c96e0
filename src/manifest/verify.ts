// Checks that the files a manifest vouches for are still what it says: present, regular files
// inside the output folder, with the recorded size and sha256. Used by `status --verify`, and
// usable by anything that must not trust a folder it did not just write.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat } from "node:fs/promises";
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

export async function verifyOutputs(outputDir: string, manifest: Manifest): Promise<VerifyResult> {
  const problems: OutputProblem[] = [];
  let checked = 0;
  for (const task of [...manifest.tasks, ...manifest.orphans]) {
    if (task.status !== "SUCCEEDED") continue;
    for (const output of task.outputs) {
      checked += 1;
      const problem = await checkOutput(outputDir, output);
      if (problem !== null) problems.push({ key: task.key, file: output.file, problem });
    }
  }
  return { checked, problems };
}

/** What is wrong with one recorded output file, or null when it matches. */
export async function checkOutput(outputDir: string, output: ManifestOutput): Promise<string | null> {
  const root = resolve(outputDir);
  const path = resolve(root, output.file);
  const inside = relative(root, path);
  if (inside === "" || inside.startsWith(`..${sep}`) || inside === ".." || isAbsolute(inside))
    return "the recorded path leaves the output folder";
  let stats;
  try {
    stats = await lstat(path);
  } catch (error) {
    if (hasErrnoCode(error, "ENOENT", "ENOTDIR")) return "missing";
    throw error;
  }
  if (stats.isSymbolicLink()) return "is a symbolic link, not the downloaded file";
  if (!stats.isFile()) return "is not a regular file";
  if (stats.size !== output.bytes) return `has ${stats.size} bytes, the manifest says ${output.bytes}`;
  const digest = await sha256OfFile(path);
  if (digest !== output.sha256)
    return `content changed (sha256 ${digest.slice(0, 12)}…, the manifest says ${output.sha256.slice(0, 12)}…)`;
  return null;
}

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
