// Where a folder's tasks live: the provider and base URL its last run talked to, or that it ran against
// the in-process simulator. Written by every run, read by `cancel`, so that cancelling a folder's
// tasks needs no flags the run did not need. Never the key (it is read from the environment only).
import { readFile } from "node:fs/promises";
import type { ProviderName } from "../api/wire-types.js";
import { writeFileAtomic } from "../fs/atomic-write.js";
import { hasErrnoCode } from "../fs/errno.js";
import { connectionPath } from "../journal/paths.js";

export interface ConnectionRecord {
  provider: ProviderName;
  /** null for a simulated run: its simulator's address does not outlive the run. */
  baseUrl: string | null;
  simulated: boolean;
}

export async function writeConnectionRecord(outputDir: string, record: ConnectionRecord): Promise<void> {
  await writeFileAtomic(connectionPath(outputDir), `${JSON.stringify(record)}\n`);
}

/** The folder's record, or null when it has none (or it is unreadable: the flags then decide). */
export async function readConnectionRecord(outputDir: string): Promise<ConnectionRecord | null> {
  let text: string;
  try {
    text = await readFile(connectionPath(outputDir), "utf8");
  } catch (error) {
    if (hasErrnoCode(error, "ENOENT")) return null;
    throw error;
  }
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== "object" || value === null) return null;
    const { provider, baseUrl, simulated } = value as Record<string, unknown>;
    if (provider !== "cometapi" && provider !== "runway") return null;
    if (baseUrl !== null && typeof baseUrl !== "string") return null;
    return { provider, baseUrl, simulated: simulated === true };
  } catch {
    return null;
  }
}
