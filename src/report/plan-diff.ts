// `actbatch plan --against`: what a run of the job file would do to an existing output folder,
// for review before money is spent. Tasks are matched by key first; a task whose key is new but
// whose slot (same pair and output file, else same pair and swept values) held another request
// is "changed", so a reviewer sees `expressionIntensity 3 -> 4` rather than one new and one orphan.
import { canonicalJson } from "../canonical.js";
import { FETCH_AGAIN_CODES, OUTPUT_LOST } from "../manifest/codes.js";
import type { Manifest, ManifestTask, ManifestTaskStatus } from "../manifest/types.js";
import type { ParamValue, Plan, PlanReport, ProviderName, RequestBody, TaskPlan } from "../job/types.js";
import { estimateCost, type CostEstimate } from "./html/cost.js";

export interface FieldChange {
  field: string;
  from: string;
  to: string;
}

export interface DiffTask {
  key: string;
  pair: string;
  output: string;
  params: Record<string, ParamValue>;
}

export interface ChangedTask extends DiffTask {
  previousKey: string;
  previousStatus: ManifestTaskStatus;
  changes: FieldChange[];
}

export interface UnfinishedTask extends DiffTask {
  status: ManifestTaskStatus;
  /** Whether a plain rerun submits it (and may pay for it): not for tasks in flight or failed for good. */
  willSubmit: boolean;
  /** Whether a plain rerun polls it (submitted and not finished): free. */
  willPoll: boolean;
}

export interface OrphanedTask {
  key: string;
  pair: string;
  status: ManifestTaskStatus;
  files: string[];
}

export interface PlanDiff {
  job: string;
  /** The manifest compared against (as given), or null when there was none: every task is new. */
  against: string | null;
  total: number;
  new: DiffTask[];
  changed: ChangedTask[];
  /** Already rendered with the same key, files intact: a run skips them. */
  reused: DiffTask[];
  /** Rendered before, file missing or changed (or never downloaded): downloaded again from its task, free. */
  fetchAgain: DiffTask[];
  /** Rendered before, output lost and the task gone at the provider: rendered again, paid again. */
  renderAgain: DiffTask[];
  /** Same key, not succeeded: a run resumes, retries or (failed for good) leaves them. */
  unfinished: UnfinishedTask[];
  /** In the manifest, no longer in the plan (and not replaced by a changed task). */
  orphaned: OrphanedTask[];
  /** What a plain run would submit: new, changed and unfinished tasks it would send. */
  cost: CostEstimate;
}

export interface PlanDiffOptions {
  provider?: ProviderName;
  usdPerTask?: number;
  /** Reference durations in seconds, by URI, for Runway's per-second price. */
  referenceSeconds?: ReadonlyMap<string, number>;
  /** Keys whose recorded output files are missing or changed in the folder. */
  damaged?: ReadonlySet<string>;
}

/** Whether a run of the plan would call the API at all (submit, poll or fetch): `plan --exit-code`. */
export function runWouldAct(diff: PlanDiff): boolean {
  return (
    diff.new.length + diff.changed.length + diff.fetchAgain.length + diff.renderAgain.length > 0 ||
    diff.unfinished.some((task) => task.willSubmit || task.willPoll)
  );
}

/** Final failures are left alone by a rerun without --retry-failed; tasks in flight are polled. */
const RESUBMITTED: ReadonlySet<ManifestTaskStatus> = new Set(["NOT_SUBMITTED", "CANCELLED", "AMBIGUOUS"]);
const IN_FLIGHT: ReadonlySet<ManifestTaskStatus> = new Set(["PENDING", "THROTTLED", "RUNNING"]);

/** What a run does with a recorded task of the same key, as far as its record and files tell. */
function fateOf(task: ManifestTask, damaged: boolean): "reuse" | "fetch" | "render" | "other" {
  if (task.error?.code === OUTPUT_LOST) return "render";
  if (task.taskId !== null && task.error !== null && FETCH_AGAIN_CODES.has(task.error.code)) return "fetch";
  if (task.status !== "SUCCEEDED") return "other";
  if (!damaged) return "reuse";
  // Whether the provider still has the task is only known by asking it: the run asks first (free).
  return task.taskId !== null ? "fetch" : "render";
}

