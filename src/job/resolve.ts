// Written job -> resolved job, exactly once: assets looked up, defaults applied, and each pair's
// effective sweep worked out (DESIGN.md section 2 precedence). Assumes the schema and the rules passed.
import {
  DEFAULT_OUTPUT_DIR,
  DEFAULT_OUTPUT_NAME,
  DIR_PLACEHOLDERS,
  parseTemplate,
} from "./output-template.js";
import type { Locator } from "./locator.js";
import {
  SWEEP_FIELDS,
  type Combination,
  type CombinationSpec,
  type JobFile,
  type MediaRef,
  type MediaSpec,
  type PairSpec,
  type RequestBody,
  type ResolvedFilter,
  type ResolvedJob,
  type ResolvedPair,
  type SweepDimension,
  type SweepField,
  type SweepSpec,
} from "./types.js";

export const DEFAULT_CONCURRENCY = 4;

/** The service's reference defaults (CometAPI marks every field required, so every field is sent). */
export const REQUEST_DEFAULTS = {
  model: "act_two",
  ratio: "1280:720",
  bodyControl: true,
  expressionIntensity: 1,
  seed: 1,
  publicFigureThreshold: "auto",
} as const;

export interface ResolveOptions {
  spec: { file: string; sha256: string };
  outDir?: string;
}

export function resolveJob(job: JobFile, source: Locator, options: ResolveOptions): ResolvedJob {
  const outputDir = options.outDir ?? expandOutputDir(job.output?.dir ?? DEFAULT_OUTPUT_DIR, job.name);
  const provider = job.provider ?? {};
  return {
    job: job.name,
    spec: options.spec,
    provider: {
      name: provider.name ?? "cometapi",
      ...(provider.baseUrl !== undefined && { baseUrl: provider.baseUrl }),
      ...(provider.runwayVersion !== undefined && { runwayVersion: provider.runwayVersion }),
      ...(provider.pricePerTaskUsd !== undefined && { pricePerTaskUsd: provider.pricePerTaskUsd }),
    },
    concurrency: job.concurrency ?? DEFAULT_CONCURRENCY,
    outputDir,
    outputName: {
      template: job.output?.name ?? DEFAULT_OUTPUT_NAME,
      source: source.locate(
        job.output?.name !== undefined ? "/output/name" : "/pairs",
        job.output?.name !== undefined ? "value" : "key",
      ),
    },
    pairs: job.pairs.map((pair, index) => resolvePair(job, pair, index, source)),
    includes: (job.include ?? []).map((entry, index) =>
      resolveFilter(entry, `/include/${index}`, index, source),
    ),
    excludes: (job.exclude ?? []).map((entry, index) =>
      resolveFilter(entry, `/exclude/${index}`, index, source),
    ),
  };
}

function expandOutputDir(template: string, job: string): string {
  const parsed = parseTemplate(template, DIR_PLACEHOLDERS);
  if ("problem" in parsed) return template; // reported by the rules already
  // {job} is the only placeholder a folder may use: the folder is the same for every task.
  return parsed.parts.map((part) => ("literal" in part ? part.literal : job)).join("");
}

function resolveFilter(
  entry: CombinationSpec & { pair?: string },
  pointer: string,
  index: number,
  source: Locator,
): ResolvedFilter {
  return {
    index,
    source: source.locate(pointer),
    ...(entry.pair !== undefined && { pair: entry.pair }),
    values: pickCombination(entry),
  };
}

/** The swept-field values of an object, in the order they were written. */
function pickCombination(entry: CombinationSpec): Combination {
  const combination: Combination = {};
  for (const key of Object.keys(entry)) {
    if ((SWEEP_FIELDS as readonly string[]).includes(key)) {
      const field = key as SweepField;
      const value = entry[field];
      if (value !== undefined) combination[field] = value;
    }
  }
  return combination;
}

function lookupAsset(job: JobFile, ref: string | MediaSpec): MediaRef {
  const asset =
    typeof ref === "string"
      ? job.assets && Object.hasOwn(job.assets, ref)
        ? job.assets[ref]
        : undefined
      : ref;
  if (!asset) throw new Error(`asset "${String(ref)}" should have been checked by the rules`);
  if (asset.uri === undefined) throw new Error("local files should have been given their placeholder URI");
  // Frozen: every task of the pair shares these objects.
  return Object.freeze({ type: asset.type, uri: asset.uri });
}

