// The job file, its bases and its catalogues composed into one JobFile, with a Locator that still
// knows, for every value, the file, line and column where it is written. Merging is key by key,
// the extending file winning: the maps below merge one level deep (a default, an asset, a sweep
// key replaces the base's of the same name); every other value (lists: pairs, include, exclude;
// scalars) replaces the base's. A file's assets are its own `assets` and its `assetSources`.
import { relative, dirname } from "node:path";
import { sha256Hex } from "../canonical.js";
import { readAssetSources, type NamedAsset } from "./asset-sources.js";
import { diagnosticAt, sortDiagnostics, SpecError } from "./diagnostics.js";
import { recordUse, type Environment, type EnvironmentUse } from "./env-values.js";
import { isRecord, readLayers, type Layer } from "./layers.js";
import { RoutedLocator, type Locator } from "./locator.js";
import { expandMatrices } from "./matrix.js";
import { pointerSegment } from "./read-yaml.js";
import { validateJobSchema } from "./schema.js";
import type { AssetSpec, Diagnostic, JobFile, JobFileLayer, SourceLocation } from "./types.js";

/** Top-level maps that merge with a base's, one level deep. */
const MERGED_MAPS: ReadonlySet<string> = new Set(["provider", "defaults", "sweep", "output", "budget"]);
/** Keys that say how to build the job, not what it is: not part of the composed job. */
const COMPOSITION_KEYS: ReadonlySet<string> = new Set(["extends", "assetSources", "assets"]);

export interface ComposedJob {
  job: JobFile;
  locator: Locator;
  /** The job file's sha256 alone, or with its bases' and catalogues' when there are any. */
  sha256: string;
  /** Environment variables the files use, in the order first met. */
  environment: EnvironmentUse[];
  /** The files read besides the job file (bases, catalogues), as shown in messages. */
  inputs: string[];
}

export interface ComposeOptions {
  cwd: string;
  env: Environment;
}

interface Place {
  locator: Locator;
  pointer: string;
}

/** Throws SpecError listing every problem found, each in the file where it is written. */
export function composeJob(file: string, bytes: Uint8Array, options: ComposeOptions): ComposedJob {
  const chain = readLayers(file, bytes, options);
  if (chain.diagnostics.length > 0 || chain.layers.length === 0)
    throw new SpecError(sortDiagnostics(chain.diagnostics));
  const main = chain.layers[0] as Layer;
  const jobs = chain.layers.map((layer) => {
    if (layer.job === undefined) throw new Error(`${layer.file} should have been reported invalid`);
    return layer.job;
  });
  const diagnostics: Diagnostic[] = [];
  const environment = chain.environment;
  const inputs = chain.layers.slice(1).map(({ file: base, sha256 }) => ({ file: base, sha256 }));

  // Each file's own assets, inline and from its sources; a name may be defined once per file.
  const assetsByLayer = chain.layers.map((layer, index) => {
    const job = jobs[index] as JobFileLayer;
    const sourced = readAssetSources(layer, job, options);
    diagnostics.push(...sourced.diagnostics);
    inputs.push(...sourced.files);
    for (const use of sourced.environment) for (const at of use.sources) recordUse(environment, use, at);
    return layerAssets(layer, job.assets ?? {}, sourced.assets, diagnostics);
  });
  const sourcedAny = jobs.some((job) => (job.assetSources ?? []).length > 0);

  const routed = new RoutedLocator(file, main.source);
  const merged: Record<string, unknown> = {};
  const places = new Map<string, { place: Place; under: Map<string, Place> }>();
  for (const layer of chain.layers.toReversed()) {
    for (const [key, value] of Object.entries(layer.value)) {
      if (COMPOSITION_KEYS.has(key)) continue;
      const place: Place = { locator: layer.source, pointer: `/${pointerSegment(key)}` };
      const earlier = places.get(key);
      if (MERGED_MAPS.has(key) && isRecord(value) && isRecord(merged[key]) && earlier !== undefined) {
        merged[key] = { ...merged[key], ...value };
        earlier.place = place;
      } else {
        merged[key] = value;
        places.set(key, { place, under: new Map() });
      }
      const entry = places.get(key);
      if (entry !== undefined && isRecord(value))
        for (const name of Object.keys(value))
          entry.under.set(name, {
            locator: layer.source,
            pointer: `${place.pointer}/${pointerSegment(name)}`,
          });
    }
  }
  for (const [key, { place, under }] of places) {
    routed.route(`/${pointerSegment(key)}`, place.locator, place.pointer);
    for (const [name, inner] of under)
      routed.route(`/${pointerSegment(key)}/${pointerSegment(name)}`, inner.locator, inner.pointer);
  }

  const assets = mergeAssets(chain.layers, jobs, assetsByLayer, routed);
  if (assets !== undefined) merged.assets = assets;

  let matrices = false;
  if (Array.isArray(merged.pairs)) {
    const written = places.get("pairs")?.place.locator ?? main.source;
    const expansion = expandMatrices(merged.pairs as JobFile["pairs"], assets ?? {}, written, routed);
    diagnostics.push(...expansion.diagnostics);
    merged.pairs = expansion.pairs;
    matrices = expansion.expanded;
  }
  if (diagnostics.length > 0) throw new SpecError(sortDiagnostics(diagnostics));

  // A catalogue's rows (and a composed job in general) are checked as the job file's assets are.
  if (chain.layers.length > 1 || sourcedAny || matrices) {
    const validated = validateJobSchema({ file, value: merged, locate: (p, part) => routed.locate(p, part) });
    if ("diagnostics" in validated) throw new SpecError(sortDiagnostics(validated.diagnostics));
  }
  return {
    job: merged as unknown as JobFile,
    locator: routed,
    sha256: inputs.length === 0 ? main.sha256 : digestOf(main, inputs),
    environment,
    inputs: inputs.map((input) => input.file),
  };
}

