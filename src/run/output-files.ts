// Where outputs live, and whether the files a journal recorded are still the files it recorded.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { isAbsolute, join, posix } from "node:path";
import { JOURNAL_DIR } from "./journal-records.js";

/**
 * The file name of a task's output number `index`. Act-Two returns one output; should the service
 * return more, the extra ones get a numbered suffix before the extension ("a.mp4", "a-2.mp4", ...).
 */
export function outputFileName(planned: string, index: number): string {
  if (index === 0) return planned;
  const ext = posix.extname(planned);
  return `${planned.slice(0, planned.length - ext.length)}-${index + 1}${ext}`;
}

/**
 * The temporary file an output is streamed into: inside the output folder (same file system, so the
 * final rename is atomic), stable across runs so that an interrupted download can resume.
 */
export function partialPath(outputDir: string, key: string, index: number): string {
  return join(outputDir, JOURNAL_DIR, "partial", `${key}-${index}.part`);
}

/** A path recorded in the journal, resolved under the output folder; null if it could point outside. */
export function resolveRecordedFile(outputDir: string, file: string): string | null {
  if (file === "" || isAbsolute(file) || file.includes("\0") || file.split(/[\\/]/).includes(".."))
    return null;
  return join(outputDir, ...file.split("/"));
}

/** True when the file exists with exactly this size and sha256 (streamed: memory stays flat). */
export async function fileMatches(path: string, bytes: number, sha256: string): Promise<boolean> {
  try {
    const info = await stat(path);
    if (!info.isFile() || info.size !== bytes) return false;
  } catch {
    return false;
  }
  const hash = createHash("sha256");
  try {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  } catch {
    return false;
  }
  return hash.digest("hex") === sha256;
}

/** Indexes of the recorded outputs whose files are intact. */
export async function verifyRecordedOutputs(
  outputDir: string,
  outputs: readonly { index: number; file: string; bytes: number; sha256: string }[],
): Promise<Set<number>> {
  const verified = new Set<number>();
  for (const output of outputs) {
    const path = resolveRecordedFile(outputDir, output.file);
    if (path && (await fileMatches(path, output.bytes, output.sha256))) verified.add(output.index);
  }
  return verified;
}
