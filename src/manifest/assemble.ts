// The manifest's records from the run engine's: in plan order, with orphans and the summary; no I/O.
import type { Plan, TaskPlan } from "../job/types.js";
import { SPEC_FIELDS, pickFields } from "./fields.js";
import { compareStrings, normaliseTask } from "./normalise.js";
import { MANIFEST_VERSION, type Manifest, type ManifestSummary, type ManifestTask } from "./types.js";

export interface ManifestInput {
  plan: Plan;
  /** The run engine's records, in any order. Plan tasks missing here are recorded as NOT_SUBMITTED. */
  tasks: ManifestTask[];
  /** Paid tasks whose keys are no longer in the plan (typically carried over from the previous manifest). */
  orphans?: ManifestTask[];
}

/**
 * Builds the manifest of a run. Records whose key is in the plan become `tasks`, in plan order;
 * every other record becomes an orphan (sorted by key), so a paid task is never dropped even if
 * the caller filed it in the wrong list. Inputs are copied and normalised, so the same records
 * in any order give the same bytes.
 */
export function assembleManifest(input: ManifestInput): Manifest {
  const { tasks, orphans } = arrangeRecords(input, normaliseTask);
  const manifest: Manifest = {
    version: MANIFEST_VERSION,
    job: input.plan.job,
    spec: pickFields(input.plan.spec, SPEC_FIELDS),
    summary: summarizeTasks(tasks, orphans),
    tasks,
    orphans,
  };
  assembledTasks.add(tasks);
  assembledTasks.add(orphans);
  return manifest;
}

/**
 * The records in manifest order: the plan's tasks in plan order (a task with no record is not
 * submitted), then every other record, an orphan, by key. `prepare` turns each record into what
 * the list holds; without it, the lists hold the records themselves (the caller's list of tasks
 * itself, when it is in plan order already: not to be changed).
 */
export function arrangeRecords(
  input: ManifestInput,
  prepare?: (record: ManifestTask) => ManifestTask,
): { tasks: ManifestTask[]; orphans: ManifestTask[] } {
  const { ordered, planned } = planOrderOf(input.plan);
  const given = input.orphans ?? [];
  // A run hands over one record per plan task, in plan order, and orphans of other keys: as they are.
  if (
    planned.size === ordered.length &&
    input.tasks.length === ordered.length &&
    input.tasks.every((record, index) => record.key === ordered[index]?.key) &&
    given.every((record) => !planned.has(record.key)) &&
    new Set(given.map((record) => record.key)).size === given.length
  )
    return {
      tasks: prepare ? input.tasks.map(prepare) : input.tasks,
      orphans: (prepare ? given.map(prepare) : given).toSorted((a, b) => compareStrings(a.key, b.key)),
    };
  const byKey = new Map<string, ManifestTask>();
  for (const record of [...input.tasks, ...given]) {
    if (byKey.has(record.key)) throw new Error(`manifest: task key ${record.key} was recorded twice`);
    byKey.set(record.key, prepare ? prepare(record) : record);
  }
  const tasks = ordered.map((task) => byKey.get(task.key) ?? notSubmittedTask(task));
  const orphans = [...byKey.values()]
    .filter((task) => !planned.has(task.key))
    .toSorted((a, b) => compareStrings(a.key, b.key));
  return { tasks, orphans };
}

export interface PlanOrder {
  /** The plan's task list as it was when worked out (a list changed since is worked out again). */
  tasks: TaskPlan[];
  ordered: TaskPlan[];
  planned: Set<string>;
}

/** A plan's tasks in plan order and their keys, worked out once per plan (checkpoints ask again and again). */
const planOrders = new WeakMap<readonly TaskPlan[], PlanOrder>();

export function planOrderOf(plan: Plan): PlanOrder {
  let order = planOrders.get(plan.tasks);
  if (
    order === undefined ||
    order.tasks.length !== plan.tasks.length ||
    !order.tasks.every((task, index) => task === plan.tasks[index])
  ) {
    const ordered = plan.tasks.toSorted((a, b) => a.index - b.index);
    order = { tasks: [...plan.tasks], ordered, planned: new Set(ordered.map((task) => task.key)) };
    planOrders.set(plan.tasks, order);
  }
  return order;
}

/**
 * Task lists built by assembleManifest, whose records are already normalised copies in file order:
 * serialising them reuses them instead of copying every record again (a large job's manifest is
 * rebuilt at each checkpoint, and each copy is tens of megabytes of short-lived objects).
 */
const assembledTasks = new WeakSet<readonly ManifestTask[]>();

/** Whether `list` is a task list built by assembleManifest (its records are ready to serialise as they are). */
export function isAssembled(list: readonly ManifestTask[]): boolean {
  return assembledTasks.has(list);
}

/** The manifest record of a plan task that no run has sent yet. */
export function notSubmittedTask(task: TaskPlan): ManifestTask {
  return normaliseTask({
    key: task.key,
    pair: task.pair,
    params: task.params,
    request: task.request,
    taskId: null,
    status: "NOT_SUBMITTED",
    attempts: 0,
    outputs: [],
    error: null,
    possiblyChargedTwice: false,
    history: [],
  });
}

/** Counts over the job's tasks; possible double charges are counted over orphans too (they were paid). */
export function summarizeTasks(
  tasks: readonly ManifestTask[],
  orphans: readonly ManifestTask[] = [],
): ManifestSummary {
  const succeeded = tasks.filter((task) => task.status === "SUCCEEDED").length;
  const failed = tasks.filter((task) => task.status === "FAILED").length;
  return {
    total: tasks.length,
    succeeded,
    failed,
    pending: tasks.length - succeeded - failed,
    possiblyChargedTwice: [...tasks, ...orphans].filter((task) => task.possiblyChargedTwice).length,
  };
}
