// Shared set-up of the run-engine tests: a job file in a temp folder, the simulator on a loopback
// port, and checks that compare what is on disk with what the simulator served.
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { readManifest } from "../../src/manifest/manifest.js";
import type { Manifest } from "../../src/manifest/types.js";
import type { RunEvent } from "../../src/run/events.js";
import { runJob, type RunJobOptions, type RunJobResult } from "../../src/simulated-run.js";
import { startSimulator, type Simulator, type SimulatorOptions } from "../../src/sim/index.js";

/** A key that must never show up anywhere: output, files, journal, manifest. */
export const CANARY_KEY = "sk-canary-7f3a9c21e0d84b6b";

/** Fast enough for a suite, slow enough that the engine's scheduling is exercised (renders ~0.6 s). */
export const SPEED = 150;

export interface JobSpec {
  name?: string;
  concurrency?: number;
  pairs?: number;
  intensities?: number[];
  seeds?: number[];
}

/** A job of pairs x intensities x seeds tasks. */
export function jobYaml(spec: JobSpec = {}): string {
  const pairs = Array.from({ length: spec.pairs ?? 2 }, (_, i) => i);
  return [
    "version: 1",
    `name: ${spec.name ?? "e2e"}`,
    `concurrency: ${spec.concurrency ?? 3}`,
    "assets:",
    '  hero: { type: image, uri: "https://assets.example.com/hero.png" }',
    '  take: { type: video, uri: "https://assets.example.com/take1.mp4" }',
    "pairs:",
    ...pairs.flatMap((i) => [
      `  - id: pair${i}`,
      "    character: hero",
      "    reference: take",
      `    seed: ${100 + i}`,
    ]),
    "sweep:",
    `  expressionIntensity: [${(spec.intensities ?? [1, 3]).join(", ")}]`,
    ...(spec.seeds ? [`  seed: [${spec.seeds.join(", ")}]`] : []),
    "output:",
    '  dir: "out"',
    '  name: "{pair}/ei{expressionIntensity}-s{seed}.mp4"',
    "",
  ].join("\n");
}

export interface Workspace {
  dir: string;
  jobFile: string;
  outDir: string;
  sim: Simulator;
  events: RunEvent[];
  /** Runs the job in process against the simulator (the key is the canary). */
  run(options?: Partial<RunJobOptions>): Promise<RunJobResult>;
  writeJob(spec: JobSpec | string): Promise<void>;
  close(): Promise<void>;
}

export async function createWorkspace(
  job: JobSpec | string = {},
  simOptions: SimulatorOptions = {},
): Promise<Workspace> {
  const dir = await mkdtemp(join(tmpdir(), "actbatch-run-"));
  const sim = await startSimulator({ speed: SPEED, concurrency: 8, seed: 7, ...simOptions });
  const events: RunEvent[] = [];
  const ws: Workspace = {
    dir,
    jobFile: join(dir, "job.yaml"),
    outDir: join(dir, "out"),
    sim,
    events,
    async writeJob(spec) {
      await writeFile(ws.jobFile, typeof spec === "string" ? spec : jobYaml(spec));
    },
    run(options = {}) {
      events.length = 0;
      return runJob({
        file: "job.yaml",
        cwd: dir,
        env: { COMETAPI_KEY: CANARY_KEY },
        baseUrl: sim.baseUrl,
        timeScale: SPEED,
        onEvent: (event) => events.push(event),
        ...options,
      });
    },
    async close() {
      await sim.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  await ws.writeJob(job);
  return ws;
}

export function totalRequests(sim: Simulator): number {
  let total = 0;
  for (const byStatus of Object.values(sim.stats().requests))
    for (const n of Object.values(byStatus)) total += n;
  return total;
}

export function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * Every SUCCEEDED task's files are on disk, equal to what the simulator served for its task id, and
 * match the manifest; the manifest on disk passes its schema.
 */
export async function expectOutputsMatchSimulator(ws: Workspace): Promise<Manifest> {
  const manifest = await readManifest(ws.outDir);
  for (const task of manifest.tasks) {
    if (task.status !== "SUCCEEDED") continue;
    if (task.taskId === null) throw new Error(`${task.key} succeeded without a task id`);
    const expected = ws.sim.expectedOutput(task.taskId);
    if (!expected) throw new Error(`the simulator does not know task ${task.taskId}`);
    if (task.outputs.length !== 1) throw new Error(`${task.key}: ${task.outputs.length} outputs`);
    for (const output of task.outputs) {
      const bytes = await readFile(join(ws.outDir, output.file));
      if (bytes.length !== expected.bytes || sha256(bytes) !== expected.sha256)
        throw new Error(`${output.file} differs from what the simulator served`);
      if (output.bytes !== expected.bytes || output.sha256 !== expected.sha256)
        throw new Error(`the manifest entry of ${output.file} is wrong`);
    }
  }
  return manifest;
}

/** Every file under a folder, with its bytes (to look for the key). */
export async function readTree(dir: string): Promise<{ path: string; bytes: Buffer }[]> {
  const files: { path: string; bytes: Buffer }[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.push({ path: relative(dir, path), bytes: await readFile(path) });
  }
  return files;
}

/** The key in any form an encoder might produce. */
export function keyForms(key: string): string[] {
  return [
    key,
    Buffer.from(key).toString("base64"),
    encodeURIComponent(key),
    Buffer.from(key).toString("hex"),
    key.slice(-8),
  ];
}
