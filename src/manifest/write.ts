// Writing manifest.json: atomic, checked against the schema first, and left untouched when it already
// holds the same bytes.
import { mkdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { identityOf, removeAtomicLeftovers, writeFileAtomic, type FileIdentity } from "../fs/atomic-write.js";
import { fileHolds } from "../fs/file-holds.js";
import { MANIFEST_FILE } from "./path.js";
import { serializeChecked } from "./serialise.js";
import type { Manifest } from "./types.js";

/**
 * Writes `<outputDir>/manifest.json` atomically and returns its path. When the file already
 * holds exactly these bytes it is left untouched (mtime included), so rerunning a finished job
 * changes nothing on disk. A manifest that fails its own schema is a bug and is not written.
 */
export async function writeManifest(outputDir: string, manifest: Manifest): Promise<string> {
  await writeManifestBytes(outputDir, [Buffer.from(serializeChecked(manifest), "utf8")]);
  return join(outputDir, MANIFEST_FILE);
}

/**
 * Writes manifest.json unless it already holds exactly these bytes (then `checkFirst` is not needed:
 * those bytes were checked when they were written); returns the file's identity, for the next checkpoint.
 */
export async function writeManifestBytes(
  outputDir: string,
  chunks: readonly Uint8Array[],
  checkFirst: () => void = () => undefined,
): Promise<FileIdentity> {
  const path = join(outputDir, MANIFEST_FILE);
  let identity: FileIdentity;
  if (await fileHolds(path, chunks)) identity = identityOf(await stat(path));
  else {
    checkFirst();
    await mkdir(outputDir, { recursive: true });
    identity = await writeFileAtomic(path, chunks, { crashPointName: "mid-manifest" });
  }
  await removeAtomicLeftovers(path);
  return identity;
}
