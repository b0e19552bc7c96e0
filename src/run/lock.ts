// One writer per output folder. Two runs writing the same journal and manifest would each think
// they own the in-flight tasks; the second could resubmit what the first already paid for.
//
// The lock is a file, <outputDir>/.actbatch/lock, holding who owns it (Terraform's lock info:
// pid, host, start time, command). It is created complete or not at all: written under a
// private name, then hard-linked to the lock path, which like O_EXCL fails when the path exists
// (O_EXCL itself is the fallback where hard links are not supported). kill -9 leaves the file
// behind, so a lock whose pid is gone on this host is stale and is taken over (renamed over),
// under a second short-lived exclusive file so that two runs finding the same stale lock cannot
// both take it.
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { link, mkdir, open, readFile, rename, stat, unlink } from "node:fs/promises";
import { unlinkSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { UserError } from "../errors.js";
import { fsyncDirectory } from "../fs/durable.js";
import { lockPath } from "../journal/paths.js";
import { hasErrnoCode } from "../fs/errno.js";
import { isProcessAlive } from "../fs/process-alive.js";

/** The folder inside an output directory that holds actbatch's own state. */

/** A lock file that cannot be parsed is only treated as stale once it is this old. */
const UNREADABLE_LOCK_GRACE_MS = 10_000;
/** A takeover marker older than this was left by a run killed during the takeover. */
const TAKEOVER_STALE_MS = 10_000;
/** How many times acquiring goes round (a lock vanishing or a takeover in progress) before giving up. */
const TAKEOVER_ATTEMPTS = 100;
const TAKEOVER_WAIT_MS = 20;

export interface LockInfo {
  pid: number;
  hostname: string;
  /** ISO 8601, when the run took the lock. */
  startedAt: string;
  /** What the holder is doing, e.g. "run jobs/hero.yaml". */
  command: string;
  /** Random id of this acquisition, so a run only ever removes its own lock. */
  token: string;
}

export interface RunLock {
  path: string;
  info: LockInfo;
  /** The stale lock that was taken over (its run was killed), or null. */
  replaced: LockInfo | null;
  /** One line for the user when something worth knowing happened (a stale lock taken over), else null. */
  note: string | null;
  release(): Promise<void>;
}

/** Locks held by this process, removed on exit if the holder did not release them. */
const heldLocks = new Map<string, string>();
let exitHookInstalled = false;

/**
 * Takes the output folder's lock, or throws a UserError (exit 2) naming the run that holds it.
 * A lock left by a killed run on this host is taken over and reported in `note`.
 */
export async function acquireRunLock(
  outputDir: string,
  info: { command: string } = { command: "run" },
): Promise<RunLock> {
  const path = lockPath(outputDir);
  await mkdir(dirname(path), { recursive: true });
  const mine: LockInfo = {
    pid: process.pid,
    hostname: hostname(),
    startedAt: new Date().toISOString(),
    command: info.command,
    token: randomBytes(8).toString("hex"),
  };
  let replaced: LockInfo | null = null;
  for (let attempt = 0; ; attempt += 1) {
    if (await createLockFile(path, mine)) break;
    if (attempt >= TAKEOVER_ATTEMPTS)
      throw new UserError(
        `could not take the lock ${path}: other runs keep competing for it`,
        undefined,
        "try again",
      );
    const holder = await readLockInfo(path);
    if (holder.kind === "gone") continue;
    assertStale(path, holder, outputDir);
    const outcome = await replaceStaleLock(path, holder, mine);
    if (outcome === "replaced") {
      replaced = holder.kind === "info" ? holder.info : unreadableLockInfo;
      break;
    }
    if (outcome === "busy") await sleep(TAKEOVER_WAIT_MS);
  }
  heldLocks.set(path, mine.token);
  installExitHook();
  return {
    path,
    info: mine,
    replaced,
    note: replaced === null ? null : staleNote(replaced, outputDir),
    release: () => releaseLock(path, mine.token),
  };
}

/** Creates the lock file with complete content; false when a lock file is already there. */
async function createLockFile(path: string, info: LockInfo): Promise<boolean> {
  const draft = await writeDraft(path, info);
  try {
    await link(draft, path);
  } catch (error) {
    if (hasErrnoCode(error, "EEXIST")) return false;
    if (!hasErrnoCode(error, "EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS", "EXDEV")) throw error;
    return createLockFileExclusive(path, lockText(info));
  } finally {
    await unlink(draft).catch(() => undefined);
  }
  await fsyncDirectory(dirname(path));
  return true;
}

/** The lock's content, complete and synced, under a private name beside it. */
async function writeDraft(path: string, info: LockInfo): Promise<string> {
  const draft = `${path}.${info.token}.new`;
  const handle = await open(draft, "wx", 0o644);
  try {
    await handle.writeFile(lockText(info));
    await handle.sync();
  } finally {
    await handle.close();
  }
  return draft;
}

function lockText(info: LockInfo): string {
  return JSON.stringify(info, null, 2) + "\n";
}

/** Where hard links are not available: O_EXCL create, then write. */
async function createLockFileExclusive(path: string, text: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, "wx", 0o644);
  } catch (error) {
    if (hasErrnoCode(error, "EEXIST")) return false;
    throw error;
  }
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return true;
}

type HolderReading =
  { kind: "info"; info: LockInfo } | { kind: "unreadable"; ageMs: number } | { kind: "gone" };

async function readLockInfo(path: string): Promise<HolderReading> {
  let text: string;
  let ageMs: number;
  try {
    text = await readFile(path, "utf8");
    ageMs = Date.now() - (await stat(path)).mtimeMs;
  } catch (error) {
    if (hasErrnoCode(error, "ENOENT")) return { kind: "gone" };
    throw error;
  }
  const info = parseLockInfo(text);
  return info ? { kind: "info", info } : { kind: "unreadable", ageMs };
}

