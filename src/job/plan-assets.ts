// The distinct assets a job's pairs use, each with every place it is written, so that problems
// found later (preflight probes) can be reported at the asset's line in the job file.
import type { Locator } from "./locator.js";
import { pointerSegment } from "./read-yaml.js";
import type { JobFile, LocalFile, PlanAsset } from "./types.js";

/** Assumes the schema and the rules passed (every name resolves). */
export function collectPlanAssets(
  job: JobFile,
  source: Locator,
  localFiles: readonly LocalFile[] = [],
): PlanAsset[] {
  const pathOf = new Map(localFiles.map((file) => [`${file.type} ${file.uri}`, file.path]));
  const byKey = new Map<string, PlanAsset>();
  job.pairs.forEach((pair, index) => {
    for (const role of ["character", "reference"] as const) {
      const ref = pair[role];
      const named = typeof ref === "string" ? job.assets?.[ref] : undefined;
      const media = named ?? (typeof ref === "string" ? undefined : ref);
      if (media?.uri === undefined) continue;
      const key = `${media.type} ${media.uri}`;
      let asset = byKey.get(key);
      if (asset === undefined) {
        const path = pathOf.get(key);
        asset = {
          type: media.type,
          uri: media.uri,
          roles: [],
          pairs: [],
          names: [],
          sources: [],
          ...(path !== undefined && { path }),
        };
        byKey.set(key, asset);
      }
      if (!asset.roles.includes(role)) asset.roles.push(role);
      if (!asset.pairs.includes(pair.id)) asset.pairs.push(pair.id);
      const location =
        typeof ref === "string"
          ? source.locate(`/assets/${pointerSegment(ref)}`, "key")
          : source.locate(`/pairs/${index}/${role}`, "key");
      if (!asset.sources.some((s) => s.line === location.line && s.column === location.column))
        asset.sources.push(location);
      if (typeof ref === "string" && !asset.names.includes(ref)) asset.names.push(ref);
      if (named?.duration !== undefined && asset.durationHint === undefined)
        asset.durationHint = named.duration;
    }
  });
  return [...byKey.values()];
}
