import { diagnosticAt } from "./diagnostics.js";
import type { Diagnostic, ResolvedJob, ResolvedPair, SourceLocation, SweepDimension } from "./types.js";

/** A typo such as `seed: {from: 0, to: 4000000000}` must not quietly plan billions of paid renders. */
export const DEFAULT_MAX_TASKS = 10_000;

export function dimensionSize(dimension: SweepDimension): number {
  switch (dimension.kind) {
    case "values":
      return dimension.values.length;
    case "range":
      return Math.floor((dimension.to - dimension.from) / dimension.step) + 1;
    case "zip":
      return dimension.entries.length;
  }
}

/** Combinations of a pair's sweep before excludes: a product of sizes, nothing materialised. */
export function pairCombinationCount(pair: ResolvedPair): number {
  return pair.dimensions.reduce((product, dimension) => product * dimensionSize(dimension), 1);
}

/**
 * An upper bound of the job's task count, computed arithmetically: every pair's sweep, plus one
 * task per include and pair it may add. Excludes are not subtracted: they are only known by expanding.
 */
export function taskCountUpperBound(job: ResolvedJob): number {
  let total = 0;
  for (const pair of job.pairs) total += pairCombinationCount(pair);
  for (const include of job.includes) total += include.pair === undefined ? job.pairs.length : 1;
  return total;
}

/**
 * The guard against runaway sweeps, located at the sweep key that grows the biggest pair the most
 * (or at `pairs` when the pairs themselves are too many).
 */
export function checkTaskCount(
  job: ResolvedJob,
  maxTasks: number,
  pairsLocation: SourceLocation,
): Diagnostic | undefined {
  const total = taskCountUpperBound(job);
  if (total <= maxTasks) return undefined;
  let biggest: ResolvedPair | undefined;
  let biggestCount = -1;
  for (const pair of job.pairs) {
    const count = pairCombinationCount(pair);
    if (count > biggestCount) [biggest, biggestCount] = [pair, count];
  }
  const largestDimension = biggest?.dimensions.reduce<SweepDimension | undefined>(
    (best, dimension) =>
      best === undefined || dimensionSize(dimension) > dimensionSize(best) ? dimension : best,
    undefined,
  );
  const limit = `over the limit of ${formatCount(maxTasks)} tasks; narrow the sweep, or raise the limit with --max-tasks`;
  if (!biggest || !largestDimension || biggestCount === 1) {
    return diagnosticAt(pairsLocation, `the job expands to ${formatCount(total)} tasks, ${limit}`);
  }
  const whole = total === biggestCount ? "" : ` (${formatCount(total)} in the whole job)`;
  const field = largestDimension.kind === "zip" ? "zip" : largestDimension.field;
  return diagnosticAt(
    largestDimension.source,
    `this sweep expands to ${formatCount(biggestCount)} tasks for pair "${biggest.id}"${whole}, ${limit} (${field} alone has ${formatCount(dimensionSize(largestDimension))} values)`,
  );
}

export function formatCount(count: number): string {
  return Number.isFinite(count) ? count.toLocaleString("en-US") : "more than 10^308";
}
