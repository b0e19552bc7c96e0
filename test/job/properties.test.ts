import * as fc from "fast-check";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { taskKeyOf } from "../../src/canonical.js";
import { planFromBytes, requestBodyProblems, type LoadedPlan } from "../../src/job/index.js";
import { RATIOS, type SweepField } from "../../src/job/types.js";

type Values = Partial<Record<SweepField, (string | number | boolean)[]>>;
type Entry = Partial<Record<SweepField, string | number | boolean>>;

interface GeneratedJob {
  /** The job as data, before it is written as YAML. */
  job: Record<string, unknown>;
  /** The values each plain sweep key takes, and the zip entries: the oracle's own product. */
  plain: Values;
  zip: Entry[];
  pairs: number;
  excludes: Entry[];
  includes: Entry[];
}

const seedSweep = fc.oneof(
  fc
    .uniqueArray(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 4 })
    .map((values) => ({ written: values as unknown, values })),
  fc
    .record({
      from: fc.integer({ min: 0, max: 20 }),
      count: fc.integer({ min: 1, max: 4 }),
      step: fc.integer({ min: 1, max: 3 }),
    })
    .map(({ from, count, step }) => {
      const to = from + (count - 1) * step + (step > 1 ? step - 1 : 0);
      const values = Array.from({ length: count }, (_, i) => from + i * step);
      return { written: { from, to, step } as unknown, values };
    }),
);

const generatedJob: fc.Arbitrary<GeneratedJob> = fc
  .record({
    seed: seedSweep,
    intensity: fc.option(fc.shuffledSubarray([1, 2, 3, 4, 5], { minLength: 1, maxLength: 3 }), {
      nil: undefined,
    }),
    zip: fc.uniqueArray(fc.record({ ratio: fc.constantFrom(...RATIOS), bodyControl: fc.boolean() }), {
      maxLength: 3,
      selector: (entry) => `${entry.ratio}/${entry.bodyControl}`,
    }),
    ratio: fc.option(fc.shuffledSubarray([...RATIOS], { minLength: 1, maxLength: 2 }), { nil: undefined }),
    pairs: fc.integer({ min: 1, max: 3 }),
  })
  .chain((sweep) => {
    const plain: Values = { seed: sweep.seed.values };
    if (sweep.intensity) plain.expressionIntensity = sweep.intensity;
    // A field is either a plain sweep key or in the zip, never both.
    if (sweep.zip.length === 0 && sweep.ratio) plain.ratio = sweep.ratio;
    const swept: [SweepField, fc.Arbitrary<string | number | boolean>][] = Object.entries(plain).map(
      ([field, values]) => [field as SweepField, fc.constantFrom(...(values ?? []))],
    );
    if (sweep.zip.length > 0) {
      swept.push(["ratio", fc.constantFrom(...sweep.zip.map((entry) => entry.ratio))]);
      swept.push(["bodyControl", fc.constantFrom(...sweep.zip.map((entry) => entry.bodyControl))]);
    }
    const exclude = fc
      .subarray(swept, { minLength: 1 })
      .chain((fields) => fc.tuple(...fields.map(([field, value]) => value.map((v) => [field, v] as const))))
      .map((pairs) => Object.fromEntries(pairs) as Entry);
    // Every include names a seed that no combination has, so each one adds a task.
    const include = fc.record({
      seed: fc.integer({ min: 1000, max: 1010 }),
      expressionIntensity: fc.integer({ min: 1, max: 5 }),
    });
    return fc
      .record({
        excludes: fc.array(exclude, { maxLength: 3 }),
        includes: fc.uniqueArray(include, {
          maxLength: 3,
          selector: (entry) => `${entry.seed}/${entry.expressionIntensity}`,
        }),
      })
      .map(({ excludes, includes }): GeneratedJob => {
        const sweepSpec: Record<string, unknown> = { seed: sweep.seed.written };
        if (plain.expressionIntensity) sweepSpec.expressionIntensity = plain.expressionIntensity;
        if (plain.ratio) sweepSpec.ratio = plain.ratio;
        if (sweep.zip.length > 0) sweepSpec.zip = sweep.zip;
        const job: Record<string, unknown> = {
          version: 1,
          name: "property",
          defaults: { seed: 9999, contentModeration: { publicFigureThreshold: "low" } },
          pairs: Array.from({ length: sweep.pairs }, (_, i) => ({
            id: `pair-${i}`,
            character: { type: "image", uri: `https://assets.example.com/c${i}.png` },
            reference: { type: "video", uri: "https://assets.example.com/r.mp4" },
          })),
          sweep: sweepSpec,
        };
        if (excludes.length > 0) job.exclude = excludes;
        if (includes.length > 0) job.include = includes;
        return { job, plain, zip: sweep.zip, pairs: sweep.pairs, excludes, includes };
      });
  });

/** The cartesian product, computed here without the planner's code. */
function product(plain: Values, zip: Entry[]): Entry[] {
  let combos: Entry[] = [{}];
  for (const [field, values] of Object.entries(plain)) {
    combos = combos.flatMap((combo) => (values ?? []).map((value) => ({ ...combo, [field]: value })));
  }
  if (zip.length > 0) combos = combos.flatMap((combo) => zip.map((entry) => ({ ...combo, ...entry })));
  return combos;
}

function load(text: string): LoadedPlan {
  return planFromBytes("job.yaml", new TextEncoder().encode(text));
}

/** The same data with every mapping's keys in reverse order. */
function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .toReversed()
        .map(([key, inner]) => [key, reverseKeys(inner)]),
    );
  }
  return value;
}

describe("expansion properties", () => {
  it("task count = pairs x (product of sweep sizes - excluded combinations + distinct includes)", () => {
    fc.assert(
      fc.property(generatedJob, ({ job, plain, zip, pairs, excludes, includes }) => {
        const combos = product(plain, zip);
        const excluded = combos.filter((combo) =>
          excludes.some((exclude) =>
            Object.entries(exclude).every(([field, value]) => combo[field as SweepField] === value),
          ),
        ).length;
        const { plan, report } = load(stringify(job));
        expect(plan.tasks).toHaveLength(pairs * (combos.length - excluded + includes.length));
        expect(
          report.includes.every((include) => include.effect === "added" && include.added === pairs),
        ).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it("gives unique keys that do not change when the YAML's keys are reordered or reformatted", () => {
    fc.assert(
      fc.property(generatedJob, ({ job }) => {
        const block = load(stringify(job)).plan;
        const keys = block.tasks.map((task) => task.key);
        expect(new Set(keys).size).toBe(keys.length);
        for (const task of block.tasks) expect(task.key).toBe(taskKeyOf(task.request));

        // Flow style, every mapping's keys reversed (which also reverses the sweep's dimensions).
        const reordered = load(JSON.stringify(reverseKeys(job))).plan;
        const requestsByKey = (tasks: typeof block.tasks) =>
          Object.fromEntries(
            tasks.map((task) => [
              task.key,
              JSON.stringify(task.request, Object.keys(task.request).toSorted()),
            ]),
          );
        expect(requestsByKey(reordered.tasks)).toEqual(requestsByKey(block.tasks));
      }),
      { numRuns: 100 },
    );
  });

  it("produces request bodies that each validate against the schema's request definition", () => {
    fc.assert(
      fc.property(generatedJob, ({ job }) => {
        for (const task of load(stringify(job)).plan.tasks)
          expect(requestBodyProblems(task.request)).toEqual([]);
      }),
      { numRuns: 100 },
    );
  });
});
