// The baseline: what a user writes from the official SDK's README. One create(...).waitForTaskOutput()
// per task, p-limit for concurrency, then a plain fetch of the output to disk. The SDK is used
// unmodified with its defaults; its clock is scaled by the preload module scale-timers.ts.
//
// Usage: node --import ./bench/baselines/scale-timers.ts bench/baselines/sdk-baseline.ts \
//          --tasks TASKS.json --out DIR --concurrency C --result RESULT.json
// with RUNWAYML_BASE_URL (the simulator's origin, bare shape) and RUNWAYML_API_SECRET in the environment.
// TASKS.json: [{ "key", "request", "output" }]. RESULT.json: the per-task record described by
// BaselineResult below, read by bench/lib/runners.ts.

import { createWriteStream } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { pipeline } from "node:stream/promises";
import { parseArgs } from "node:util";
import { RunwayML, TaskFailedError } from "@runwayml/sdk";
import type { CharacterPerformanceCreateParams } from "@runwayml/sdk/resources/character-performance";
import pLimit from "p-limit";

export interface BaselineTaskRecord {
  key: string;
  taskId: string | null;
  outcome: "succeeded" | "failed" | "error";
  /** Real epoch ms when waitForTaskOutput returned (or threw). */
  noticedAt: number | null;
  downloadedAt: number | null;
  bytes: number;
  error: string | null;
}

export interface BaselineResult {
  startedAt: number;
  endedAt: number;
  tasks: BaselineTaskRecord[];
  timerScale: unknown;
  /**
   * Rejections that reached Node with no handler attached yet. Each one would end the README's script
   * (Node's default for an unhandled rejection is to crash): see the note on the handler below.
   */
  unhandledRejections: {
    count: number;
    firstAt: number | null;
    firstError: string | null;
    doneBefore: number;
  };
}

interface TaskInput {
  key: string;
  request: CharacterPerformanceCreateParams;
  output: string;
}

/**
 * The system clock, unscaled (the preload publishes it): the clock of the simulator's ledger. A
 * process's performance.timeOrigin + performance.now() drifts from it by every step of the system clock.
 */
const realDateNow = (globalThis as Record<symbol, unknown>)[Symbol.for("actbatch.bench.realDateNow")];
const now: () => number = typeof realDateNow === "function" ? (realDateNow as () => number) : Date.now;

const { values } = parseArgs({
  options: {
    tasks: { type: "string" },
    out: { type: "string" },
    concurrency: { type: "string" },
    result: { type: "string" },
  },
});
if (!values.tasks || !values.out || !values.concurrency || !values.result)
  throw new Error("usage: sdk-baseline.ts --tasks FILE --out DIR --concurrency N --result FILE");
const outDir = values.out;
const tasks = JSON.parse(await readFile(values.tasks, "utf8")) as TaskInput[];
const startedAt = now();

// The one thing this script adds to the README's code. create(body).waitForTaskOutput() sleeps 6 s
// BEFORE it awaits the create request; when that request fails (after the SDK's own two retries)
// during the sleep, its promise rejects with no handler attached, and Node (unhandled-rejections=throw)
// kills the whole batch. waitForTaskOutput() attaches the handler a few seconds later, which is where
// the error would have been caught. Counting these instead of dying keeps the benchmark measuring the
// rest; the count (and when the first one happened) is reported as what the plain script does.
const unhandled = {
  count: 0,
  firstAt: null as number | null,
  firstError: null as string | null,
  doneBefore: 0,
};
let tasksDone = 0;
process.on("unhandledRejection", (reason) => {
  unhandled.count += 1;
  if (unhandled.firstAt !== null) return;
  unhandled.firstAt = now();
  unhandled.firstError = reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason);
  unhandled.doneBefore = tasksDone;
});

// From here on this is the README's code, with only the bookkeeping the benchmark needs.
const client = new RunwayML();
const limit = pLimit(Number(values.concurrency));

async function render(input: TaskInput): Promise<BaselineTaskRecord> {
  const record: BaselineTaskRecord = {
    key: input.key,
    taskId: null,
    outcome: "error",
    noticedAt: null,
    downloadedAt: null,
    bytes: 0,
    error: null,
  };
  try {
    const task = await client.characterPerformance.create(input.request).waitForTaskOutput();
    record.noticedAt = now();
    record.taskId = task.id;
    const url = task.output[0];
    if (url === undefined) throw new Error("task succeeded without an output");
    const response = await fetch(url);
    if (!response.ok || !response.body) throw new Error(`download failed: HTTP ${response.status}`);
    const file = join(outDir, input.output);
    await mkdir(dirname(file), { recursive: true });
    const body = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
    body.on("data", (chunk: Buffer) => (record.bytes += chunk.length));
    await pipeline(body, createWriteStream(file));
    record.downloadedAt = now();
    record.outcome = "succeeded";
  } catch (error) {
    record.noticedAt ??= now();
    if (error instanceof TaskFailedError) {
      record.outcome = "failed";
      record.taskId = error.taskDetails.id;
    }
    record.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  }
  tasksDone += 1;
  return record;
}

const records = await Promise.all(tasks.map((task) => limit(() => render(task))));

const result: BaselineResult = {
  startedAt,
  endedAt: now(),
  tasks: records,
  timerScale: (globalThis as Record<symbol, unknown>)[Symbol.for("actbatch.bench.timerScale")] ?? null,
  unhandledRejections: unhandled,
};
await writeFile(values.result, JSON.stringify(result));
