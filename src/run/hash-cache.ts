// What a rerun knows about the outputs it already hashed. Hashing every output at the start of every
// run (a nightly job's gigabytes) would cost minutes to learn nothing: like git's index, a file
// whose size, modification and change times and inode are those it had when it was last hashed is
// taken to hold the same bytes. Any write changes the change time, which no user command can set
// back. `status --verify` hashes everything regardless.
import { readFile } from "node:fs/promises";
import { writeFileAtomic } from "../fs/atomic-write.js";
import type { FileStamp, StampCache } from "../manifest/verify.js";
import { hashCachePath } from "../journal/paths.js";

interface CacheEntry extends FileStamp {
  sha256: string;
}

interface CacheDocument {
  version: 1;
  files: Record<string, CacheEntry>;
}

export class HashCache implements StampCache {
  private readonly entries: Map<string, CacheEntry>;
  private changed = false;

  private constructor(
    private readonly path: string,
    entries: Map<string, CacheEntry>,
  ) {
    this.entries = entries;
  }

  /** `<outputDir>/.actbatch/hashes.json`; empty when missing or unreadable (everything is hashed). */
  static async open(outputDir: string): Promise<HashCache> {
    const path = hashCachePath(outputDir);
    const entries = new Map<string, CacheEntry>();
    try {
      const document = JSON.parse(await readFile(path, "utf8")) as Partial<CacheDocument>;
      if (document.version === 1 && typeof document.files === "object" && document.files !== null)
        for (const [file, entry] of Object.entries(document.files))
          if (isEntry(entry)) entries.set(file, entry);
    } catch {
      // missing or damaged: nothing is trusted, every file is hashed
    }
    return new HashCache(path, entries);
  }

  /** True when `file` was hashed to `sha256` and has not changed since. */
  holds(file: string, stamp: FileStamp, sha256: string): boolean {
    const entry = this.entries.get(file);
    return (
      entry !== undefined &&
      entry.sha256 === sha256 &&
      entry.size === stamp.size &&
      entry.mtimeNs === stamp.mtimeNs &&
      entry.ctimeNs === stamp.ctimeNs &&
      entry.ino === stamp.ino
    );
  }

  remember(file: string, stamp: FileStamp, sha256: string): void {
    if (this.holds(file, stamp, sha256)) return;
    this.entries.set(file, { ...stamp, sha256 });
    this.changed = true;
  }

  forget(file: string): void {
    this.changed = this.entries.delete(file) || this.changed;
  }

  async save(): Promise<void> {
    if (!this.changed) return;
    const files = Object.fromEntries([...this.entries].toSorted(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    await writeFileAtomic(this.path, `${JSON.stringify({ version: 1, files } satisfies CacheDocument)}\n`);
    this.changed = false;
  }
}

function isEntry(value: unknown): value is CacheEntry {
  const entry = value as Partial<CacheEntry> | null;
  return (
    typeof entry === "object" &&
    entry !== null &&
    typeof entry.sha256 === "string" &&
    typeof entry.size === "number" &&
    typeof entry.mtimeNs === "string" &&
    typeof entry.ctimeNs === "string" &&
    typeof entry.ino === "string"
  );
}