export function parseLockInfo(text: string): LockInfo | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (value === null || typeof value !== "object") return null;
  const record = value as Record<string, unknown>;
  if (
    typeof record.pid !== "number" ||
    typeof record.hostname !== "string" ||
    typeof record.startedAt !== "string" ||
    typeof record.token !== "string"
  )
    return null;
  return {
    pid: record.pid,
    hostname: record.hostname,
    startedAt: record.startedAt,
    command: typeof record.command === "string" ? record.command : "run",
    token: record.token,
  };
}

/** Throws when the holder may still be running; returns when its lock may be taken over. */
function assertStale(path: string, holder: HolderReading, outputDir: string): void {
  if (holder.kind === "gone") return;
  if (holder.kind === "unreadable") {
    if (holder.ageMs >= UNREADABLE_LOCK_GRACE_MS) return;
    throw new UserError(
      `another actbatch run is starting in ${outputDir} (its lock file ${path} is not complete yet)`,
      undefined,
      `wait for it to finish; if no actbatch is running, delete ${path}`,
    );
  }
  if (!isStale(holder.info, path)) throw heldError(holder.info, path, outputDir);
}

function isStale(info: LockInfo, path: string): boolean {
  if (info.hostname !== hostname()) return false;
  // Our own pid: the file was left by a killed run whose pid this process happens to reuse
  // (common in containers), unless this very process holds it.
  if (info.pid === process.pid) return heldLocks.get(path) !== info.token;
  return !isProcessAlive(info.pid);
}

function heldError(info: LockInfo, path: string, outputDir: string): UserError {
  const where = info.hostname === hostname() ? "" : ` on host ${info.hostname}`;
  const hint =
    info.hostname === hostname()
      ? `wait for it to finish or stop it (kill ${info.pid}); if that process is not actbatch, delete ${path}`
      : `wait for it to finish; if no actbatch is running on ${info.hostname} any more, delete ${path}`;
  return new UserError(
    `another actbatch run (pid ${info.pid}${where}, started ${info.startedAt}, "${info.command}") is using ${outputDir}`,
    undefined,
    hint,
  );
}

/**
 * Replaces the stale lock `seen` with ours, if it is still the one at `path`. Only one run at a
 * time may do this (the takeover marker), and it re-reads the lock under the marker: a run that
 * lost the race finds the winner's fresh lock there and leaves it alone. The replacement is a
 * rename over the stale file, so the lock path is never empty for a third run to slip into.
 * "busy": another run holds the marker; "changed": the lock is no longer the one seen. In both
 * cases the caller looks again.
 */
async function replaceStaleLock(
  path: string,
  seen: HolderReading,
  mine: LockInfo,
): Promise<"replaced" | "changed" | "busy"> {
  const marker = `${path}.takeover`;
  if (!(await createMarker(marker))) {
    await removeStaleMarker(marker);
    return "busy";
  }
  try {
    if (!sameHolder(await readLockInfo(path), seen)) return "changed";
    const draft = await writeDraft(path, mine);
    try {
      await rename(draft, path);
    } catch (error) {
      await unlink(draft).catch(() => undefined);
      throw error;
    }
    await fsyncDirectory(dirname(path));
    return "replaced";
  } finally {
    await unlink(marker).catch(() => undefined);
  }
}

function sameHolder(a: HolderReading, b: HolderReading): boolean {
  if (a.kind === "info" && b.kind === "info") return a.info.token === b.info.token;
  return a.kind === "unreadable" && b.kind === "unreadable";
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function createMarker(marker: string): Promise<boolean> {
  try {
    const handle = await open(marker, "wx", 0o644);
    await handle.writeFile(String(process.pid));
    await handle.close();
    return true;
  } catch (error) {
    if (hasErrnoCode(error, "EEXIST")) return false;
    throw error;
  }
}

async function removeStaleMarker(marker: string): Promise<void> {
  try {
    if (Date.now() - (await stat(marker)).mtimeMs > TAKEOVER_STALE_MS) await unlink(marker);
  } catch (error) {
    if (!hasErrnoCode(error, "ENOENT")) throw error;
  }
}

/** Stands for a lock file that could not be parsed when it is reported as taken over. */
const unreadableLockInfo: LockInfo = { pid: 0, hostname: "", startedAt: "unknown", command: "", token: "" };

function staleNote(replaced: LockInfo, outputDir: string): string {
  if (replaced === unreadableLockInfo)
    return `replaced an unreadable lock file in ${outputDir} left by an earlier run; its tasks will be resumed`;
  return `took over the lock of an earlier run in ${outputDir} that is no longer running (pid ${replaced.pid}, started ${replaced.startedAt}); its tasks will be resumed`;
}

async function releaseLock(path: string, token: string): Promise<void> {
  if (heldLocks.get(path) !== token) return;
  heldLocks.delete(path);
  // Only remove the file if it is still ours: never delete a lock another run has since taken.
  try {
    const current = parseLockInfo(await readFile(path, "utf8"));
    if (current?.token === token) await unlink(path);
  } catch (error) {
    if (!hasErrnoCode(error, "ENOENT")) throw error;
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous. SIGKILL skips this; that is what stale takeover is for.
  process.on("exit", () => {
    for (const [path, token] of heldLocks) {
      try {
        if (parseLockInfo(readFileSync(path, "utf8"))?.token === token) unlinkSync(path);
      } catch {
        // Best effort at exit: a lock left behind is detected as stale by the next run.
      }
    }
    heldLocks.clear();
  });
}
