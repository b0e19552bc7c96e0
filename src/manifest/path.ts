// Where a manifest is: its file name in an output folder, and the file a command-line argument names.
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { hasErrnoCode } from "../fs/errno.js";

export const MANIFEST_FILE = "manifest.json";

/** Where the manifest of `pathOrDir` is: the folder's manifest.json, or the file itself. */
export async function resolveManifestPath(pathOrDir: string): Promise<string> {
  try {
    return (await stat(pathOrDir)).isDirectory() ? join(pathOrDir, MANIFEST_FILE) : pathOrDir;
  } catch (error) {
    if (hasErrnoCode(error, "ENOENT", "ENOTDIR"))
      return pathOrDir.endsWith(".json") ? pathOrDir : join(pathOrDir, MANIFEST_FILE);
    throw error;
  }
}
