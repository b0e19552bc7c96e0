// Checks a schema cannot express, one named function each. They run on a job that passed the
// schema, so shapes are known; each reports at the YAML node the user has to change.
import { diagnosticAt } from "./diagnostics.js";
import { DIR_PLACEHOLDERS, NAME_PLACEHOLDERS, nameSegmentProblem, parseTemplate } from "./output-template.js";
import type { Locator } from "./locator.js";
import { pointerSegment } from "./read-yaml.js";
import { didYouMean } from "./suggest.js";
import {
  SWEEP_FIELDS,
  type Diagnostic,
  type JobFile,
  type MediaSpec,
  type SweepField,
  type SweepSpec,
} from "./types.js";
import { assetUriProblem, baseUrlProblem } from "./uris.js";

export interface RuleContext {
  job: JobFile;
  source: Locator;
  errors: Diagnostic[];
  warnings: Diagnostic[];
}

type Rule = (context: RuleContext) => void;

/** Runs every rule; returns the errors and warnings found, in file order. */
export function checkRules(job: JobFile, source: Locator): { errors: Diagnostic[]; warnings: Diagnostic[] } {
  const context: RuleContext = { job, source, errors: [], warnings: [] };
  for (const rule of RULES) rule(context);
  return { errors: context.errors, warnings: context.warnings };
}

function report(
  context: RuleContext,
  pointer: string,
  message: string,
  part: "key" | "value" = "value",
): void {
  context.errors.push(diagnosticAt(context.source.locate(pointer, part), message));
}

function warn(context: RuleContext, pointer: string, message: string, part: "key" | "value" = "value"): void {
  context.warnings.push(diagnosticAt(context.source.locate(pointer, part), message));
}

const checkUniquePairIds: Rule = (context) => {
  const firstLine = new Map<string, number>();
  context.job.pairs.forEach((pair, index) => {
    const pointer = `/pairs/${index}/id`;
    const earlier = firstLine.get(pair.id);
    if (earlier === undefined) firstLine.set(pair.id, context.source.locate(pointer).line);
    else
      report(
        context,
        pointer,
        `duplicate pair id "${pair.id}" (first used on line ${earlier}); pair ids must be unique`,
      );
  });
};

const checkNamesAreSafePathSegments: Rule = (context) => {
  const jobProblem = nameSegmentProblem(context.job.name);
  if (jobProblem) report(context, "/name", `job name ${jobProblem}`);
  context.job.pairs.forEach((pair, index) => {
    const problem = nameSegmentProblem(pair.id);
    if (problem) report(context, `/pairs/${index}/id`, `pair id ${problem}`);
  });
};

const checkAssetReferences: Rule = (context) => {
  const assets = context.job.assets ?? {};
  const used = new Set<string>();
  context.job.pairs.forEach((pair, index) => {
    for (const role of ["character", "reference"] as const) {
      const ref = pair[role];
      const pointer = `/pairs/${index}/${role}`;
      if (typeof ref !== "string") continue;
      used.add(ref);
      if (Object.hasOwn(assets, ref)) continue;
      const names = Object.keys(assets);
      const hint = didYouMean(ref, names);
      const known = names.length > 0 ? `known assets: ${names.join(", ")}` : "the job defines no assets";
      report(context, pointer, `unknown asset "${ref}"${hint ? `: ${hint}` : ` (${known})`}`);
    }
  });
  // Only the job file's own assets: a base's or a catalogue's serve many jobs, each using a few.
  for (const name of Object.keys(assets)) {
    const pointer = `/assets/${pointerSegment(name)}`;
    if (!used.has(name) && context.source.locate(pointer, "key").file === context.source.file)
      warn(context, pointer, `asset "${name}" is not used by any pair`, "key");
  }
};

