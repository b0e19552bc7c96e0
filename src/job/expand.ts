// Pure expansion: resolved job -> tasks, with GitHub Actions matrix semantics for exclude/include.
// No I/O; the order of the tasks is the order of the file.
import { diagnosticAt } from "./diagnostics.js";
import { assignOutputNames } from "./output-names.js";
import { createTaskKeyer } from "./task-key.js";
import type {
  Combination,
  Diagnostic,
  ExcludeEffect,
  IncludeEffect,
  ParamValue,
  PlanReport,
  RequestBody,
  ResolvedFilter,
  ResolvedJob,
  ResolvedPair,
  SourceLocation,
  SweepDimension,
  SweepField,
  TaskPlan,
} from "./types.js";

interface IncludeTally {
  extended: number;
  changed: boolean;
  added: number;
  /** Added combinations that did not merge into an existing task. */
  addedNew: number;
}

export interface Expansion {
  tasks: TaskPlan[];
  report: PlanReport;
  /** Output-name problems: the plan is unusable when there are any. */
  errors: Diagnostic[];
}

export function expandJob(job: ResolvedJob): Expansion {
  const warnings: Diagnostic[] = [];
  const removed = job.excludes.map(() => 0);
  const tallies: IncludeTally[] = job.includes.map(() => ({
    extended: 0,
    changed: false,
    added: 0,
    addedNew: 0,
  }));
  const byKey = new Map<string, TaskPlan>();
  const tasks: TaskPlan[] = [];
  let merged = 0;
  const keyOf = createTaskKeyer();
  const crossPairMerges = new Map<string, { pair: ResolvedPair; into: string; count: number }>();

  for (const pair of job.pairs) {
    const swept = combinationsOf(pair.dimensions);
    if (job.excludes.length > 0) removeExcluded(swept, job.excludes, pair, removed);
    // Per combination, only when an include touches it: sparse, so a plain sweep allocates nothing here.
    const extras: (Combination | undefined)[] = [];
    const includedBy: (number[] | undefined)[] = [];
    const added: { values: Combination; include: number }[] = [];
    for (const include of job.includes) {
      if (include.pair !== undefined && include.pair !== pair.id) continue;
      const tally = tallies[include.index]!;
      const extended = extendCombos(swept, extras, includedBy, include, pair.base);
      if (extended.count > 0) {
        tally.extended += extended.count;
        tally.changed ||= extended.changed;
      } else {
        added.push({ values: { ...include.values }, include: include.index });
        tally.added++;
      }
    }

    // Tasks of a pair share one frozen source list until a merge or an include gives one its own.
    const pairSource: readonly SourceLocation[] = Object.freeze([pair.source]);
    const count = swept.length + added.length;
    for (let i = 0; i < count; i++) {
      const addition = i < swept.length ? undefined : added[i - swept.length]!;
      const extra = addition ? addition.values : extras[i];
      // The combination object is this task's own: it becomes the params when nothing extends it.
      const params: Record<string, ParamValue> = addition
        ? addition.values
        : extra
          ? { ...swept[i], ...extra }
          : swept[i]!;
      const request = buildRequest(pair.base, params);
      const key = keyOf(request);
      const includes = addition ? [addition.include] : includedBy[i];
      const source = includes
        ? [pair.source, ...includes.map((index) => job.includes[index]!.source)]
        : (pairSource as SourceLocation[]);
      const existing = byKey.get(key);
      if (existing) {
        merged++;
        const fresh = source.filter((location) => !existing.source.includes(location));
        if (fresh.length > 0) existing.source = [...existing.source, ...fresh];
        if (existing.pair !== pair.id) {
          const id = `${pair.id}\u0000${existing.pair}`;
          const entry = crossPairMerges.get(id) ?? { pair, into: existing.pair, count: 0 };
          entry.count++;
          crossPairMerges.set(id, entry);
        }
        continue;
      }
      if (addition) tallies[addition.include]!.addedNew++;
      const task: TaskPlan = { key, index: tasks.length, pair: pair.id, params, request, output: "", source };
      byKey.set(key, task);
      tasks.push(task);
    }
  }

  for (const { pair, into, count } of crossPairMerges.values()) {
    warnings.push(
      diagnosticAt(
        pair.source,
        `pair "${pair.id}" has the same character, reference and values as pair "${into}" for ${count} task${count === 1 ? "" : "s"}; they are rendered once, under "${into}"`,
      ),
    );
  }
  const includes = job.includes.map((include) => includeEffect(include, tallies[include.index]!, warnings));
  const excludes = job.excludes.map((exclude): ExcludeEffect => {
    const count = removed[exclude.index] ?? 0;
    if (count === 0)
      warnings.push(diagnosticAt(exclude.source, "exclude matches no combination: it removes nothing"));
    return { index: exclude.index, source: exclude.source, removed: count };
  });

  const perPair = new Map(job.pairs.map((pair) => [pair.id, 0]));
  for (const task of tasks) perPair.set(task.pair, (perPair.get(task.pair) ?? 0) + 1);
  const mergedPairs = new Set([...crossPairMerges.values()].map(({ pair }) => pair.id));
  for (const pair of job.pairs) {
    if (perPair.get(pair.id) === 0 && !mergedPairs.has(pair.id)) {
      warnings.push(
        diagnosticAt(pair.source, `pair "${pair.id}" has no tasks: exclude removes every combination`),
      );
    }
  }

  const errors = assignOutputNames(tasks, job.job, job.outputName);
  const report: PlanReport = {
    total: tasks.length,
    pairs: job.pairs.map((pair) => ({ pair: pair.id, tasks: perPair.get(pair.id) ?? 0 })),
    swept: sweptValues(tasks),
    includes,
    excludes,
    merged,
    warnings: warnings.toSorted((a, b) => a.line - b.line || a.column - b.column),
  };
  return { tasks, report, errors };
}

