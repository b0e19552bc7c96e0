// `actbatch review OUT`: everything the review server needs, gathered from the folder (its manifest,
// its decisions, the job file it names, an earlier folder to compare with) before it listens. The
// page addresses files by route only: /files/ for the folder's outputs, /before/ for the earlier
// folder's changed outputs, /reference/N for a pair's local reference file.
import { dirname, join, resolve } from "node:path";
import type { ProviderName } from "../../job/types.js";
import { readManifest, resolveManifestPath } from "../../manifest/manifest.js";
import type { Manifest } from "../../manifest/types.js";
import { relativeFileUrl } from "../html/escape.js";
import type { GridAxes } from "../html/grid.js";
import { fieldValue, layoutPairs } from "../html/grid.js";
import { resolvePricing } from "../html/pricing.js";
import { describeReferences, findLocalReferences, loadJobContext } from "../html/references.js";
import { contentSecurityPolicy, renderReport } from "../html/render.js";
import { estimateManifestCost } from "../html/write.js";
import { changedOutputs } from "./against.js";
import { readReview } from "./decisions.js";
import { startReviewServer, type ReviewServer, type ServedFile } from "./server.js";

export interface OpenReviewOptions {
  /** The output folder or its manifest.json, relative to cwd. */
  target: string;
  cwd: string;
  env?: NodeJS.ProcessEnv;
  port?: number;
  host?: string;
  allowRemote?: boolean;
  /** An earlier output folder (or manifest) to compare with. */
  against?: string;
  provider?: ProviderName;
  axes?: GridAxes;
  jobFile?: string;
  now?: () => Date;
}

export interface OpenedReview extends ReviewServer {
  outputDir: string;
  manifest: Manifest;
  /** Things the reviewer should know (a job file that could not be read again, say). */
  notes: string[];
  /** Tasks whose output differs from the earlier folder's (with --against). */
  changed: number;
}

export async function openReview(options: OpenReviewOptions): Promise<OpenedReview> {
  const manifestPath = await resolveManifestPath(resolve(options.cwd, options.target));
  const manifest = await readManifest(manifestPath);
  const outputDir = dirname(manifestPath);
  const review = await readReview(outputDir, manifest.job);
  const env = options.env ?? process.env;
  const job = await loadJobContext(manifest, {
    cwd: options.cwd,
    env,
    ...(options.jobFile !== undefined ? { jobFile: options.jobFile } : {}),
  });
  const pricing = await resolvePricing(outputDir, job, options.provider);
  const cost = await estimateManifestCost(outputDir, manifest, pricing.provider, pricing.usdPerTask);
  const notes: string[] = [];

  const files = new Map<string, ServedFile>();
  const outputUrls = new Map<string, string>();
  for (const task of [...manifest.tasks, ...manifest.orphans])
    for (const output of task.outputs) {
      const url = relativeFileUrl(output.file);
      if (url === null) continue;
      files.set(`/files/${url}`, { path: join(outputDir, output.file), root: outputDir });
      outputUrls.set(output.file, `/files/${url}`);
    }

  const locals = await findLocalReferences(manifest, { cwd: options.cwd, env, job });
  if (locals.problem !== null) notes.push(`local reference clips are not played: ${locals.problem}`);
  const referenceRoutes = new Map<string, string>();
  const references = await describeReferences(
    manifest.tasks,
    locals,
    (file) => {
      let route = referenceRoutes.get(file.uri);
      if (route === undefined) {
        route = `/reference/${referenceRoutes.size}`;
        referenceRoutes.set(file.uri, route);
        files.set(route, { path: file.path, root: null, sha256: file.sha256 });
      }
      return route;
    },
    options.cwd,
    outputDir,
  );
  // A reference named by a bare path has no recorded content to check it against: not served.
  for (const [pair, reference] of references)
    if (
      reference.playable !== null &&
      !reference.playable.startsWith("/reference/") &&
      !reference.playable.startsWith("data:")
    )
      references.set(pair, {
        ...reference,
        playable: null,
        problem: "report.html plays it; the review serves only recorded files",
      });

  let changed: Map<string, string | null> | undefined;
  let againstLabel: string | undefined;
  if (options.against !== undefined) {
    const beforePath = await resolveManifestPath(resolve(options.cwd, options.against));
    const before = await readManifest(beforePath);
    const beforeDir = dirname(beforePath);
    againstLabel = beforeDir;
    changed = new Map();
    for (const [key, output] of changedOutputs(manifest, before)) {
      const url = relativeFileUrl(output.file);
      if (url !== null) files.set(`/before/${url}`, { path: join(beforeDir, output.file), root: beforeDir });
      changed.set(key, url === null ? null : `/before/${url}`);
    }
  }

  const subjects = new Map<
    string,
    { pair: string; params: Manifest["tasks"][number]["params"]; label: string }
  >();
  for (const grid of layoutPairs([...manifest.orphans, ...manifest.tasks], options.axes))
    for (const task of grid.tasks) {
      const values = grid.varying.map((field) => `${field}=${String(fieldValue(task, field))}`).join(" ");
      subjects.set(task.key, {
        pair: task.pair,
        params: task.params,
        label: `${task.pair} ${values}`.trim(),
      });
    }

  const server = await startReviewServer({
    outputDir,
    job: manifest.job,
    csp: contentSecurityPolicy(true),
    files,
    subjects,
    review,
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.host !== undefined ? { host: options.host } : {}),
    ...(options.allowRemote !== undefined ? { allowRemote: options.allowRemote } : {}),
    ...(options.now ? { now: options.now } : {}),
    page: (current) =>
      renderReport({
        manifest,
        provider: pricing.provider,
        cost,
        ...(options.axes ? { axes: options.axes } : {}),
        references,
        review: current,
        live: true,
        outputUrl: (file) => outputUrls.get(file) ?? null,
        ...(changed ? { changed } : {}),
        ...(againstLabel !== undefined ? { against: againstLabel } : {}),
      }),
  });
  return { ...server, outputDir, manifest, notes, changed: changed?.size ?? 0 };
}