/** A pair's character or reference, resolved through `assets`; undefined when the name is unknown. */
function resolveRef(job: JobFile, ref: string | MediaSpec): MediaSpec | undefined {
  if (typeof ref !== "string") return ref;
  return job.assets && Object.hasOwn(job.assets, ref) ? job.assets[ref] : undefined;
}

const checkReferenceIsVideo: Rule = (context) => {
  context.job.pairs.forEach((pair, index) => {
    const reference = resolveRef(context.job, pair.reference);
    if (reference === undefined || reference.type === "video") return;
    const what =
      typeof pair.reference === "string" ? `asset "${pair.reference}" is an image` : "it is an image";
    report(
      context,
      `/pairs/${index}/reference`,
      `a reference must be a video (the performance to transfer), but ${what}`,
    );
  });
};

const checkAssetUris: Rule = (context) => {
  for (const [name, asset] of Object.entries(context.job.assets ?? {})) {
    const problem = mediaProblem(asset);
    if (problem)
      report(context, `/assets/${pointerSegment(name)}${problem.at}`, `asset "${name}": ${problem.message}`);
  }
  context.job.pairs.forEach((pair, index) => {
    for (const role of ["character", "reference"] as const) {
      const ref = pair[role];
      if (typeof ref === "string") continue;
      const problem = mediaProblem(ref);
      if (problem) report(context, `/pairs/${index}/${role}${problem.at}`, `${role}: ${problem.message}`);
    }
  });
};

/** What is wrong with a media's uri or path (the schema saw to it that it has exactly one). */
function mediaProblem(media: MediaSpec): { at: string; message: string } | undefined {
  if (media.path !== undefined)
    return /^[a-z][a-z0-9+.-]+:\/\//i.test(media.path)
      ? { at: "/path", message: "path is a file on this machine; write a URL as uri:" }
      : undefined;
  if (media.uri === undefined) return undefined;
  const problem = assetUriProblem(media.uri, media.type);
  return problem === undefined ? undefined : { at: "/uri", message: problem };
}

/** Every sweep of the job with its pointer: the job's, then each pair's. */
function sweepsOf(job: JobFile): { sweep: SweepSpec; pointer: string }[] {
  const sweeps: { sweep: SweepSpec; pointer: string }[] = [];
  if (job.sweep) sweeps.push({ sweep: job.sweep, pointer: "/sweep" });
  job.pairs.forEach((pair, index) => {
    if (pair.sweep) sweeps.push({ sweep: pair.sweep, pointer: `/pairs/${index}/sweep` });
  });
  return sweeps;
}

const checkRanges: Rule = (context) => {
  for (const { sweep, pointer } of sweepsOf(context.job)) {
    for (const field of ["expressionIntensity", "seed"] as const) {
      const values = sweep[field];
      if (values === undefined || Array.isArray(values)) continue;
      if (values.from > values.to) {
        report(
          context,
          `${pointer}/${field}/to`,
          `range ends before it starts: to (${values.to}) is less than from (${values.from})`,
        );
      }
    }
  }
};

const checkZip: Rule = (context) => {
  for (const { sweep, pointer } of sweepsOf(context.job)) {
    const zip = sweep.zip;
    if (!zip) continue;
    const first = zip[0];
    const firstKeys = first ? Object.keys(first).toSorted().join(", ") : "";
    const seen = new Map<string, number>();
    zip.forEach((entry, index) => {
      const keys = Object.keys(entry).toSorted().join(", ");
      if (index > 0 && keys !== firstKeys) {
        report(
          context,
          `${pointer}/zip/${index}`,
          `zip entry sets ${keys}, but the first entry sets ${firstKeys}: every zip entry must set the same keys`,
        );
      }
      const id = JSON.stringify(Object.entries(entry).toSorted(([a], [b]) => a.localeCompare(b)));
      const earlier = seen.get(id);
      if (earlier !== undefined)
        report(context, `${pointer}/zip/${index}`, `duplicate zip entry (same as entry ${earlier + 1})`);
      else seen.set(id, index);
    });
    for (const key of Object.keys(first ?? {})) {
      if (Object.hasOwn(sweep, key) && key !== "zip") {
        report(
          context,
          `${pointer}/${key}`,
          `"${key}" is both a sweep key and a zip key; list its values in one place`,
          "key",
        );
      }
    }
  }
};

