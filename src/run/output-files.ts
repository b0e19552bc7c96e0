// Where outputs live, and whether the files a journal recorded are still the files it recorded.
import { mkdir, realpath } from "node:fs/promises";
import { dirname, isAbsolute, join, posix, relative, sep } from "node:path";
import { hasErrnoCode } from "../fs/errno.js";
import { checkOutput } from "../manifest/verify.js";
import { lastAttempt, type JournalFold } from "../journal/fold.js";
import { HashCache } from "./hash-cache.js";

/**
 * The file name of a task's output number `index`. Act-Two returns one output; should the service
 * return more, the extra ones get a numbered suffix before the extension ("a.mp4", "a-2.mp4", ...).
 */
export function outputFileName(planned: string, index: number): string {
  if (index === 0) return planned;
  const ext = posix.extname(planned);
  return `${planned.slice(0, planned.length - ext.length)}-${index + 1}${ext}`;
}

/** A path recorded in the journal, resolved under the output folder; null if it could point outside. */
export function resolveRecordedFile(outputDir: string, file: string): string | null {
  if (file === "" || isAbsolute(file) || file.includes("\0") || file.split(/[\\/]/).includes(".."))
    return null;
  return join(outputDir, ...file.split("/"));
}

/**
 * Creates the folder an output goes in, after checking that its real path is inside the output
 * folder's: a symlinked sub-folder (a committed output folder keeps them, a shared workspace can
 * plant one) must not lead a write out of the output folder. Returns null when the folder is ready,
 * else why the output may not be written there.
 */
export async function prepareOutputFolder(
  outputDir: string,
  finalPath: string,
  /** The output folder's real path, when the caller already has it (one lookup per run, not per file). */
  knownRoot?: string,
): Promise<string | null> {
  const root = knownRoot ?? (await realpath(outputDir));
  const folder = dirname(finalPath);
  // The deepest part that exists decides where the rest would be created: check it before mkdir,
  // which would follow a symlink and create folders outside.
  let existing = folder;
  for (;;) {
    try {
      const real = await realpath(existing);
      if (!isInside(root, real)) return escapes(outputDir, finalPath, existing, real);
      // The folder itself is there and inside: nothing to create, nothing new to check.
      if (existing === folder) return null;
      break;
    } catch (error) {
      if (!hasErrnoCode(error, "ENOENT", "ENOTDIR")) throw error;
      const parent = dirname(existing);
      if (parent === existing) break;
      existing = parent;
    }
  }
  await mkdir(folder, { recursive: true });
  // Checked again once created: a symlink planted meanwhile is caught here too.
  const real = await realpath(folder);
  if (!isInside(root, real)) return escapes(outputDir, finalPath, folder, real);
  return null;
}

function isInside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

function escapes(outputDir: string, finalPath: string, through: string, real: string): string {
  return `OUTPUT_PATH_ESCAPES: ${relative(outputDir, finalPath)} would be written outside the output folder: ${relative(outputDir, through) || "."} leads to ${real} through a symbolic link; nothing was written there`;
}

/** Indexes of the recorded outputs whose files are intact (see checkOutput). */
export async function verifyRecordedOutputs(
  outputDir: string,
  outputs: readonly { index: number; file: string; bytes: number; sha256: string }[],
  cache?: HashCache,
): Promise<Set<number>> {
  const verified = new Set<number>();
  for (const output of outputs)
    if (resolveRecordedFile(outputDir, output.file) && (await checkOutput(outputDir, output, cache)) === null)
      verified.add(output.index);
  return verified;
}

/** Output files hashed at once when a run starts. */
const VERIFY_CONCURRENCY = 4;

/**
 * Checks every recorded output of the succeeded keys of a fold (a few at a time: it is disk-bound),
 * hashing only the files changed since they were last hashed (hash-cache.ts, saved for next time).
 * Returns, per key, the indexes of its outputs that are intact.
 */
export async function verifySucceededOutputs(
  outputDir: string,
  fold: JournalFold,
): Promise<Map<string, Set<number>>> {
  const pending = [...fold.values()].filter((state) => {
    const last = lastAttempt(state);
    return last?.terminal?.status === "SUCCEEDED" && last.outputs.length > 0;
  });
  const cache = await HashCache.open(outputDir);
  const verified = new Map<string, Set<number>>();
  const worker = async (): Promise<void> => {
    for (let state = pending.pop(); state; state = pending.pop())
      verified.set(
        state.key,
        await verifyRecordedOutputs(outputDir, lastAttempt(state)?.outputs ?? [], cache),
      );
  };
  await Promise.all(Array.from({ length: VERIFY_CONCURRENCY }, worker));
  // Only saves work next time: a cache that cannot be written means hashing again, nothing worse.
  await cache.save().catch(() => undefined);
  return verified;
}
