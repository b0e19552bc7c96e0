// Atomic replace: write a temporary file beside the target, fsync it, rename it over the target,
// then fsync the directory so the rename itself survives a power loss (write-file-atomic stops
// one step short of that). A reader sees the old bytes or the new bytes, never a mixture, and a
// crash at any moment leaves at most a stray temporary file, never a partial target.
import { randomBytes } from "node:crypto";
import { open, readdir, rename, unlink, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { crashPoint, type CrashPoint } from "../crash-points.js";
import { fsyncDirectory, writeFully } from "./durable.js";
import { hasErrnoCode } from "./errno.js";
import { isProcessAlive } from "./process-alive.js";

export interface AtomicWriteOptions {
  /** Test-only: the named crash point reached when half of the data is in the temporary file. */
  crashPointName?: CrashPoint;
  /** File mode of a newly created file (before the umask). Default 0o666. */
  mode?: number;
}

const TEMP_SUFFIX = ".tmp";

/**
 * The temporary name used for `target`: hidden, in the same directory (rename is only atomic
 * within one file system), and unique per process and call so concurrent writers never share one.
 */
export function atomicTempPath(target: string): string {
  const unique = `${process.pid}.${randomBytes(6).toString("hex")}`;
  return join(dirname(target), `.${basename(target)}.${unique}${TEMP_SUFFIX}`);
}

/** True when `name` is a temporary file that writeFileAtomic made for a target named `targetName`. */
export function isAtomicTempName(name: string, targetName: string): boolean {
  const prefix = `.${targetName}.`;
  if (!name.startsWith(prefix) || !name.endsWith(TEMP_SUFFIX)) return false;
  return /^[0-9]+\.[0-9a-f]{12}$/.test(name.slice(prefix.length, -TEMP_SUFFIX.length));
}

/** The process id recorded in a temporary name, or null when the name is not one. */
export function atomicTempOwner(name: string, targetName: string): number | null {
  if (!isAtomicTempName(name, targetName)) return null;
  return Number(name.slice(targetName.length + 2).split(".")[0]);
}

/** Writes a file atomically; returns the identity of the file it wrote. */
export async function writeFileAtomic(
  path: string,
  /** The bytes, or the bytes in pieces (written in order, without joining them in memory first). */
  data: string | Uint8Array | readonly Uint8Array[],
  options: AtomicWriteOptions = {},
): Promise<FileIdentity> {
  const chunks =
    typeof data === "string" ? [Buffer.from(data, "utf8")] : data instanceof Uint8Array ? [data] : data;
  return writeFileAtomicWith(
    path,
    async (handle, half) => {
      const [first, second] = splitInHalf(chunks);
      await writeFully(handle, first);
      half();
      await writeFully(handle, second);
    },
    options,
  );
}

/** Which file a path named when it was written: a later look can tell whether it is still that file. */
export interface FileIdentity {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
}

/**
 * writeFileAtomic for bytes that `write` writes into the temporary file itself, calling `half` once
 * half of them are in (the crash point). Returns the identity of the file written.
 */
export async function writeFileAtomicWith(
  path: string,
  write: (handle: FileHandle, half: () => void) => Promise<void>,
  options: AtomicWriteOptions = {},
): Promise<FileIdentity> {
  const temp = atomicTempPath(path);
  let renamed = false;
  try {
    // "wx": never write through a file (or symlink) that happens to sit at the temporary name.
    const handle = await open(temp, "wx", options.mode ?? 0o666);
    let identity: FileIdentity;
    try {
      await write(handle, () => {
        if (options.crashPointName) crashPoint(options.crashPointName);
      });
      // Without this fsync a crash soon after the rename can leave a zero-length target.
      await handle.sync();
      identity = identityOf(await handle.stat());
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    renamed = true;
    await fsyncDirectory(dirname(path));
    return identity;
  } catch (error) {
    // Once renamed, the temporary name may already belong to someone else's file: leave it.
    if (!renamed) await unlink(temp).catch(() => undefined);
    throw error;
  }
}

export function identityOf(stats: { dev: number; ino: number; size: number; mtimeMs: number }): FileIdentity {
  return { dev: stats.dev, ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs };
}

export function sameIdentity(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

/** The pieces holding the first half of the bytes, and those holding the rest. */
function splitInHalf(chunks: readonly Uint8Array[]): [Uint8Array[], Uint8Array[]] {
  let left = Math.floor(chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0) / 2);
  const first: Uint8Array[] = [];
  const second: Uint8Array[] = [];
  for (const chunk of chunks) {
    if (left >= chunk.byteLength) {
      first.push(chunk);
      left -= chunk.byteLength;
    } else if (left > 0) {
      first.push(chunk.subarray(0, left));
      second.push(chunk.subarray(left));
      left = 0;
    } else second.push(chunk);
  }
  return [first, second];
}

/**
 * Removes temporary files that an earlier writeFileAtomic of `target` left behind when its
 * process was killed mid-write. Files of a live process are left alone: it may still be writing.
 */
export async function removeAtomicLeftovers(target: string): Promise<string[]> {
  const dir = dirname(target);
  const name = basename(target);
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (error) {
    if (hasErrnoCode(error, "ENOENT")) return [];
    throw error;
  }
  const removed: string[] = [];
  for (const entry of entries) {
    const owner = atomicTempOwner(entry, name);
    // Our own pid: a write of this process may be in progress right now.
    if (owner === null || owner === process.pid || isProcessAlive(owner)) continue;
    await unlink(join(dir, entry)).catch(() => undefined);
    removed.push(entry);
  }
  return removed;
}
