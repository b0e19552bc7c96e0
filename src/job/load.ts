import { readFile, stat } from "node:fs/promises";
import { dirname, resolve as resolvePath } from "node:path";
import { sha256Hex } from "../canonical.js";
import { ExitCode, UserError } from "../errors.js";
import { checkTaskCount, DEFAULT_MAX_TASKS } from "./count.js";
import { diagnosticAt, SpecError, sortDiagnostics } from "./diagnostics.js";
import { expandJob } from "./expand.js";
import { localizeJob } from "./read-local-files.js";
import { collectPlanAssets } from "./plan-assets.js";
import { readYaml } from "./read-yaml.js";
import { resolveJob } from "./resolve.js";
import { checkRules } from "./rules.js";
import { validateJobSchema } from "./schema.js";
import type { LoadedPlan, Plan } from "./types.js";
import { describeFsError } from "../fs/errno.js";

/**
 * Far above any hand-written job (a realistic one is a few KB; assets are referenced, not inlined),
 * far below what would take the YAML parser long to refuse (a 10 MB scalar: seconds).
 */
export const MAX_JOB_FILE_BYTES = 2 * 1024 * 1024;

export interface LoadPlanOptions {
  /** The task-count guard (default 10,000). */
  maxTasks?: number;
  /** Replaces output.dir (the --out flag). */
  outDir?: string;
  /** Directory `file` is relative to (default: the process's working directory). */
  cwd?: string;
}

/**
 * Reads, validates and expands a job file into the plan a run executes. Throws SpecError (exit 2)
 * listing every problem found, each at its file:line:column, or UserError when the file cannot be read.
 */
export async function loadPlan(file: string, options: LoadPlanOptions = {}): Promise<LoadedPlan> {
  const bytes = await readJobFile(file, options.cwd);
  return planFromBytes(file, bytes, options);
}

/** loadPlan once the job file is read: its bytes in, the plan out (local files it names are read here). */
export function planFromBytes(file: string, bytes: Uint8Array, options: LoadPlanOptions = {}): LoadedPlan {
  if (bytes.length > MAX_JOB_FILE_BYTES) throw tooLarge(file, bytes.length);
  const sha256 = sha256Hex(bytes);
  const text = decodeUtf8(file, bytes);
  const source = readYaml(text, file);

  const validated = validateJobSchema(source);
  if ("diagnostics" in validated) throw new SpecError(sortDiagnostics(validated.diagnostics));
  const rules = checkRules(validated.job, source);
  if (rules.errors.length > 0) throw new SpecError(sortDiagnostics(rules.errors));

  const local = localizeJob(validated.job, source, dirname(resolvePath(options.cwd ?? process.cwd(), file)));
  if (local.errors.length > 0) throw new SpecError(sortDiagnostics(local.errors));
  const resolved = resolveJob(local.job, source, { spec: { file, sha256 }, outDir: options.outDir });
  const tooMany = checkTaskCount(
    resolved,
    options.maxTasks ?? DEFAULT_MAX_TASKS,
    source.locate("/pairs", "key"),
  );
  if (tooMany) throw new SpecError([tooMany]);

  const expansion = expandJob(resolved);
  if (expansion.errors.length > 0) throw new SpecError(sortDiagnostics(expansion.errors));

  const plan: Plan = {
    job: resolved.job,
    spec: resolved.spec,
    provider: resolved.provider,
    concurrency: resolved.concurrency,
    outputDir: resolved.outputDir,
    tasks: expansion.tasks,
    ...(validated.job.budget !== undefined && { budget: { ...validated.job.budget } }),
    ...(validated.job.concurrency === undefined && { concurrencyIsDefault: true }),
    ...(local.files.length > 0 && { localFiles: local.files }),
  };
  const warnings = sortDiagnostics([...rules.warnings, ...expansion.report.warnings]);
  const assets = collectPlanAssets(local.job, source, local.files);
  return { plan, report: { ...expansion.report, warnings, assets } };
}

async function readJobFile(file: string, cwd: string | undefined): Promise<Uint8Array> {
  const path = resolvePath(cwd ?? process.cwd(), file);
  try {
    const info = await stat(path);
    if (info.isDirectory()) throw new UserError(`${file}: is a directory, not a job file`, ExitCode.usage);
    if (info.size > MAX_JOB_FILE_BYTES) throw tooLarge(file, info.size);
    return await readFile(path);
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`cannot read job file ${file}: ${describeFsError(error)}`, ExitCode.usage);
  }
}

function tooLarge(file: string, bytes: number): SpecError {
  return new SpecError([
    diagnosticAt(
      { file, line: 1, column: 1 },
      `the file is ${bytes.toLocaleString("en-US")} bytes, too large for a job file (at most 2 MB); is this the right file?`,
    ),
  ]);
}

function decodeUtf8(file: string, bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    let line = 1;
    let column = 1;
    const prefix = firstInvalidUtf8Offset(bytes);
    for (let i = 0; i < prefix; i++) {
      if (bytes[i] === 0x0a) [line, column] = [line + 1, 1];
      else if ((bytes[i]! & 0xc0) !== 0x80) column++;
    }
    throw new SpecError([diagnosticAt({ file, line, column }, "the file is not valid UTF-8 text")]);
  }
}

/** Offset of the first byte that does not decode, found by halving: the decoder does not say. */
function firstInvalidUtf8Offset(bytes: Uint8Array): number {
  let low = 0;
  let high = bytes.length;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    try {
      // stream: an incomplete character at the end of the prefix is not an error.
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, middle), { stream: true });
      low = middle;
    } catch {
      high = middle - 1;
    }
  }
  return low;
}
