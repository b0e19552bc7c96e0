// Before a run acts on an output folder: every task its manifest records and its journal does not
// know (no `.actbatch/`, or a folder merged or restored from elsewhere) is written into the journal as
// the records that stand for it (adopt.ts), on disk before the engine decides anything.
import { access } from "node:fs/promises";
import { ExitCode, UserError } from "../errors.js";
import { readManifest, resolveManifestPath } from "../manifest/manifest.js";
import type { Manifest } from "../manifest/types.js";
import { recordsFromManifestTask, untrustedRecord } from "./adopt.js";
import { applyRecord, taskIdOwners, type JournalFold } from "../journal/fold.js";
import type { JournalWriter } from "../journal/writer.js";

export interface ResumedFromManifest {
  /** Keys whose records came from the manifest. */
  adopted: number;
  /** What the run should say about it (one line each). */
  notes: string[];
}

export async function resumeFromManifest(
  outputDir: string,
  fold: JournalFold,
  journal: Pick<JournalWriter, "append">,
  /** The output name the plan gives each of its keys. */
  plannedOutputs: ReadonlyMap<string, string>,
): Promise<ResumedFromManifest> {
  const notes: string[] = [];
  // A journal that knows every task of the plan is the folder's own story: the manifest was derived
  // from it (reading and checking a large one would only slow every rerun down).
  if (fold.size > 0 && [...plannedOutputs.keys()].every((key) => fold.has(key))) return { adopted: 0, notes };
  const manifest = await readManifestIfAny(outputDir, fold.size > 0, notes);
  if (manifest === null) return { adopted: 0, notes };
  const records = [];
  let adopted = 0;
  const owners = taskIdOwners(fold);
  for (const task of [...manifest.tasks, ...manifest.orphans]) {
    if (fold.has(task.key)) continue;
    const distrust = untrustedRecord(task);
    if (distrust !== null) {
      notes.push(`manifest.json: task ${task.key} (${task.pair}) is ignored: ${distrust}`);
      continue;
    }
    const own = recordsFromManifestTask(task, plannedOutputs.get(task.key) ?? null);
    if (own.length === 0) continue;
    // One task id is one key's task: a second key naming it would take the other's render as its own.
    const ids = own.flatMap((record) => (record.t === "created" ? [record.taskId] : []));
    const taken = ids.find((id) => owners.has(id) && owners.get(id) !== task.key);
    if (taken !== undefined) {
      notes.push(
        `manifest.json: task ${task.key} (${task.pair}) is ignored: its task id ${taken} is already the task of ${owners.get(taken)}`,
      );
      continue;
    }
    for (const id of ids) owners.set(id, task.key);
    adopted++;
    records.push(...own);
  }
  if (records.length === 0) return { adopted, notes };
  // Appended together (one group commit), applied in order once on disk.
  const written = await Promise.all(records.map((record) => journal.append(record)));
  for (const record of written) applyRecord(fold, record);
  notes.push(
    `resumed ${adopted} task${adopted === 1 ? "" : "s"} from manifest.json (the folder's journal did not record ${adopted === 1 ? "it" : "them"}): nothing they record is paid for again`,
  );
  return { adopted, notes };
}

/**
 * The folder's manifest, or null when there is none. A manifest that cannot be read is only
 * tolerated when the journal has the folder's story: otherwise it may be the only record of tasks
 * already paid for, and a run that ignored it could pay for them all again.
 */
async function readManifestIfAny(
  outputDir: string,
  journalKnowsTasks: boolean,
  notes: string[],
): Promise<Manifest | null> {
  const path = await resolveManifestPath(outputDir);
  try {
    await access(path);
  } catch {
    return null;
  }
  try {
    return await readManifest(path);
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    if (journalKnowsTasks) {
      notes.push(`warning: ${error.message}; resuming from the folder's journal alone`);
      return null;
    }
    throw new UserError(
      `${error.message}\nrefusing to run: that manifest may be the only record of renders already paid for`,
      ExitCode.usage,
      "restore a good copy of it, or move it aside to start this folder afresh",
    );
  }
}
