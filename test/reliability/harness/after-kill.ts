// Checks made right after a kill, before the next run touches anything: the state a crash leaves.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { UserError } from "../../../src/errors.js";
import { isAtomicTempName } from "../../../src/fs/atomic-write.js";
import { MANIFEST_FILE, readManifest } from "../../../src/manifest/manifest.js";
import { sha256OfFile } from "../../../src/manifest/verify.js";
import { foldJournal } from "../../../src/journal/fold.js";
import { readJournal } from "../../../src/journal/writer.js";
import type { SimProcess } from "./sim-process.js";
import { listTree } from "./workspace.js";

export interface KillState {
  /** Final files checked (complete and equal to what the simulator served). */
  finalFiles: number;
  /** Temporary files left in the runner's own folder (partial downloads). */
  partialFiles: number;
  manifest: "absent" | "valid";
  problems: string[];
}

/**
 * Every file at a final path is a complete output the simulator served for that file's key (never
 * empty, never partial); manifest.json, if present, parses and fits its schema (the old one or the
 * new one, never a torn one).
 */
export async function inspectAfterKill(outDir: string, sim: SimProcess): Promise<KillState> {
  const problems: string[] = [];
  let manifest: KillState["manifest"] = "absent";
  try {
    await readManifest(outDir);
    manifest = "valid";
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    if (!error.message.startsWith("no manifest at ")) problems.push(`manifest.json: ${error.message}`);
  }

  // Which key each final path belongs to, from the intents on disk (the journal is complete up to
  // its last fsync; a torn tail is ignored, as the runner does).
  const fold = foldJournal((await readJournal(outDir)).records);
  const keyOfFile = new Map<string, string>();
  for (const state of fold.values()) keyOfFile.set(state.output, state.key);
  const stats = await sim.stats();
  const idsByKey = new Map<string, string[]>();
  for (const task of stats.tasks) idsByKey.set(task.key, [...(idsByKey.get(task.key) ?? []), task.id]);
  const expected = await sim.expectedOutputs(stats.tasks.map((task) => task.id));

  let finalFiles = 0;
  let partialFiles = 0;
  for (const file of await listTree(outDir)) {
    if (file.startsWith(".actbatch/")) {
      if (file.endsWith(".part")) partialFiles++;
      continue;
    }
    if (file === MANIFEST_FILE || isAtomicTempName(file, MANIFEST_FILE)) continue;
    finalFiles++;
    const path = join(outDir, file);
    const content = await readFile(path);
    if (content.byteLength === 0) {
      problems.push(`${file}: zero-byte file at a final path`);
      continue;
    }
    const key = keyOfFile.get(file);
    if (key === undefined) {
      problems.push(`${file}: at a final path, but no intent in the journal names it`);
      continue;
    }
    const sha256 = await sha256OfFile(path);
    const served = (idsByKey.get(key) ?? []).map((id) => expected.get(id));
    if (!served.some((output) => output && output.bytes === content.byteLength && output.sha256 === sha256))
      problems.push(
        `${file}: ${content.byteLength} bytes sha256 ${sha256.slice(0, 12)}…, not an output the simulator served for key ${key}`,
      );
  }
  return { finalFiles, partialFiles, manifest, problems };
}
