// `actbatch merge`: the output folders of a job's shards (CI matrix jobs) into one folder, with one
// manifest. Every file is checked against its sha256 before it is linked or copied, a copy is
// checked again, and the manifest is written last: a merge that fails leaves no manifest that lies.
import { copyFile, link, mkdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { ExitCode, UserError } from "../errors.js";
import { atomicTempPath } from "../fs/atomic-write.js";
import { hasErrnoCode } from "../fs/errno.js";
import { readManifest, resolveManifestPath, summarizeTasks, writeManifest } from "../manifest/manifest.js";
import type { Manifest, ManifestTask } from "../manifest/types.js";
import { checkOutput } from "../manifest/verify.js";
import { chooseRecord, describeRecord } from "./choose.js";

export interface MergeOptions {
  /** Copy every file instead of hard-linking it where the file system allows. */
  copy?: boolean;
}

export interface MergeResult {
  manifestPath: string;
  manifest: Manifest;
  sources: number;
  files: { linked: number; copied: number; present: number };
}

interface Source {
  dir: string;
  label: string;
  manifest: Manifest;
}

interface Chosen {
  task: ManifestTask;
  /** Every source folder whose record equals the chosen one (any of them may provide its files). */
  from: Source[];
}

/** How many conflicting keys an error lists before "and N more". */
const MAX_LISTED = 5;

export async function mergeOutputs(
  inputs: readonly string[],
  outDir: string,
  options: MergeOptions = {},
): Promise<MergeResult> {
  if (inputs.length === 0) throw new UserError("nothing to merge: give the output folders of the shards");
  const target = resolve(outDir);
  const sources: Source[] = [];
  for (const input of inputs) {
    const path = await resolveManifestPath(input);
    const dir = resolve(dirname(path));
    if (sources.some((source) => source.dir === dir)) continue;
    sources.push({ dir, label: input, manifest: await readManifest(path) });
  }
  if (!sources.some((source) => source.dir === target) && (await exists(join(target, "manifest.json"))))
    throw new UserError(
      `${outDir} already holds a manifest`,
      ExitCode.usage,
      "list that folder among the folders to merge (its records are then kept), or merge into an empty folder",
    );
  checkSameJob(sources);

  const order: string[] = [];
  const chosen = new Map<string, Chosen>();
  const orphanKeys = new Set<string>();
  const conflicts: string[] = [];
  for (const source of sources) {
    const records = [
      ...source.manifest.tasks.map((task) => ({ task, orphan: false })),
      ...source.manifest.orphans.map((task) => ({ task, orphan: true })),
    ];
    for (const { task, orphan } of records) {
      if (orphan) orphanKeys.add(task.key);
      const known = chosen.get(task.key);
      if (!known) {
        if (!orphan) order.push(task.key);
        chosen.set(task.key, { task, from: [source] });
        continue;
      }
      if (!orphan && !order.includes(task.key)) order.push(task.key);
      const winner = chooseRecord(known.task, task);
      if (winner === null) {
        conflicts.push(
          `task ${task.key} (${task.pair}): ${known.from[0]?.label}: ${describeRecord(known.task)}; ${source.label}: ${describeRecord(task)}`,
        );
      } else if (winner === known.task) {
        if (winner === task || isSame(winner, task)) known.from.push(source);
      } else
        chosen.set(task.key, { task, from: isSame(known.task, task) ? [...known.from, source] : [source] });
    }
  }
  if (conflicts.length > 0) {
    const listed = conflicts.slice(0, MAX_LISTED).map((line) => `  ${line}`);
    if (conflicts.length > MAX_LISTED) listed.push(`  ... and ${conflicts.length - MAX_LISTED} more`);
    throw new UserError(
      `refusing to merge: ${conflicts.length} task${conflicts.length === 1 ? " is" : "s are"} recorded differently by two folders (each ran it separately):\n${listed.join("\n")}`,
      ExitCode.usage,
      "were these folders run with the same --shard twice, or with different shard counts? Keep one folder's record and merge again",
    );
  }

  await mkdir(target, { recursive: true });
  const files = { linked: 0, copied: 0, present: 0 };
  for (const { task, from } of chosen.values())
    for (const output of task.outputs) {
      if (task.status !== "SUCCEEDED") continue;
      const how = await placeFile(output, from, target, task.key, options);
      files[how] += 1;
    }

  const tasks = order.map((key) => chosen.get(key)!.task);
  const inTasks = new Set(order);
  const orphans = [...orphanKeys]
    .filter((key) => !inTasks.has(key))
    .map((key) => chosen.get(key)!.task)
    .toSorted((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const first = sources[0]!.manifest;
  const manifest: Manifest = {
    version: first.version,
    job: first.job,
    spec: first.spec,
    summary: summarizeTasks(tasks, orphans),
    tasks,
    orphans,
  };
  const manifestPath = await writeManifest(target, manifest);
  return { manifestPath, manifest, sources: sources.length, files };
}

function checkSameJob(sources: readonly Source[]): void {
  const [first, ...rest] = sources;
  if (!first) return;
  for (const source of rest) {
    if (source.manifest.job !== first.manifest.job)
      throw new UserError(
        `refusing to merge different jobs: ${first.label} is "${first.manifest.job}", ${source.label} is "${source.manifest.job}"`,
      );
    if (source.manifest.spec.sha256 !== first.manifest.spec.sha256)
      throw new UserError(
        `refusing to merge runs of different job files: ${first.label} ran ${first.manifest.spec.file} with sha256 ${first.manifest.spec.sha256.slice(0, 12)}…, ${source.label} ran ${source.manifest.spec.file} with sha256 ${source.manifest.spec.sha256.slice(0, 12)}…`,
        ExitCode.usage,
        "every shard must run the same commit of the job file",
      );
  }
}

function isSame(a: ManifestTask, b: ManifestTask): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Puts one output file in place from the first source that holds it intact. */
async function placeFile(
  output: ManifestTask["outputs"][number],
  from: readonly Source[],
  target: string,
  key: string,
  options: MergeOptions,
): Promise<"linked" | "copied" | "present"> {
  const existing = await checkOutput(target, output);
  if (existing === null) return "present";
  if (existing !== "missing")
    throw new UserError(`${join(target, output.file)} exists and ${existing}: refusing to overwrite it`);
  const problems: string[] = [];
  for (const source of from) {
    const problem = await checkOutput(source.dir, output);
    if (problem !== null) {
      problems.push(`${source.label}: ${output.file} ${problem}`);
      continue;
    }
    const destination = join(target, output.file);
    await mkdir(dirname(destination), { recursive: true });
    const temp = atomicTempPath(destination);
    let how: "linked" | "copied" = "copied";
    try {
      if (!options.copy) {
        try {
          await link(join(source.dir, output.file), temp);
          how = "linked";
        } catch (error) {
          if (!hasErrnoCode(error, "EXDEV", "EPERM", "ENOTSUP", "EMLINK")) throw error;
        }
      }
      if (how === "copied") await copyFile(join(source.dir, output.file), temp);
      await rename(temp, destination);
    } finally {
      await rm(temp, { force: true });
    }
    const after = await checkOutput(target, output);
    if (after !== null)
      throw new UserError(`${destination} ${after} after ${how === "linked" ? "linking" : "copying"} it`);
    return how;
  }
  throw new UserError(
    `task ${key} succeeded but no folder holds its file intact:\n${problems.map((line) => `  ${line}`).join("\n")}`,
    ExitCode.usage,
    "run that shard again (it re-downloads or re-renders what is missing), then merge",
  );
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if (hasErrnoCode(error, "ENOENT", "ENOTDIR")) return false;
    throw error;
  }
}
