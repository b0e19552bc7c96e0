// Hand-built plans and task records for the manifest, status and invariant tests.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sha256Hex, taskKeyOf } from "../../src/canonical.js";
import type { ManifestTask } from "../../src/manifest/types.js";
import type { Plan, RequestBody, TaskPlan } from "../../src/job/types.js";

export function requestFor(seed: number, expressionIntensity = 3, pair = "hero-take1"): RequestBody {
  return {
    model: "act_two",
    character: { type: "image", uri: `https://cdn.example.com/${pair}.png` },
    reference: { type: "video", uri: "https://cdn.example.com/take1.mp4" },
    ratio: "1280:720",
    bodyControl: true,
    expressionIntensity,
    seed,
    contentModeration: { publicFigureThreshold: "auto" },
  };
}

export function taskPlanFor(index: number, pair = "hero-take1", seed = index + 1): TaskPlan {
  const request = requestFor(seed, 3, pair);
  return {
    key: taskKeyOf(request),
    index,
    pair,
    params: { expressionIntensity: 3, seed },
    request,
    output: `${pair}/ei3-s${seed}.mp4`,
    source: [{ file: "jobs/hero.yaml", line: 10 + index, column: 5 }],
  };
}

export function planOf(count: number, job = "hero-closeups"): Plan {
  return {
    job,
    spec: { file: "jobs/hero.yaml", sha256: sha256Hex("spec") },
    provider: { name: "cometapi" },
    concurrency: 2,
    outputDir: `out/${job}`,
    tasks: Array.from({ length: count }, (_, index) =>
      taskPlanFor(index, index % 2 === 0 ? "hero-take1" : "hero-take2"),
    ),
  };
}

/** A SUCCEEDED record for a planned task, with one output of the given content. */
export function succeededTask(task: TaskPlan, content = `video of ${task.key}`): ManifestTask {
  return {
    key: task.key,
    pair: task.pair,
    params: task.params,
    request: task.request,
    taskId: `task-${task.key}`,
    status: "SUCCEEDED",
    attempts: 1,
    outputs: [{ file: task.output, bytes: Buffer.byteLength(content), sha256: sha256Hex(content) }],
    error: null,
    possiblyChargedTwice: false,
    history: [],
  };
}

export function failedTask(task: TaskPlan, code = "SAFETY.INPUT.IMAGE", retryable = false): ManifestTask {
  return {
    ...succeededTask(task),
    status: "FAILED",
    outputs: [],
    error: { code, message: "The character image was flagged by moderation.", retryable },
  };
}

export function pendingTask(task: TaskPlan, status: ManifestTask["status"] = "RUNNING"): ManifestTask {
  return { ...succeededTask(task), status, outputs: [] };
}

export async function withTempDir<T>(run: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "actbatch-test-"));
  try {
    return await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
