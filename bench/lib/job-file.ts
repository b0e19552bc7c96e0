// A benchmark job: one character/reference pair swept over `seed`, so N tasks with N distinct request
// bodies. The same bodies are written as a task list for the baseline, spelled out field by field,
// so both clients POST byte-for-byte equivalent requests (the simulator's per-key counters line up).

import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

export const BENCH_CHARACTER = { type: "image", uri: "https://assets.example.com/bench/hero.png" } as const;
export const BENCH_REFERENCE = { type: "video", uri: "https://assets.example.com/bench/take1.mp4" } as const;

export interface BenchTask {
  /** The seed doubles as a readable task label; the simulator keys tasks by taskKeyOf(request). */
  seed: number;
  request: Record<string, unknown>;
  /** Output path relative to the output directory (as the job's output.name renders it). */
  output: string;
}

export interface BenchJob {
  dir: string;
  jobFile: string;
  tasksFile: string;
  tasks: BenchTask[];
}

const PAIR = "hero-take1";

export function benchRequest(seed: number): Record<string, unknown> {
  return {
    model: "act_two",
    character: { ...BENCH_CHARACTER },
    reference: { ...BENCH_REFERENCE },
    ratio: "1280:720",
    bodyControl: true,
    expressionIntensity: 3,
    seed,
    contentModeration: { publicFigureThreshold: "auto" },
  };
}

export function benchJobYaml(name: string, tasks: number, concurrency: number): string {
  return `version: 1
name: ${name}
concurrency: ${concurrency}
defaults:
  model: act_two
  ratio: "1280:720"
  bodyControl: true
  expressionIntensity: 3
  contentModeration: { publicFigureThreshold: auto }
assets:
  hero: { type: ${BENCH_CHARACTER.type}, uri: "${BENCH_CHARACTER.uri}" }
  take1: { type: ${BENCH_REFERENCE.type}, uri: "${BENCH_REFERENCE.uri}" }
pairs:
  - id: ${PAIR}
    character: hero
    reference: take1
sweep:
  seed: { from: 1, to: ${tasks} }
output:
  dir: "out/{job}"
  name: "{pair}/s{seed}.mp4"
`;
}

/** Writes job.yaml and tasks.json (the baseline's input) into `dir`. */
export async function writeBenchJob(
  dir: string,
  name: string,
  count: number,
  concurrency: number,
): Promise<BenchJob> {
  await mkdir(dir, { recursive: true });
  const tasks: BenchTask[] = Array.from({ length: count }, (_, index) => {
    const seed = index + 1;
    return { seed, request: benchRequest(seed), output: `${PAIR}/s${seed}.mp4` };
  });
  const jobFile = join(dir, "job.yaml");
  const tasksFile = join(dir, "tasks.json");
  await writeFile(jobFile, benchJobYaml(name, count, concurrency));
  await writeFile(
    tasksFile,
    JSON.stringify(tasks.map(({ seed, request, output }) => ({ key: `s${seed}`, request, output }))),
  );
  return { dir, jobFile, tasksFile, tasks };
}