export function diffPlan(
  plan: Plan,
  manifest: Manifest | null,
  against: string | null,
  options: PlanDiffOptions = {},
): PlanDiff {
  const previous = manifest ? [...manifest.tasks, ...manifest.orphans] : [];
  const byKey = new Map(previous.map((task) => [task.key, task]));
  const planKeys = new Set(plan.tasks.map((task) => task.key));
  const candidates = previous.filter((task) => !planKeys.has(task.key));
  const bySlot = new Map<string, ManifestTask>();
  const byParams = new Map<string, ManifestTask>();
  for (const task of candidates) {
    const file = task.outputs[0]?.file;
    if (file !== undefined && !bySlot.has(slotOf(task.pair, file))) bySlot.set(slotOf(task.pair, file), task);
    if (!byParams.has(paramsSlotOf(task.pair, task.params)))
      byParams.set(paramsSlotOf(task.pair, task.params), task);
  }
  const claimed = new Set<string>();
  const diff: PlanDiff = {
    job: plan.job,
    against,
    total: plan.tasks.length,
    new: [],
    changed: [],
    reused: [],
    fetchAgain: [],
    renderAgain: [],
    unfinished: [],
    orphaned: [],
    cost: estimateCost(options.provider ?? plan.provider.name, []),
  };
  const toSubmit: TaskPlan[] = [];
  for (const task of plan.tasks) {
    const entry = describe(task);
    const same = byKey.get(task.key);
    // A record whose request is not the task's (edited by hand) proves nothing: the task counts as changed.
    if (same && canonicalJson(same.request) === canonicalJson(task.request)) {
      const fate = fateOf(same, options.damaged?.has(same.key) ?? false);
      if (fate === "reuse") diff.reused.push(entry);
      else if (fate === "fetch") diff.fetchAgain.push(entry);
      else if (fate === "render") {
        diff.renderAgain.push(entry);
        toSubmit.push(task);
      } else {
        const willSubmit =
          RESUBMITTED.has(same.status) || (same.status === "FAILED" && same.error?.retryable !== false);
        const willPoll = same.taskId !== null && IN_FLIGHT.has(same.status);
        diff.unfinished.push({ ...entry, status: same.status, willSubmit, willPoll });
        if (willSubmit) toSubmit.push(task);
      }
      continue;
    }
    toSubmit.push(task);
    const before =
      (same && unclaimed(same, claimed)) ??
      unclaimed(bySlot.get(slotOf(task.pair, task.output)), claimed) ??
      unclaimed(byParams.get(paramsSlotOf(task.pair, task.params)), claimed);
    if (before) {
      claimed.add(before.key);
      diff.changed.push({
        ...entry,
        previousKey: before.key,
        previousStatus: before.status,
        changes: requestChanges(before.request, task.request),
      });
    } else diff.new.push(entry);
  }
  for (const task of candidates) {
    if (claimed.has(task.key)) continue;
    diff.orphaned.push({
      key: task.key,
      pair: task.pair,
      status: task.status,
      files: task.outputs.map((output) => output.file),
    });
  }
  const provider = options.provider ?? plan.provider.name;
  const usdPerTask = options.usdPerTask ?? plan.provider.pricePerTaskUsd;
  diff.cost = estimateCost(
    provider,
    toSubmit.map((task) => options.referenceSeconds?.get(task.request.reference.uri) ?? null),
    usdPerTask === undefined ? {} : { usdPerTask },
  );
  return diff;
}

/** Reference durations the job file states (asset `duration` hints), by URI. */
export function referenceSecondsOf(report: PlanReport): Map<string, number> {
  const seconds = new Map<string, number>();
  for (const asset of report.assets ?? [])
    if (asset.durationHint !== undefined && asset.roles.includes("reference"))
      seconds.set(asset.uri, asset.durationHint);
  return seconds;
}

function describe(task: TaskPlan): DiffTask {
  return { key: task.key, pair: task.pair, output: task.output, params: task.params };
}

function unclaimed(task: ManifestTask | undefined, claimed: ReadonlySet<string>): ManifestTask | undefined {
  return task && !claimed.has(task.key) ? task : undefined;
}

function slotOf(pair: string, output: string): string {
  return `${pair}\u0000${output}`;
}

function paramsSlotOf(pair: string, params: Record<string, ParamValue>): string {
  const sorted = Object.keys(params)
    .toSorted()
    .map((field) => [field, params[field]]);
  return `${pair}\u0000${JSON.stringify(sorted)}`;
}

/** The request fields that differ, flattened (`character.uri`), in request order. */
export function requestChanges(before: RequestBody, after: RequestBody): FieldChange[] {
  const a = flatten(before);
  const b = flatten(after);
  const changes: FieldChange[] = [];
  for (const field of new Set([...a.keys(), ...b.keys()])) {
    const from = a.get(field) ?? "(none)";
    const to = b.get(field) ?? "(none)";
    if (from !== to) changes.push({ field, from, to });
  }
  return changes;
}

function flatten(value: unknown, prefix = "", into = new Map<string, string>()): Map<string, string> {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value)) flatten(inner, prefix ? `${prefix}.${key}` : key, into);
  } else into.set(prefix, typeof value === "string" ? value : JSON.stringify(value));
  return into;
}
