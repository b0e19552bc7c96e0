// Each pair's reference clip, as the sheet plays it. A job's `path:` asset is named in the manifest by
// its content hash only (local:sha256:...), so its file is found again through the job file the
// manifest names: the file is played only while it still holds the bytes the renders were made from.
import { isAbsolute, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { stat } from "node:fs/promises";
import { loadPlan } from "../../job/load.js";
import { isLocalUri } from "../../job/read-local-files.js";
import type { LocalFile, Plan } from "../../job/types.js";
import type { Manifest, ManifestTask } from "../../manifest/types.js";
import type { ReferenceMedia } from "./sheet-types.js";

export interface LocalReferences {
  /** The job's local files whose content is what the manifest names, by placeholder URI. */
  files: Map<string, LocalFile>;
  /** Why the job file could not tell (unreadable, invalid, a file it names is gone), else null. */
  problem: string | null;
}

/** The job file the manifest names, loaded again: its provider, prices and local files. */
export interface JobContext {
  file: string;
  plan: Plan | null;
  /** Why it could not be loaded, else null. */
  problem: string | null;
}

export interface JobContextOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** The job file, when not the one the manifest names. */
  jobFile?: string;
}

export async function loadJobContext(manifest: Manifest, options: JobContextOptions): Promise<JobContext> {
  const file = options.jobFile ?? manifest.spec.file;
  try {
    const loaded = await loadPlan(file, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      maxTasks: Math.max(10_000, manifest.tasks.length * 2),
    });
    return { file, plan: loaded.plan, problem: null };
  } catch (error) {
    const reason = error instanceof Error ? (error.message.split("\n")[0] ?? "") : String(error);
    return { file, plan: null, problem: `the job file ${file} could not be read again (${reason})` };
  }
}

function wantedLocalUris(manifest: Manifest): Set<string> {
  return new Set(
    [...manifest.tasks, ...manifest.orphans]
      .map((task) => task.request.reference.uri)
      .filter((uri) => isLocalUri(uri)),
  );
}

/**
 * The job's local reference files. The job is loaded (when no context is given) only when some
 * reference is a local file: a job of URLs costs nothing here.
 */
export async function findLocalReferences(
  manifest: Manifest,
  options: JobContextOptions & { job?: JobContext },
): Promise<LocalReferences> {
  const files = new Map<string, LocalFile>();
  const wanted = wantedLocalUris(manifest);
  if (wanted.size === 0) return { files, problem: null };
  const job = options.job ?? (await loadJobContext(manifest, options));
  for (const file of job.plan?.localFiles ?? []) if (wanted.has(file.uri)) files.set(file.uri, file);
  return { files, problem: job.problem };
}

/** The first task's reference of each pair, in the sheet's terms. */
export async function describeReferences(
  tasks: readonly ManifestTask[],
  locals: LocalReferences,
  urlOfLocal: (file: LocalFile) => string | null,
  cwd: string,
  outputDir: string,
): Promise<Map<string, ReferenceMedia>> {
  const references = new Map<string, ReferenceMedia>();
  for (const task of tasks) {
    if (references.has(task.pair)) continue;
    const uri = task.request.reference.uri;
    if (isLocalUri(uri)) {
      const file = locals.files.get(uri);
      const url = file ? urlOfLocal(file) : null;
      references.set(task.pair, {
        label: file ? file.written : uri,
        playable: url,
        remote: null,
        link: null,
        problem:
          url !== null
            ? null
            : (locals.problem ?? "its local file is no longer what the renders were made from"),
      });
    } else references.set(task.pair, await describeReference(uri, outputDir, cwd));
  }
  return references;
}

/**
 * A reference named by URL. report.html plays it only when that costs no network request: a data
 * URI, or a file beside the folder (linked relative to the report). An https URL is a link there,
 * and the live review page plays it from the URL when the pair's group plays.
 */
export async function describeReference(
  uri: string,
  outputDir: string,
  cwd: string,
): Promise<ReferenceMedia> {
  const none = { remote: null, link: null, problem: null };
  if (/^data:video\//i.test(uri)) return { ...none, label: "inline data URI", playable: uri };
  if (/^https:\/\//i.test(uri)) return { ...none, label: uri, playable: null, remote: uri, link: uri };
  if (/^http:\/\//i.test(uri)) return { ...none, label: uri, playable: null, link: uri };
  let path: string | null = null;
  if (/^file:/i.test(uri)) {
    try {
      path = fileURLToPath(uri);
    } catch {
      path = null;
    }
  } else if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(uri)) path = resolve(cwd, uri);
  if (path !== null && (await isFile(path))) {
    const url = relativeUrl(outputDir, path);
    if (url !== null) return { ...none, label: uri, playable: url };
  }
  return { ...none, label: uri, playable: null };
}

/** A file as a URL relative to the folder, or null when no relative path reaches it (another drive). */
export function relativeUrl(outputDir: string, path: string): string | null {
  const fromReport = relative(resolve(outputDir), path);
  if (isAbsolute(fromReport)) return null;
  return fromReport.split(sep).map(encodeURIComponent).join("/");
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
