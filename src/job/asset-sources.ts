// `assetSources:` of one file: CSV and JSONL catalogues and globs of local files, each entry read
// into named assets that are checked as assets written in the job file are. Paths in a catalogue
// are relative to the catalogue; a glob and its files are relative to the file that writes it.
import { globSync, statSync } from "node:fs";
import { basename, dirname, extname, resolve as resolvePath } from "node:path";
import { sha256Hex } from "../canonical.js";
import { describeFsError, errnoCode } from "../fs/errno.js";
import { readCsvCatalogue, readJsonlCatalogue, type Catalogue } from "./catalogue-files.js";
import { diagnosticAt, SpecError } from "./diagnostics.js";
import { expandEnvironmentIn, recordUse, type Environment, type EnvironmentUse } from "./env-values.js";
import type { Layer } from "./layers.js";
import type { Locator } from "./locator.js";
import { besideFile, decodeUtf8, MAX_CATALOGUE_BYTES, readFileWithin } from "./read-text.js";
import type { AssetSourceSpec, Diagnostic, JobFileLayer, SourceLocation } from "./types.js";

/** The schema's pattern for names (`$defs/name`). */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const NAME_RULE =
  "lowercase letters, digits, '.', '_' or '-', starting with a letter or digit, at most 64 characters";

/** A glob's files whose type the extension gives. */
const TYPE_BY_EXTENSION: Record<string, "image" | "video"> = {
  ".png": "image",
  ".jpg": "image",
  ".jpeg": "image",
  ".webp": "image",
  ".gif": "image",
  ".mp4": "video",
  ".mov": "video",
  ".webm": "video",
  ".m4v": "video",
};

/** One named asset and where it is written. */
export interface NamedAsset {
  name: string;
  asset: Record<string, unknown>;
  /** Locates `pointer` and what is under it (`/uri`, `/type`...). */
  locator: Locator;
  pointer: string;
  /** Where its name is written. */
  at: SourceLocation;
}

export interface SourcedAssets {
  assets: NamedAsset[];
  diagnostics: Diagnostic[];
  environment: EnvironmentUse[];
  /** Catalogue files read, with their sha256 (for the spec's digest). */
  files: { file: string; sha256: string }[];
}

export interface SourceOptions {
  cwd: string;
  env: Environment;
}

export function readAssetSources(layer: Layer, job: JobFileLayer, options: SourceOptions): SourcedAssets {
  const found: SourcedAssets = { assets: [], diagnostics: [], environment: [], files: [] };
  (job.assetSources ?? []).forEach((entry, index) => {
    const pointer = `/assetSources/${index}`;
    if (entry.glob !== undefined) readGlob(layer, entry, `${pointer}/glob`, options, found);
    else if (entry.csv !== undefined)
      readCatalogue(layer, entry.csv, "csv", `${pointer}/csv`, options, found);
    else if (entry.jsonl !== undefined)
      readCatalogue(layer, entry.jsonl, "jsonl", `${pointer}/jsonl`, options, found);
  });
  return found;
}

function readCatalogue(
  layer: Layer,
  written: string,
  kind: "csv" | "jsonl",
  pointer: string,
  options: SourceOptions,
  found: SourcedAssets,
): void {
  const file = besideFile(layer.file, written);
  let text: string;
  try {
    const bytes = readFileWithin(resolvePath(options.cwd, file), MAX_CATALOGUE_BYTES);
    text = decodeUtf8(file, bytes);
    found.files.push({ file, sha256: sha256Hex(bytes) });
  } catch (error) {
    if (error instanceof SpecError) found.diagnostics.push(...error.diagnostics);
    else {
      const reason =
        errnoCode(error) === "EFBIG"
          ? "it is larger than a catalogue may be (16 MB)"
          : describeFsError(error);
      found.diagnostics.push(diagnosticAt(layer.source.locate(pointer), `cannot read ${written}: ${reason}`));
    }
    return;
  }
  const catalogue: Catalogue = kind === "csv" ? readCsvCatalogue(file, text) : readJsonlCatalogue(file, text);
  found.diagnostics.push(...catalogue.diagnostics);
  const lines = text.split("\n");
  for (const row of catalogue.rows) {
    const rowPointer = `/${row.row}`;
    const rowLocator: Locator = {
      file,
      locate: (inner, part) => catalogue.locator.locate(rowPointer + inner, part),
    };
    const expanded = expandEnvironmentIn(row.asset, rowLocator, options.env, (line) => lines[line - 1]);
    found.diagnostics.push(...expanded.diagnostics);
    if (expanded.failed.length > 0) continue;
    for (const use of expanded.uses) for (const at of use.sources) recordUse(found.environment, use, at);
    const at = catalogue.locator.locate(rowPointer, "key");
    if (!NAME_PATTERN.test(row.name)) {
      const name = row.name === "" ? "is empty" : `"${row.name}" is not a valid name`;
      found.diagnostics.push(diagnosticAt(at, `the asset name ${name}: expected ${NAME_RULE}`));
      continue;
    }
    found.assets.push({
      name: row.name,
      asset: row.asset,
      locator: catalogue.locator,
      pointer: rowPointer,
      at,
    });
  }
}

function readGlob(
  layer: Layer,
  entry: AssetSourceSpec,
  pointer: string,
  options: SourceOptions,
  found: SourcedAssets,
): void {
  const pattern = entry.glob ?? "";
  const at = layer.source.locate(pointer);
  const folder = dirname(layer.absolute);
  // Every asset the glob makes is located at the glob: that is where its name and type come from.
  const locator: Locator = { file: at.file, locate: () => at };
  let paths: string[];
  try {
    paths = globSync(pattern, { cwd: folder })
      .filter((path) => statSync(resolvePath(folder, path)).isFile())
      .toSorted();
  } catch (error) {
    found.diagnostics.push(diagnosticAt(at, `cannot list ${pattern}: ${describeFsError(error)}`));
    return;
  }
  if (paths.length === 0) {
    found.diagnostics.push(
      diagnosticAt(at, `"${pattern}" matches no file (a glob is relative to the folder of ${layer.file})`),
    );
    return;
  }
  for (const path of paths) {
    const extension = extname(path).toLowerCase();
    const name = basename(path, extname(path));
    const type = entry.type ?? TYPE_BY_EXTENSION[extension];
    if (!NAME_PATTERN.test(name)) {
      found.diagnostics.push(
        diagnosticAt(
          at,
          `${path}: its file name gives the asset name "${name}", which is not valid (${NAME_RULE}); rename the file`,
        ),
      );
      continue;
    }
    if (type === undefined) {
      found.diagnostics.push(
        diagnosticAt(
          at,
          `${path}: cannot tell an image from a video by its extension "${extension}"; add type: image or type: video to this entry`,
        ),
      );
      continue;
    }
    found.assets.push({ name, asset: { type, path }, locator, pointer: "", at });
  }
}