/** Every combination of the dimensions; the first dimension varies slowest. */
export function combinationsOf(dimensions: readonly SweepDimension[]): Combination[] {
  let combos: Combination[] = [{}];
  for (const dimension of dimensions) {
    const options = optionsOf(dimension);
    const next: Combination[] = Array.from({ length: combos.length * options.length });
    let i = 0;
    for (const combo of combos) for (const option of options) next[i++] = { ...combo, ...option };
    combos = next;
  }
  return combos;
}

function optionsOf(dimension: SweepDimension): Combination[] {
  switch (dimension.kind) {
    case "values":
      return dimension.values.map((value) => ({ [dimension.field]: value }));
    case "range": {
      const options: Combination[] = [];
      for (let value = dimension.from; value <= dimension.to; value += dimension.step)
        options.push({ [dimension.field]: value });
      return options;
    }
    case "zip":
      return dimension.entries.map((entry) => ({ ...entry }));
  }
}

/** Drops, in place, every combination an exclude matches, counting the drops per exclude. */
function removeExcluded(
  combos: Combination[],
  excludes: readonly ResolvedFilter[],
  pair: ResolvedPair,
  removed: number[],
): void {
  let kept = 0;
  for (const combo of combos) {
    let keep = true;
    for (const exclude of excludes) {
      if (excludeMatches(exclude, pair, combo)) {
        removed[exclude.index] = (removed[exclude.index] ?? 0) + 1;
        keep = false;
      }
    }
    if (keep) combos[kept++] = combo;
  }
  combos.length = kept;
}

/** An exclude drops a combination when every value it names equals the task's value (swept or fixed). */
function excludeMatches(exclude: ResolvedFilter, pair: ResolvedPair, swept: Combination): boolean {
  if (exclude.pair !== undefined && exclude.pair !== pair.id) return false;
  for (const field of Object.keys(exclude.values) as SweepField[]) {
    const value = Object.hasOwn(swept, field) ? swept[field] : pair.base[field];
    if (value !== exclude.values[field]) return false;
  }
  return true;
}

/**
 * GitHub Actions semantics: the include extends every original combination whose swept values it
 * does not contradict, overwriting values earlier includes set. Combinations added by includes are
 * not original, so they are not extended.
 */
function extendCombos(
  swept: readonly Combination[],
  extras: (Combination | undefined)[],
  includedBy: (number[] | undefined)[],
  include: ResolvedFilter,
  base: RequestBody,
): { count: number; changed: boolean } {
  const fields = Object.keys(include.values) as SweepField[];
  let count = 0;
  let changed = false;
  for (const [i, combo] of swept.entries()) {
    if (fields.some((field) => Object.hasOwn(combo, field) && combo[field] !== include.values[field]))
      continue;
    count++;
    for (const field of fields) {
      if (Object.hasOwn(combo, field)) continue;
      const extra = (extras[i] ??= {});
      const before = Object.hasOwn(extra, field) ? extra[field] : base[field];
      if (before !== include.values[field]) changed = true;
      extra[field] = include.values[field];
    }
    (includedBy[i] ??= []).push(include.index);
  }
  return { count, changed };
}

function buildRequest(base: RequestBody, values: Combination): RequestBody {
  return {
    model: base.model,
    character: base.character,
    reference: base.reference,
    ratio: (values.ratio as RequestBody["ratio"] | undefined) ?? base.ratio,
    bodyControl: (values.bodyControl as boolean | undefined) ?? base.bodyControl,
    expressionIntensity: (values.expressionIntensity as number | undefined) ?? base.expressionIntensity,
    seed: (values.seed as number | undefined) ?? base.seed,
    contentModeration: base.contentModeration,
  };
}

function includeEffect(include: ResolvedFilter, tally: IncludeTally, warnings: Diagnostic[]): IncludeEffect {
  const usefulExtension = tally.extended > 0 && tally.changed;
  const usefulAddition = tally.addedNew > 0;
  if (tally.extended > 0 && !tally.changed && tally.added === 0) {
    warnings.push(
      diagnosticAt(
        include.source,
        `include matches ${tally.extended} combination${tally.extended === 1 ? "" : "s"} but changes none of their values`,
      ),
    );
  }
  if (tally.added > 0 && !usefulAddition) {
    warnings.push(
      diagnosticAt(include.source, "include adds a combination that is already planned: it changes nothing"),
    );
  }
  let effect: IncludeEffect["effect"] = "none";
  if (usefulExtension && usefulAddition) effect = "both";
  else if (usefulExtension) effect = "extended";
  else if (usefulAddition) effect = "added";
  return {
    index: include.index,
    source: include.source,
    effect,
    extended: tally.extended,
    added: tally.addedNew,
  };
}

function sweptValues(tasks: readonly TaskPlan[]): PlanReport["swept"] {
  const values = new Map<SweepField, Set<ParamValue>>();
  for (const task of tasks) {
    for (const [field, value] of Object.entries(task.params)) {
      let set = values.get(field as SweepField);
      if (!set) values.set(field as SweepField, (set = new Set()));
      set.add(value);
    }
  }
  return [...values].map(([field, set]) => ({ field, values: [...set] }));
}