function resolvePair(job: JobFile, pair: PairSpec, index: number, source: Locator): ResolvedPair {
  const defaults = job.defaults ?? {};
  const reference = lookupAsset(job, pair.reference);
  const base: RequestBody = {
    model: "act_two",
    character: lookupAsset(job, pair.character),
    reference: Object.freeze({ type: "video", uri: reference.uri }),
    ratio: pair.ratio ?? defaults.ratio ?? REQUEST_DEFAULTS.ratio,
    bodyControl: pair.bodyControl ?? defaults.bodyControl ?? REQUEST_DEFAULTS.bodyControl,
    expressionIntensity:
      pair.expressionIntensity ?? defaults.expressionIntensity ?? REQUEST_DEFAULTS.expressionIntensity,
    seed: pair.seed ?? defaults.seed ?? REQUEST_DEFAULTS.seed,
    contentModeration: Object.freeze({
      publicFigureThreshold:
        pair.contentModeration?.publicFigureThreshold ??
        defaults.contentModeration?.publicFigureThreshold ??
        REQUEST_DEFAULTS.publicFigureThreshold,
    }),
  };
  return {
    id: pair.id,
    source: source.locate(`/pairs/${index}`),
    base,
    dimensions: effectiveSweep(job.sweep, pair, `/pairs/${index}/sweep`, source),
  };
}

/**
 * The pair's effective sweep: the job sweep minus every field the pair fixes, with the pair's own
 * sweep keys replacing the job's keys of the same name (a pair's zip replaces the job's zip). Job
 * keys keep their written position; the pair's other keys follow, in the pair's order.
 */
function effectiveSweep(
  jobSweep: SweepSpec | undefined,
  pair: PairSpec,
  pairPointer: string,
  source: Locator,
): SweepDimension[] {
  const pairSweep = pair.sweep ?? {};
  const pairSweptFields = new Set<string>(Object.keys(pairSweep).filter((key) => key !== "zip"));
  for (const entry of pairSweep.zip ?? []) for (const key of Object.keys(entry)) pairSweptFields.add(key);
  const overridden = (field: string): boolean =>
    pairSweptFields.has(field) ||
    ((SWEEP_FIELDS as readonly string[]).includes(field) && pair[field as SweepField] !== undefined);

  const dimensions: SweepDimension[] = [];
  const placed = new Set<string>();
  for (const key of Object.keys(jobSweep ?? {})) {
    if (key === "zip" && pairSweep.zip !== undefined) {
      dimensions.push(dimensionOf(pairSweep, "zip", pairPointer, source));
      placed.add("zip");
    } else if (key === "zip") {
      const entries = reduceZip(jobSweep?.zip ?? [], overridden);
      const fields = Object.keys(entries[0] ?? {}) as SweepField[];
      if (entries.length > 0)
        dimensions.push({ kind: "zip", fields, entries, source: source.locate("/sweep/zip", "key") });
    } else if (Object.hasOwn(pairSweep, key)) {
      dimensions.push(dimensionOf(pairSweep, key, pairPointer, source));
      placed.add(key);
    } else if (!overridden(key) && jobSweep) {
      dimensions.push(dimensionOf(jobSweep, key, "/sweep", source));
    }
  }
  for (const key of Object.keys(pairSweep)) {
    if (!placed.has(key)) dimensions.push(dimensionOf(pairSweep, key, pairPointer, source));
  }
  return dimensions;
}

/** The job's zip entries without the fields a pair overrides; duplicates that leaves are dropped. */
function reduceZip(
  entries: readonly CombinationSpec[],
  overridden: (field: string) => boolean,
): Combination[] {
  const seen = new Set<string>();
  const reduced: Combination[] = [];
  for (const entry of entries) {
    const combination: Combination = {};
    for (const [field, value] of Object.entries(pickCombination(entry))) {
      if (!overridden(field)) combination[field as SweepField] = value;
    }
    const id = JSON.stringify(combination);
    if (Object.keys(combination).length === 0 || seen.has(id)) continue;
    seen.add(id);
    reduced.push(combination);
  }
  return reduced;
}

function dimensionOf(sweep: SweepSpec, key: string, pointer: string, source: Locator): SweepDimension {
  const location = source.locate(`${pointer}/${key}`, "key");
  if (key === "zip") {
    const entries = (sweep.zip ?? []).map(pickCombination);
    return { kind: "zip", fields: Object.keys(entries[0] ?? {}) as SweepField[], entries, source: location };
  }
  const field = key as SweepField;
  const values = sweep[field];
  if (values === undefined) throw new Error(`sweep key ${key} vanished`);
  if (Array.isArray(values)) return { kind: "values", field, values, source: location };
  return { kind: "range", field, from: values.from, to: values.to, step: values.step ?? 1, source: location };
}
