// `--only FIELD=PATTERN` and `--last-failed` for run and plan: which of a job's tasks this
// command acts on. The job stays whole (a run's manifest still lists every task, as with --shard).
import { join, resolve } from "node:path";
import { ExitCode, UserError } from "../errors.js";
import type { LoadedPlan, TaskPlan } from "../job/index.js";
import { parseOnly, selectTasks, type TaskFilter } from "../job/select.js";
import { readManifest } from "../manifest/manifest.js";

export interface Subset {
  /** The selected tasks, in plan order (possibly none, with --last-failed). */
  tasks: TaskPlan[];
  keys: ReadonlySet<string>;
  /** The flags that chose it, as written: `--only seed=1..4 --last-failed`. */
  flags: string;
  /** Where --last-failed read, when it did. */
  manifest?: string;
}

export interface SubsetFlags {
  only?: string[];
  lastFailed?: boolean;
  cwd: string;
}

/** The subset the flags choose, or undefined when they choose none (the whole job). */
export async function chooseSubset(loaded: LoadedPlan, flags: SubsetFlags): Promise<Subset | undefined> {
  const only = flags.only ?? [];
  if (only.length === 0 && !flags.lastFailed) return undefined;
  const filters: TaskFilter[] = [];
  for (const written of only) {
    const filter = parseOnly(written);
    if (typeof filter === "string") throw new UserError(filter, ExitCode.usage);
    filters.push(filter);
  }
  let tasks = filters.length === 0 ? loaded.plan.tasks : selectTasks(loaded.plan.tasks, filters);
  if (typeof tasks === "string") throw new UserError(tasks, ExitCode.usage);
  const written = [
    ...only.map((filter) => `--only ${filter}`),
    ...(flags.lastFailed ? ["--last-failed"] : []),
  ];
  let manifest: string | undefined;
  if (flags.lastFailed) {
    manifest = join(loaded.plan.outputDir, "manifest.json");
    const unfinished = await unfinishedKeys(resolve(flags.cwd, manifest), manifest);
    tasks = tasks.filter((task) => unfinished.has(task.key));
  }
  return {
    tasks,
    keys: new Set(tasks.map((task) => task.key)),
    flags: written.join(" "),
    ...(manifest && { manifest }),
  };
}

/** Keys of the tasks a manifest records as anything but SUCCEEDED. */
async function unfinishedKeys(path: string, shown: string): Promise<Set<string>> {
  try {
    const manifest = await readManifest(path);
    return new Set(manifest.tasks.filter((task) => task.status !== "SUCCEEDED").map((task) => task.key));
  } catch (error) {
    if (error instanceof UserError && error.message.startsWith("no manifest at"))
      throw new UserError(
        `--last-failed: there is no ${shown}: this job has not run in that folder (give --out if it ran elsewhere)`,
        ExitCode.usage,
      );
    throw error;
  }
}

/** One line saying what the subset is: `selected 4 of 120 tasks (--only pair=fox-*)`. */
export function describeSubset(subset: Subset, total: number): string {
  return `selected ${subset.tasks.length} of ${total} task${total === 1 ? "" : "s"} (${subset.flags})`;
}

/** What a --last-failed that finds nothing says: there is nothing to do, which is not a mistake. */
export function nothingToDo(subset: Subset): string {
  return subset.manifest === undefined
    ? `nothing selected (${subset.flags})`
    : `nothing to do: every selected task succeeded in ${subset.manifest} (${subset.flags})`;
}
