// Preflight for a whole plan: every distinct asset checked at once (bounded concurrency), each
// problem reported at every line where the asset is written, before anything is submitted.
import { join } from "node:path";
import pLimit from "p-limit";
import { diagnosticAt, SpecError, sortDiagnostics } from "../job/diagnostics.js";
import type { Diagnostic, LoadedPlan, PlanAsset, ProviderName } from "../job/types.js";
import { PROBE_CACHE_FILE, readProbeCache, writeProbeCache, type ProbeCache } from "./cache.js";
import { checkAsset, type AssetProbe } from "./check-asset.js";
import { ProbeHttp, type ProbeHttpOptions } from "./http.js";

export interface PreflightOptions {
  /** The probe cache file; none (no caching) when absent. See `probeCachePath`. */
  cacheFile?: string;
  /** Assets probed at once (default 4). */
  concurrency?: number;
  http?: ProbeHttpOptions;
  /** Probe loopback URLs only, leaving the others unchecked with a warning (for --simulate). */
  loopbackOnly?: boolean;
  /** The provider in effect (how local files would be sent). Default: the plan's. */
  provider?: ProviderName;
}

export interface PreflightReport {
  assets: AssetProbe[];
  /** Problems, at the assets' lines: the service would refuse these assets. */
  problems: Diagnostic[];
  warnings: Diagnostic[];
  requests: number;
  bytes: number;
}

/** `<outputDir>/.actbatch/probe-cache.json`, beside the run's other state. */
export function probeCachePath(outputDir: string): string {
  return join(outputDir, ".actbatch", PROBE_CACHE_FILE);
}

export async function preflightPlan(
  loaded: LoadedPlan,
  options: PreflightOptions = {},
): Promise<PreflightReport> {
  const assets = loaded.report.assets ?? [];
  const cache: ProbeCache =
    options.cacheFile === undefined
      ? { entries: new Map(), changed: false }
      : await readProbeCache(options.cacheFile);
  const http = new ProbeHttp(options.http);
  const limit = pLimit(options.concurrency ?? 4);
  let probes: AssetProbe[];
  try {
    probes = await Promise.all(
      assets.map((asset) =>
        limit(() =>
          checkAsset(asset, {
            http,
            cache,
            loopbackOnly: options.loopbackOnly === true,
            provider: options.provider ?? loaded.plan.provider.name,
          }),
        ),
      ),
    );
  } finally {
    await http.close();
  }
  if (options.cacheFile !== undefined) await writeProbeCache(options.cacheFile, cache);
  const problems: Diagnostic[] = [];
  const warnings: Diagnostic[] = [];
  for (const probe of probes) {
    for (const problem of probe.problems) problems.push(...at(probe.asset, problem));
    for (const warning of probe.warnings) warnings.push(...at(probe.asset, warning));
  }
  return {
    assets: probes,
    problems: sortDiagnostics(problems),
    warnings: sortDiagnostics(warnings),
    requests: probes.reduce((sum, probe) => sum + probe.requests, 0),
    bytes: probes.reduce((sum, probe) => sum + probe.bytes, 0),
  };
}

/** Throws a SpecError (exit 2) listing every problem, when there is any. */
export function assertPreflightPassed(report: PreflightReport): void {
  if (report.problems.length > 0)
    throw new SpecError(report.problems, "nothing was submitted; fix the assets (or pass --no-preflight)");
}

/** Seconds per reference URI, as the probes found them: the cost estimate's and output checks' input. */
export function probedDurations(report: PreflightReport): Map<string, number> {
  const durations = new Map<string, number>();
  for (const probe of report.assets) {
    if (probe.durationSec !== undefined && probe.asset.roles.includes("reference"))
      durations.set(probe.asset.uri, probe.durationSec);
  }
  return durations;
}

function at(asset: PlanAsset, message: string): Diagnostic[] {
  return asset.sources.map((source) => diagnosticAt(source, `${labelOf(asset)}: ${message}`));
}

function labelOf(asset: PlanAsset): string {
  if (asset.names.length > 0) return asset.names.map((name) => `asset "${name}"`).join(", ");
  return asset.roles.join(" and ");
}
