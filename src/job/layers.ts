// A job file and the chain of bases it extends (`extends: ./base.yaml`, relative to the file that
// writes it), each read as its own YAML document: environment values expanded, checked against the
// schema on its own, so every problem is found in the file where it is written.
import { resolve as resolvePath } from "node:path";
import { sha256Hex } from "../canonical.js";
import { describeFsError, errnoCode } from "../fs/errno.js";
import { diagnosticAt, SpecError } from "./diagnostics.js";
import { expandEnvironmentIn, recordUse, type Environment, type EnvironmentUse } from "./env-values.js";
import { besideFile, decodeUtf8, MAX_JOB_FILE_BYTES, readFileWithin, tooLarge } from "./read-text.js";
import { readYaml, type YamlSource } from "./read-yaml.js";
import { layerKeys, validateJobSchema } from "./schema.js";
import { closestMatch } from "./suggest.js";
import type { Diagnostic, JobFileLayer, SourceLocation } from "./types.js";

/** A chain longer than this is a mistake, not a design. */
export const MAX_EXTENDS_DEPTH = 16;

/** One file of the chain, valid on its own. */
export interface Layer {
  /** As shown in messages: as given for the job file, beside the extending file for a base. */
  file: string;
  absolute: string;
  /** Its text, for the exact column of a problem inside a string. */
  lines: readonly string[];
  source: YamlSource;
  /** Its data, whatever its shape. */
  value: Readonly<Record<string, unknown>>;
  /** Its data when it is valid on its own (the chain is composed only when every file is). */
  job: JobFileLayer | undefined;
  sha256: string;
}

export interface LayerChain {
  /** The job file first, then its base, its base's base... */
  layers: Layer[];
  /** A base could not be read: what the chain lacks may be in it. */
  broken: boolean;
  diagnostics: Diagnostic[];
  environment: EnvironmentUse[];
}

export interface LayerOptions {
  cwd: string;
  env: Environment;
}

/** Reads the job file's chain of bases. Every problem of every file is in `diagnostics`. */
export function readLayers(file: string, bytes: Uint8Array, options: LayerOptions): LayerChain {
  const chain: LayerChain = { layers: [], broken: false, diagnostics: [], environment: [] };
  let next: { file: string; bytes: Uint8Array } | undefined = { file, bytes };
  while (next !== undefined) {
    const layer = readLayer(next.file, next.bytes, options, chain);
    if (layer === undefined) {
      chain.broken = true;
      break;
    }
    chain.layers.push(layer);
    next = readBase(layer, options, chain);
  }
  checkComplete(chain);
  return chain;
}

function readLayer(
  file: string,
  bytes: Uint8Array,
  options: LayerOptions,
  chain: LayerChain,
): Layer | undefined {
  let text: string;
  let source: YamlSource;
  try {
    if (bytes.length > MAX_JOB_FILE_BYTES) throw tooLarge(file, bytes.length);
    text = decodeUtf8(file, bytes);
    source = readYaml(text, file);
  } catch (error) {
    if (!(error instanceof SpecError)) throw error;
    chain.diagnostics.push(...error.diagnostics);
    return undefined;
  }
  const lines = text.split("\n");
  const expanded = expandEnvironmentIn(source.value, source, options.env, (line) => lines[line - 1]);
  chain.diagnostics.push(...expanded.diagnostics);
  for (const use of expanded.uses) for (const at of use.sources) recordUse(chain.environment, use, at);
  const validated = validateJobSchema(source);
  // A string whose ${...} is wrong is reported once, for that: not again for what it would not match.
  const failed = (at: SourceLocation): boolean =>
    expanded.failed.some((f) => f.line === at.line && f.column === at.column);
  if ("diagnostics" in validated)
    chain.diagnostics.push(...validated.diagnostics.filter((diagnostic) => !failed(diagnostic)));
  return {
    file,
    absolute: resolvePath(options.cwd, file),
    lines,
    source,
    value: isRecord(source.value) ? source.value : {},
    job: "job" in validated ? validated.job : undefined,
    sha256: sha256Hex(bytes),
  };
}

/** The base `layer` extends, read; undefined at the end of the chain or on a problem (recorded). */
function readBase(
  layer: Layer,
  options: LayerOptions,
  chain: LayerChain,
): { file: string; bytes: Uint8Array } | undefined {
  const written = layer.value.extends;
  if (typeof written !== "string") return undefined;
  chain.broken = true; // until the base is read
  const at = layer.source.locate("/extends");
  const file = besideFile(layer.file, written);
  const absolute = resolvePath(options.cwd, file);
  const cycle = chain.layers.findIndex((earlier) => earlier.absolute === absolute);
  if (cycle >= 0) {
    const files = [...chain.layers.slice(cycle).map((earlier) => earlier.file), file];
    chain.diagnostics.push(diagnosticAt(at, `extends makes a cycle: ${files.join(" extends ")}`));
    return undefined;
  }
  if (chain.layers.length >= MAX_EXTENDS_DEPTH) {
    chain.diagnostics.push(
      diagnosticAt(at, `more than ${MAX_EXTENDS_DEPTH} files extend one another; is there a loop of copies?`),
    );
    return undefined;
  }
  try {
    const bytes = readFileWithin(absolute, MAX_JOB_FILE_BYTES);
    chain.broken = false;
    return { file, bytes };
  } catch (error) {
    const reason =
      errnoCode(error) === "EFBIG" ? "it is larger than a job file may be (2 MB)" : describeFsError(error);
    chain.diagnostics.push(diagnosticAt(at, `cannot read the base ${written} (${file}): ${reason}`));
    return undefined;
  }
}

/** A base need not be a whole job, but the chain must be: `name` and `pairs` set somewhere. */
function checkComplete(chain: LayerChain): void {
  const job = chain.layers[0];
  if (job === undefined || !isRecord(job.source.value) || chain.broken) return;
  const known = layerKeys();
  for (const key of ["name", "pairs"]) {
    if (chain.layers.some((layer) => Object.hasOwn(layer.value, key))) continue;
    // `nmae: x` is reported as an unknown key with its suggestion: one mistake, one message.
    const misspelt = chain.layers.some((layer) =>
      Object.keys(layer.value).some(
        (written) => !known.includes(written) && closestMatch(written, known) === key,
      ),
    );
    if (misspelt) continue;
    const bases = chain.layers.length > 1 ? " (in this file or a base it extends)" : "";
    chain.diagnostics.push(diagnosticAt(job.source.locate(""), `missing required key "${key}"${bases}`));
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