const checkPairFixesAndSweepsSameField: Rule = (context) => {
  context.job.pairs.forEach((pair, index) => {
    if (!pair.sweep) return;
    const swept = new Set<string>([
      ...Object.keys(pair.sweep),
      ...(pair.sweep.zip ?? []).flatMap((entry) => Object.keys(entry)),
    ]);
    for (const field of SWEEP_FIELDS) {
      if (pair[field] !== undefined && swept.has(field)) {
        warn(
          context,
          `/pairs/${index}/${field}`,
          `pair "${pair.id}" fixes ${field} and also sweeps it; the sweep wins`,
          "key",
        );
      }
    }
  });
};

function sweptFields(job: JobFile): Set<SweepField> {
  const fields = new Set<SweepField>();
  for (const { sweep } of sweepsOf(job)) {
    for (const field of SWEEP_FIELDS) if (sweep[field] !== undefined) fields.add(field);
    for (const entry of sweep.zip ?? [])
      for (const field of SWEEP_FIELDS) if (entry[field] !== undefined) fields.add(field);
  }
  return fields;
}

const checkIncludeExcludeEntries: Rule = (context) => {
  const pairIds = context.job.pairs.map((pair) => pair.id);
  const swept = sweptFields(context.job);
  for (const list of ["include", "exclude"] as const) {
    context.job[list]?.forEach((entry, index) => {
      const pointer = `/${list}/${index}`;
      if (entry.pair !== undefined && !pairIds.includes(entry.pair)) {
        const hint = didYouMean(entry.pair, pairIds);
        report(
          context,
          `${pointer}/pair`,
          `unknown pair "${entry.pair}"${hint ? `: ${hint}` : ` (pairs: ${pairIds.join(", ")})`}`,
        );
      }
      const fields = SWEEP_FIELDS.filter((field) => entry[field] !== undefined);
      if (list === "include" && fields.length === 0) {
        report(context, pointer, `an include entry needs at least one of ${SWEEP_FIELDS.join(", ")}`);
      }
      if (list === "exclude") {
        for (const field of fields) {
          if (swept.has(field)) continue;
          report(
            context,
            `${pointer}/${field}`,
            `exclude key "${field}" is not swept anywhere in this job; exclude only filters swept values (swept: ${[...swept].join(", ") || "none"})`,
            "key",
          );
        }
      }
    });
  }
};

const checkProvider: Rule = (context) => {
  const baseUrl = context.job.provider?.baseUrl;
  if (baseUrl === undefined) return;
  const problem = baseUrlProblem(baseUrl);
  if (problem) report(context, "/provider/baseUrl", `base URL: ${problem}`);
};

const checkOutputTemplates: Rule = (context) => {
  const output = context.job.output;
  if (output?.dir !== undefined) {
    const parsed = parseTemplate(output.dir, DIR_PLACEHOLDERS);
    if ("problem" in parsed)
      report(context, "/output/dir", `output.dir: ${parsed.problem}; the folder is the same for every task`);
  }
  if (output?.name !== undefined) {
    const parsed = parseTemplate(output.name, NAME_PLACEHOLDERS);
    if ("problem" in parsed) report(context, "/output/name", `output.name: ${parsed.problem}`);
  }
};

const RULES: readonly Rule[] = [
  checkUniquePairIds,
  checkNamesAreSafePathSegments,
  checkAssetReferences,
  checkReferenceIsVideo,
  checkAssetUris,
  checkRanges,
  checkZip,
  checkPairFixesAndSweepsSameField,
  checkIncludeExcludeEntries,
  checkProvider,
  checkOutputTemplates,
];
