// One reliability scenario: a temp folder with a job file, the simulator in its own process, runs of
// the CLI against it, and every byte those runs printed (searched for the key at the end).
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import { checkInvariants, type Violation } from "../invariants.js";
import type { HostOptions } from "./host-protocol.js";
import { canaryKey } from "./mode.js";
import { runActbatch, type RunOutcome, type RunSpec } from "./runner.js";
import { startSimProcess, type SimProcess } from "./sim-process.js";

export interface JobShape {
  name?: string;
  pairs: number;
  /** Seeds per pair and intensity (1..seeds); every pair sweeps expressionIntensity 1..5. */
  seeds: number;
  intensities?: number;
  concurrency?: number;
}

/** A job of pairs x intensities x seeds tasks, every one a distinct request body. */
export function jobYaml(shape: JobShape): string {
  const intensities = Array.from({ length: shape.intensities ?? 5 }, (_, i) => i + 1);
  return [
    "version: 1",
    `name: ${shape.name ?? "reliability"}`,
    `concurrency: ${shape.concurrency ?? 8}`,
    "assets:",
    '  hero: { type: image, uri: "https://assets.example.com/hero.png" }',
    '  take: { type: video, uri: "https://assets.example.com/take1.mp4" }',
    "pairs:",
    ...Array.from({ length: shape.pairs }, (_, i) => [
      `  - id: pair${i}`,
      "    character: hero",
      "    reference: take",
      `    bodyControl: ${i % 2 === 0}`,
      `    ratio: "${["1280:720", "720:1280", "960:960", "1104:832"][i % 4]}"`,
    ]).flat(),
    "sweep:",
    `  expressionIntensity: [${intensities.join(", ")}]`,
    `  seed: { from: 1, to: ${shape.seeds} }`,
    "output:",
    '  dir: "out"',
    '  name: "{pair}/ei{expressionIntensity}-s{seed}.mp4"',
    "",
  ].join("\n");
}

export interface Scenario {
  dir: string;
  jobFile: string;
  outDir: string;
  key: string;
  sim: SimProcess;
  speed: number;
  /** Every run so far, in order. */
  runs: RunOutcome[];
  /** Runs `actbatch run job.yaml --out out --base-url <proxy> --json` plus extra arguments. */
  run(spec?: Partial<RunSpec> & { extraArgs?: string[]; concurrency?: number }): Promise<RunOutcome>;
  /** The invariant checker over everything: ledger, journal, manifest, folder, and all captured output. */
  check(): Promise<Violation[]>;
  close(): Promise<void>;
}

export interface ScenarioOptions {
  job: JobShape | string;
  /** Simulator speed, and the runner's time scale. */
  speed: number;
  concurrency: number;
  host?: Omit<HostOptions, "apiKey" | "journalDir">;
}

export async function createScenario(options: ScenarioOptions): Promise<Scenario> {
  const dir = await mkdtemp(join(tmpdir(), "actbatch-reliability-"));
  const jobFile = join(dir, "job.yaml");
  const outDir = join(dir, "out");
  await writeFile(jobFile, typeof options.job === "string" ? options.job : jobYaml(options.job));
  const key = canaryKey();
  const sim = await startSimProcess({
    ...options.host,
    sim: { speed: options.speed, concurrency: options.concurrency, ...options.host?.sim },
    apiKey: key,
    journalDir: outDir,
  });
  const runs: RunOutcome[] = [];
  const scenario: Scenario = {
    dir,
    jobFile,
    outDir,
    key,
    sim,
    speed: options.speed,
    runs,
    async run(spec = {}) {
      const { extraArgs = [], concurrency = options.concurrency, ...rest } = spec;
      const outcome = await runActbatch({
        cwd: dir,
        key,
        timeScale: options.speed,
        args: [
          "run",
          "job.yaml",
          "--out",
          "out",
          "--base-url",
          sim.baseUrl,
          "--concurrency",
          String(concurrency),
          "--json",
          // The simulator serves synthetic byte payloads here (outputBytes), not MP4s: these tests are
          // about paid work and files surviving faults, not about what a render contains.
          "--no-output-checks",
          ...extraArgs,
        ],
        ...rest,
      });
      runs.push(outcome);
      return outcome;
    },
    async check() {
      const stats = await sim.stats();
      const expected = await sim.expectedOutputs(stats.tasks.map((task) => task.id));
      return checkInvariants({
        sim: stats,
        expectedOutput: (id) => expected.get(id) ?? undefined,
        outputDir: outDir,
        secrets: [key],
        texts: runs.flatMap((outcome, index) => [
          { name: `run ${index + 1} stdout`, text: outcome.stdout },
          { name: `run ${index + 1} stderr`, text: outcome.stderr },
        ]),
      });
    },
    async close() {
      await sim.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return scenario;
}

/** Files under a folder, relative, POSIX separators. */
export async function listTree(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    return entries
      .filter((entry) => entry.isFile())
      .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split(sep).join("/"))
      .toSorted();
  } catch {
    return [];
  }
}
