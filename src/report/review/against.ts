// `actbatch review OUT --against PREV_OUT`: which tasks rendered something else than in an earlier
// folder (last night's, say), pure. A task is changed when both folders hold a succeeded output for
// its key and the files' sha256 differ: those are the ones a reviewer compares before and after.
import type { Manifest, ManifestOutput } from "../../manifest/types.js";

/** Per changed key, the earlier folder's output. */
export function changedOutputs(current: Manifest, before: Manifest): Map<string, ManifestOutput> {
  const earlier = new Map<string, ManifestOutput>();
  for (const task of [...before.orphans, ...before.tasks]) {
    const output = task.status === "SUCCEEDED" ? task.outputs[0] : undefined;
    if (output) earlier.set(task.key, output);
  }
  const changed = new Map<string, ManifestOutput>();
  for (const task of current.tasks) {
    const now = task.status === "SUCCEEDED" ? task.outputs[0] : undefined;
    const then = earlier.get(task.key);
    if (now && then && now.sha256 !== then.sha256) changed.set(task.key, then);
  }
  return changed;
}
