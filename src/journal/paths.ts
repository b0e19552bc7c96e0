// Every path under an output folder's `.actbatch/`, where a run keeps its own state (the manifest
// and the renders are beside it). Nothing else spells these names.
import { join } from "node:path";

/** The folder of a run's own state inside the output folder. */
export const STATE_DIR = ".actbatch";

/** The append-only journal (records.ts): what was sent and answered, the proof of what was paid. */
export function journalPath(outputDir: string): string {
  return join(outputDir, STATE_DIR, "journal.ndjson");
}

/** Who holds the folder (lock.ts). */
export function lockPath(outputDir: string): string {
  return join(outputDir, STATE_DIR, "lock");
}

/** What outputs were hashed, and their stamps then (hash-cache.ts). */
export function hashCachePath(outputDir: string): string {
  return join(outputDir, STATE_DIR, "hashes.json");
}

/** Uploads (runway://) reused across runs while they are valid. */
export function uploadsCachePath(outputDir: string): string {
  return join(outputDir, STATE_DIR, "uploads.json");
}

/** What earlier asset probes learned, per URI and ETag. */
export function probeCachePath(outputDir: string): string {
  return join(outputDir, STATE_DIR, "probe-cache.json");
}

/** Where the folder's tasks live (provider, base URL, simulated): what `cancel` talks to. Never the key. */
export function connectionPath(outputDir: string): string {
  return join(outputDir, STATE_DIR, "connection.json");
}

/** The tasks of a `--simulate` run's in-process simulator, so that a resumed or cancelled run finds them. */
export function simulatorStatePath(outputDir: string): string {
  return join(outputDir, STATE_DIR, "simulator.json");
}

/**
 * The temporary file an output is streamed into: inside the output folder (same file system, so the
 * final rename is atomic), stable across runs so that an interrupted download is found and removed.
 */
export function partialPath(outputDir: string, key: string, index: number): string {
  return join(outputDir, STATE_DIR, "partial", `${key}-${index}.part`);
}
