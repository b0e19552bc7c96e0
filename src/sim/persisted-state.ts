// The tasks of an in-process simulator, kept in the output folder of the `--simulate` run it serves:
// a resumed run (or `actbatch cancel --simulate`) starts a new simulator that finds them, as a real
// service would still have them. Timelines are in epoch ms, so a task resumed later has rendered on
// in the meantime, as it would have at the service.
import { readFile } from "node:fs/promises";
import { writeFileAtomic } from "../fs/atomic-write.js";
import { hasErrnoCode } from "../fs/errno.js";
import type { SimTask } from "./tasks.js";

export interface PersistedSimState {
  version: 1;
  /** Every task created, in creation order (deleted ones included: their ids must still answer 404). */
  tasks: SimTask[];
  /** Creates per request key so far (the next create of a key is its next attempt). */
  attemptsByKey: [string, number][];
}

/** The state saved at `path`, or null when there is none or it cannot be read (a fresh simulator then). */
export async function loadSimState(path: string): Promise<PersistedSimState | null> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if (hasErrnoCode(error, "ENOENT")) return null;
    throw error;
  }
  try {
    const value = JSON.parse(text) as Partial<PersistedSimState>;
    if (value.version !== 1 || !Array.isArray(value.tasks) || !Array.isArray(value.attemptsByKey))
      return null;
    return value as PersistedSimState;
  } catch {
    return null;
  }
}

/**
 * Saves the state shortly after each change (one write for a burst of creates), and on close if
 * anything changed since (a simulator that changed nothing never overwrites what another one saved).
 */
export class SimStateSaver {
  private timer: NodeJS.Timeout | null = null;
  private dirty = false;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly path: string,
    private readonly snapshot: () => PersistedSimState,
    private readonly delayMs = 50,
  ) {}

  request(): void {
    this.dirty = true;
    if (this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.save();
    }, this.delayMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.dirty) await this.save();
    await this.writing;
  }

  private save(): Promise<void> {
    this.dirty = false;
    // Saves are chained, so that an older snapshot never lands after a newer one.
    this.writing = this.writing
      .then(async () => {
        await writeFileAtomic(this.path, JSON.stringify(this.snapshot()));
      })
      .catch(() => undefined);
    return this.writing;
  }
}