/** A file's assets by name: its inline ones, then those of its sources (a second definition is an error). */
function layerAssets(
  layer: Layer,
  inline: Readonly<Record<string, AssetSpec>>,
  sourced: readonly NamedAsset[],
  diagnostics: Diagnostic[],
): Map<string, NamedAsset> {
  const assets = new Map<string, NamedAsset>();
  for (const [name, asset] of Object.entries(inline)) {
    const pointer = `/assets/${pointerSegment(name)}`;
    assets.set(name, {
      name,
      asset: asset as unknown as Record<string, unknown>,
      locator: layer.source,
      pointer,
      at: layer.source.locate(pointer, "key"),
    });
  }
  for (const asset of sourced) {
    const first = assets.get(asset.name);
    if (first === undefined) assets.set(asset.name, asset);
    else
      diagnostics.push(
        diagnosticAt(asset.at, `asset "${asset.name}" is defined twice: here and at ${describe(first.at)}`),
      );
  }
  return assets;
}

/** Every file's assets, the extending file's winning by name; undefined when there are none. */
function mergeAssets(
  layers: readonly Layer[],
  jobs: readonly JobFileLayer[],
  assetsByLayer: readonly Map<string, NamedAsset>[],
  routed: RoutedLocator,
): Record<string, AssetSpec> | undefined {
  let merged: Record<string, AssetSpec> | undefined;
  const withAssets = jobs.findIndex((job) => job.assets !== undefined);
  if (withAssets >= 0) routed.route("/assets", (layers[withAssets] as Layer).source, "/assets");
  for (const assets of assetsByLayer.toReversed()) {
    for (const [name, named] of assets) {
      merged ??= {};
      // defineProperty: a "__proto__" name stays an ordinary key, as the YAML reader makes it.
      Object.defineProperty(merged, name, {
        value: named.asset,
        enumerable: true,
        writable: true,
        configurable: true,
      });
      routed.route(`/assets/${pointerSegment(name)}`, named.locator, named.pointer);
    }
  }
  return merged;
}

function describe(at: SourceLocation): string {
  return `${at.file}:${at.line}:${at.column}`;
}

/** The job file's sha256 with every other file's, each named relative to the job file's folder. */
function digestOf(main: Layer, inputs: readonly { file: string; sha256: string }[]): string {
  const folder = dirname(main.file);
  const lines = [main.sha256, ...inputs.map((input) => `${relative(folder, input.file)} ${input.sha256}`)];
  return sha256Hex(new TextEncoder().encode(lines.join("\n")));
}
