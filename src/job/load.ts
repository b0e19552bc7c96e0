import { readFile, stat } from "node:fs/promises";
import { dirname, resolve as resolvePath } from "node:path";
import { ExitCode, UserError } from "../errors.js";
import { composeJob } from "./compose.js";
import { checkTaskCount, DEFAULT_MAX_TASKS } from "./count.js";
import { SpecError, sortDiagnostics } from "./diagnostics.js";
import type { Environment } from "./env-values.js";
import { expandJob } from "./expand.js";
import { localizeJob } from "./read-local-files.js";
import { collectPlanAssets } from "./plan-assets.js";
import { MAX_JOB_FILE_BYTES, tooLarge } from "./read-text.js";
import { resolveJob } from "./resolve.js";
import { checkRules } from "./rules.js";
import type { LoadedPlan, Plan } from "./types.js";
import { describeFsError } from "../fs/errno.js";

export { MAX_JOB_FILE_BYTES } from "./read-text.js";

export interface LoadPlanOptions {
  /** The task-count guard (default 10,000). */
  maxTasks?: number;
  /** Replaces output.dir (the --out flag). */
  outDir?: string;
  /** Directory `file` is relative to (default: the process's working directory). */
  cwd?: string;
  /** Where `${NAME}` in the job's values is looked up (default: the process's environment). */
  env?: Environment;
}

/**
 * Reads, validates and expands a job file into the plan a run executes. Throws SpecError (exit 2)
 * listing every problem found, each at its file:line:column, or UserError when the file cannot be read.
 */
export async function loadPlan(file: string, options: LoadPlanOptions = {}): Promise<LoadedPlan> {
  const bytes = await readJobFile(file, options.cwd);
  return planFromBytes(file, bytes, options);
}

/**
 * loadPlan once the job file is read: its bytes in, the plan out (the bases it extends, its
 * catalogues and the local files it names are read here).
 */
export function planFromBytes(file: string, bytes: Uint8Array, options: LoadPlanOptions = {}): LoadedPlan {
  const cwd = options.cwd ?? process.cwd();
  const composed = composeJob(file, bytes, { cwd, env: options.env ?? process.env });
  const { job, locator } = composed;
  const rules = checkRules(job, locator);
  if (rules.errors.length > 0) throw new SpecError(sortDiagnostics(rules.errors));

  // A local file is relative to the file that names it: the job file, a base, or a catalogue.
  const folderOf = (pointer: string): string => dirname(resolvePath(cwd, locator.locate(pointer).file));
  const local = localizeJob(job, locator, folderOf);
  if (local.errors.length > 0) throw new SpecError(sortDiagnostics(local.errors));
  const resolved = resolveJob(local.job, locator, {
    spec: { file, sha256: composed.sha256 },
    outDir: options.outDir,
  });
  const tooMany = checkTaskCount(
    resolved,
    options.maxTasks ?? DEFAULT_MAX_TASKS,
    locator.locate("/pairs", "key"),
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
    ...(job.budget !== undefined && { budget: { ...job.budget } }),
    ...(job.concurrency === undefined && { concurrencyIsDefault: true }),
    ...(local.files.length > 0 && { localFiles: local.files }),
  };
  const warnings = sortDiagnostics([...rules.warnings, ...expansion.report.warnings]);
  const assets = collectPlanAssets(local.job, locator, local.files);
  return {
    plan,
    report: {
      ...expansion.report,
      warnings,
      assets,
      ...(composed.environment.length > 0 && { environment: composed.environment }),
      ...(composed.inputs.length > 0 && { inputs: composed.inputs }),
    },
  };
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
