// `plan --json`: the job, where its outputs go, what it will cost and every task with the exact
// body that would be POSTed and its own estimated cost. Written one task per line, so a
// 100,000-task plan never becomes one huge string.
import type { CostEstimate, TaskCost } from "../cost/index.js";
import type { LoadedPlan, TaskPlan } from "../job/types.js";

/**
 * The document's lines. With a subset (`jobTotal` given), total is the job's and selected the
 * number of tasks listed; the cost is the listed tasks'.
 */
export function* planJsonLines(
  { plan }: LoadedPlan,
  estimate: CostEstimate,
  jobTotal?: number,
): Generator<string> {
  const counts =
    jobTotal === undefined
      ? `"total":${plan.tasks.length}`
      : `"total":${jobTotal},"selected":${plan.tasks.length}`;
  const cost = {
    provider: estimate.provider,
    basis: estimate.basis,
    credits: estimate.credits,
    usd: estimate.usd,
    unknownTasks: estimate.unknownTasks,
  };
  yield `{"job":${JSON.stringify(plan.job)},"outputDir":${JSON.stringify(plan.outputDir)},${counts},"cost":${JSON.stringify(cost)},"tasks":[`;
  const taskJson = createTaskJson(estimate.perTask);
  const last = plan.tasks.length - 1;
  for (let index = 0; index <= last; index++) {
    const line = taskJson(plan.tasks[index]!);
    yield index < last ? line + "," : line;
  }
  yield "]}";
}

/** What JSON.stringify gives for a task's --json entry (estimatedCost null: unknown). */
export function genericTaskJson(task: TaskPlan, estimatedCost: TaskCost | null): string {
  const { key, pair, params, request, output, source } = task;
  return JSON.stringify({ key, pair, params, request, output, source, estimatedCost });
}

/**
 * The task's --json entry, written out field by field with the objects a pair's tasks share
 * (character, reference, source) serialised once: twice as fast as genericTaskJson on a 100,000-task
 * plan. Its first line is compared with genericTaskJson's; should a field ever be added to the plan
 * and not here, every line falls back to the generic form rather than lose it.
 */
export function createTaskJson(costs: ReadonlyMap<string, TaskCost | null>): (task: TaskPlan) => string {
  const shared = new WeakMap<object, string>();
  const json = (value: object): string => {
    let text = shared.get(value);
    if (text === undefined) shared.set(value, (text = JSON.stringify(value)));
    return text;
  };
  const q = JSON.stringify;
  let mode: "unverified" | "fast" | "generic" = "unverified";
  return (task) => {
    const cost = costs.get(task.key) ?? null;
    if (mode === "generic") return genericTaskJson(task, cost);
    const r = task.request;
    const line =
      `{"key":${q(task.key)},"pair":${q(task.pair)},"params":${q(task.params)},` +
      `"request":{"model":${q(r.model)},"character":${json(r.character)},"reference":${json(r.reference)},` +
      `"ratio":${q(r.ratio)},"bodyControl":${q(r.bodyControl)},"expressionIntensity":${q(r.expressionIntensity)},` +
      `"seed":${q(r.seed)},"contentModeration":${json(r.contentModeration)}},` +
      `"output":${q(task.output)},"source":[${task.source.map(json).join(",")}],` +
      `"estimatedCost":${cost === null ? "null" : `{"credits":${q(cost.credits)},"usd":${q(cost.usd)}}`}}`;
    if (mode === "unverified") {
      const generic = genericTaskJson(task, cost);
      mode = line === generic ? "fast" : "generic";
      return generic;
    }
    return line;
  };
}
