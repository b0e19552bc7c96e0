// What earlier probes learned, per URI and ETag: `<out>/.actbatch/probe-cache.json`. A cached
// entry still costs a HEAD (to see the ETag), never the ranged reads. Deterministic (sorted, no
// timestamps), rewritten only when something changed.
import { mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { writeFileAtomic } from "../fs/atomic-write.js";

export const PROBE_CACHE_FILE = "probe-cache.json";

export interface ProbeCacheEntry {
  etag: string;
  contentLength: number;
  durationSec: number;
  video: { width: number; height: number } | null;
}

export interface ProbeCache {
  entries: Map<string, ProbeCacheEntry>;
  changed: boolean;
}

/** An unreadable or malformed cache is an empty one: it only ever saves requests. */
export async function readProbeCache(file: string): Promise<ProbeCache> {
  const entries = new Map<string, ProbeCacheEntry>();
  try {
    const parsed = JSON.parse(await readFile(file, "utf8")) as { version?: unknown; assets?: unknown };
    if (parsed.version === 1 && typeof parsed.assets === "object" && parsed.assets !== null) {
      for (const [uri, entry] of Object.entries(parsed.assets as Record<string, unknown>)) {
        if (isEntry(entry)) entries.set(uri, entry);
      }
    }
  } catch {
    // missing or malformed: start empty
  }
  return { entries, changed: false };
}

export function lookupProbe(
  cache: ProbeCache,
  uri: string,
  etag: string,
  contentLength: number,
): ProbeCacheEntry | undefined {
  const entry = cache.entries.get(uri);
  return entry !== undefined && entry.etag === etag && entry.contentLength === contentLength
    ? entry
    : undefined;
}

export function rememberProbe(cache: ProbeCache, uri: string, entry: ProbeCacheEntry): void {
  cache.entries.set(uri, entry);
  cache.changed = true;
}

export async function writeProbeCache(file: string, cache: ProbeCache): Promise<void> {
  if (!cache.changed) return;
  const assets = Object.fromEntries([...cache.entries].toSorted(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  await mkdir(dirname(file), { recursive: true });
  await writeFileAtomic(file, `${JSON.stringify({ version: 1, assets }, null, 2)}\n`);
  cache.changed = false;
}

function isEntry(value: unknown): value is ProbeCacheEntry {
  if (typeof value !== "object" || value === null) return false;
  const entry = value as Record<string, unknown>;
  const video = entry.video as Record<string, unknown> | null | undefined;
  return (
    typeof entry.etag === "string" &&
    typeof entry.contentLength === "number" &&
    typeof entry.durationSec === "number" &&
    (video === null ||
      (typeof video === "object" && typeof video.width === "number" && typeof video.height === "number"))
  );
}
