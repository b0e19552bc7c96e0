// The journal on disk: reading it back after any crash, and appending to it durably.
// Appends are group-committed: records appended while a write+fsync is in progress go out together in
// the next write+fsync, and each caller is resolved only after the fsync that covers its record.
import { mkdir, open, readFile, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { UserError, ExitCode } from "../errors.js";
import { fsyncDirectory, writeFully } from "../fs/durable.js";
import { journalPath } from "./paths.js";
import { isDiskFull, hasErrnoCode } from "../fs/errno.js";
import {
  decodeRecord,
  encodeRecord,
  JournalCorruptError,
  type JournalRecord,
  type NewJournalRecord,
} from "./records.js";

export interface ParsedJournal {
  records: JournalRecord[];
  /** Bytes of the intact prefix (whole lines); anything after it is a torn tail. */
  intactBytes: number;
  /** A torn last record was found (expected after kill -9 or power loss) and ignored. */
  tornTail: boolean;
  /** The last intact record lacks its newline (the write stopped exactly after it). */
  missingNewline: boolean;
}

/**
 * Parses journal text. A damaged record at the end is a torn write and is ignored; a damaged record
 * followed by an intact one is corruption, which is refused rather than guessed around.
 */
export function parseJournal(bytes: Uint8Array): ParsedJournal {
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: JournalRecord[] = [];
  let offset = 0;
  let intactBytes = 0;
  let badLine: number | null = null;
  let missingNewline = false;
  for (let lineNumber = 1; offset < data.length; lineNumber++) {
    const newline = data.indexOf(0x0a, offset);
    const end = newline < 0 ? data.length : newline;
    const next = newline < 0 ? data.length : newline + 1;
    const line = data.toString("utf8", offset, end);
    if (line.trim() === "" && newline >= 0) {
      if (badLine === null) intactBytes = next;
    } else {
      const record = decodeRecord(line);
      if (record === null) {
        badLine ??= lineNumber;
      } else {
        if (badLine !== null)
          throw new JournalCorruptError(badLine, "damaged record in the middle of the journal");
        records.push(record);
        intactBytes = next;
        missingNewline = newline < 0;
      }
    }
    offset = next;
  }
  return { records, intactBytes, tornTail: badLine !== null, missingNewline };
}

/** Reads the journal of an output directory; a missing journal is an empty one. */
export async function readJournal(outputDir: string): Promise<ParsedJournal> {
  let text: Buffer;
  try {
    text = await readFile(journalPath(outputDir));
  } catch (error) {
    if (hasErrnoCode(error, "ENOENT"))
      return { records: [], intactBytes: 0, tornTail: false, missingNewline: false };
    const detail = error instanceof Error ? error.message : String(error);
    throw new UserError(`cannot read the journal ${journalPath(outputDir)}: ${detail}`, ExitCode.taskFailed);
  }
  try {
    return parseJournal(text);
  } catch (error) {
    if (error instanceof JournalCorruptError)
      throw new UserError(
        `the journal ${journalPath(outputDir)} is damaged (${error.message}); refusing to guess which tasks were paid`,
        ExitCode.taskFailed,
        "keep a copy of the file; remove the damaged line by hand only if you know which task it was",
      );
    throw error;
  }
}

/** Writing the journal failed: nothing more may be submitted (a second fsync could lie). */
export class JournalWriteError extends UserError {
  /** The disk (or quota) is full: a stop of the run, not a fault of the journal. */
  readonly diskFull: boolean;

  constructor(cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(
      `cannot write the journal (${detail}): stopped; nothing more was submitted`,
      ExitCode.taskFailed,
      "free disk space or fix the output folder, then rerun: every task id written so far is kept",
    );
    this.diskFull = isDiskFull(cause);
  }
}

interface Pending {
  line: string;
  record: JournalRecord;
  resolve: (record: JournalRecord) => void;
  reject: (error: Error) => void;
}

export class JournalWriter {
  private handle: FileHandle | null = null;
  private queue: Pending[] = [];
  private flushing: Promise<void> | null = null;
  private failure: JournalWriteError | null = null;
  private appended = 0;

  constructor(
    private readonly outputDir: string,
    /** From readJournal: how to repair the tail before the first append. */
    private readonly existing: Pick<ParsedJournal, "intactBytes" | "tornTail" | "missingNewline">,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Records appended by this writer (a finished job rerun must append none). */
  get count(): number {
    return this.appended;
  }

  get failed(): JournalWriteError | null {
    return this.failure;
  }

  /** Appends one record; resolves once it is on disk (fsync'd). */
  append(record: NewJournalRecord): Promise<JournalRecord> {
    const full = { ...record, at: new Date(this.clock()).toISOString() } as JournalRecord;
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<JournalRecord>((resolve, reject) => {
      this.queue.push({ line: encodeRecord(full) + "\n", record: full, resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    if (this.flushing) return;
    this.flushing = (async () => {
      try {
        // The first record after a quiet moment waits for the end of this event-loop turn: the records
        // the other answers handled in the same turn join its write and fsync (one fsync, not one each).
        await new Promise<void>((resolve) => setImmediate(resolve));
        await this.flush();
      } finally {
        this.flushing = null;
        // A record queued after the loop's last look at the queue still needs a flush.
        if (this.queue.length > 0) this.kick();
      }
    })();
  }

  /** Waits for every appended record to be on disk. */
  async settle(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  async close(): Promise<void> {
    await this.settle();
    await this.handle?.close();
    this.handle = null;
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0);
      try {
        if (this.failure) throw this.failure;
        const handle = await this.openForAppend();
        // The file is open with O_SYNC: each write returns once its bytes (and the file's size) are on
        // stable storage, as write + fsync would, in one call to the thread pool instead of two.
        await writeFully(handle, [Buffer.from(batch.map((p) => p.line).join(""), "utf8")]);
      } catch (error) {
        this.failure ??= error instanceof JournalWriteError ? error : new JournalWriteError(error);
        for (const pending of [...batch, ...this.queue.splice(0)]) pending.reject(this.failure);
        return;
      }
      this.appended += batch.length;
      for (const pending of batch) pending.resolve(pending.record);
    }
  }

  private async openForAppend(): Promise<FileHandle> {
    if (this.handle) return this.handle;
    const path = journalPath(this.outputDir);
    const dir = dirname(path);
    await mkdir(dir, { recursive: true });
    // "as+": append, synchronous (O_SYNC): every write is durable when it returns.
    const handle = await open(path, "as+");
    const { size } = await handle.stat();
    if (size === 0) {
      // A new journal: make its directory entries durable too, or a power loss could drop the file.
      await fsyncDirectory(dir);
      await fsyncDirectory(this.outputDir);
    }
    if (this.existing.tornTail && size > this.existing.intactBytes) {
      // Cut the torn record before appending, or the next record would be glued to it and the damage
      // would move into the middle of the journal.
      await handle.truncate(this.existing.intactBytes);
      await handle.sync();
    } else if (this.existing.missingNewline && size === this.existing.intactBytes) {
      await handle.write("\n");
    }
    this.handle = handle;
    return handle;
  }
}
