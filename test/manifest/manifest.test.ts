import { readdir, readFile, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { assert as checkProperty, integer, property } from "fast-check";
import { describe, expect, it } from "vitest";
import { UserError } from "../../src/errors.js";
import {
  assembleManifest,
  createManifestCache,
  notSubmittedTask,
  readManifest,
  serializeManifest,
  writeManifest,
  writeManifestCheckpoint,
} from "../../src/manifest/manifest.js";
import type { ManifestTask } from "../../src/manifest/types.js";
import {
  failedTask,
  pendingTask,
  planOf,
  succeededTask,
  taskPlanFor,
  withTempDir,
} from "../helpers/manifest-fixtures.js";

const plan = planOf(6);
const [t0, t1, t2, t3, t4] = plan.tasks as [
  (typeof plan.tasks)[0],
  (typeof plan.tasks)[0],
  (typeof plan.tasks)[0],
  (typeof plan.tasks)[0],
  (typeof plan.tasks)[0],
];
const orphanPlan = taskPlanFor(100, "old-pair", 999);

function records(): ManifestTask[] {
  const retried: ManifestTask = {
    ...succeededTask(t3),
    attempts: 3,
    possiblyChargedTwice: true,
    history: [
      {
        attempt: 2,
        taskId: "task-second",
        status: "FAILED",
        error: { code: "INTERNAL", message: "boom", retryable: true },
      },
      { attempt: 1, taskId: null, status: "AMBIGUOUS", error: null },
    ],
  };
  return [succeededTask(t0), failedTask(t1), pendingTask(t2), retried, pendingTask(t4, "THROTTLED")];
}

/** The same records with every list and every object's keys in another order. */
function scrambled(tasks: ManifestTask[], seed: number): ManifestTask[] {
  const rng = mulberry(seed);
  const shuffle = <T>(items: T[]): T[] =>
    items
      .map((item) => [rng(), item] as const)
      .toSorted((a, b) => a[0] - b[0])
      .map(([, item]) => item);
  const reorder = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(reorder);
    if (value !== null && typeof value === "object")
      return Object.fromEntries(shuffle(Object.entries(value)).map(([key, inner]) => [key, reorder(inner)]));
    return value;
  };
  return shuffle(tasks).map((task) => {
    const copy = reorder(task) as ManifestTask;
    return { ...copy, outputs: shuffle(copy.outputs), history: shuffle(copy.history) };
  });
}

describe("assembleManifest", () => {
  it("lists tasks in plan order, fills never-sent tasks as NOT_SUBMITTED and computes the summary", () => {
    const manifest = assembleManifest({ plan, tasks: records().toReversed() });
    expect(manifest.tasks.map((task) => task.key)).toEqual(plan.tasks.map((task) => task.key));
    expect(manifest.tasks.map((task) => task.status)).toEqual([
      "SUCCEEDED",
      "FAILED",
      "RUNNING",
      "SUCCEEDED",
      "THROTTLED",
      "NOT_SUBMITTED",
    ]);
    expect(manifest.tasks[5]).toMatchObject({ taskId: null, attempts: 0, outputs: [], error: null });
    expect(manifest.summary).toEqual({
      total: 6,
      succeeded: 2,
      failed: 1,
      pending: 3,
      possiblyChargedTwice: 1,
    });
    expect(manifest.version).toBe(1);
    expect(manifest.job).toBe(plan.job);
    expect(manifest.spec).toEqual(plan.spec);
  });

  it("keeps paid tasks that left the plan as orphans sorted by key, and counts their double charges", () => {
    const orphanA = { ...succeededTask(orphanPlan), possiblyChargedTwice: true };
    const orphanB = succeededTask(taskPlanFor(101, "old-pair", 998));
    const manifest = assembleManifest({ plan, tasks: [orphanB, ...records()], orphans: [orphanA] });
    expect(manifest.orphans.map((task) => task.key)).toEqual([orphanA.key, orphanB.key].toSorted());
    expect(manifest.tasks).toHaveLength(6);
    expect(manifest.summary.total).toBe(6);
    expect(manifest.summary.possiblyChargedTwice).toBe(2);
  });

  it("moves a record filed as an orphan whose key is in the plan back into the tasks", () => {
    const manifest = assembleManifest({ plan, tasks: [], orphans: [succeededTask(t2)] });
    expect(manifest.orphans).toEqual([]);
    expect(manifest.tasks[2]?.status).toBe("SUCCEEDED");
  });

  it("refuses two records for the same key", () => {
    expect(() => assembleManifest({ plan, tasks: [succeededTask(t0), failedTask(t0)] })).toThrow(
      /recorded twice/,
    );
  });

  it("sorts outputs by file and history by attempt", () => {
    const task = succeededTask(t0);
    task.outputs = [
      { file: "b.mp4", bytes: 1, sha256: "b".repeat(64) },
      { file: "a.mp4", bytes: 2, sha256: "a".repeat(64) },
    ];
    const manifest = assembleManifest({ plan, tasks: [task, ...records().slice(1)] });
    expect(manifest.tasks[0]?.outputs.map((output) => output.file)).toEqual(["a.mp4", "b.mp4"]);
    expect(manifest.tasks[3]?.history.map((attempt) => attempt.attempt)).toEqual([1, 2]);
  });

  it("does not share objects with its input (later changes to the records do not leak in)", () => {
    const input = records();
    const manifest = assembleManifest({ plan, tasks: input });
    (input[0] as ManifestTask).outputs[0]!.bytes = 0;
    (input[0] as ManifestTask).params.seed = 42;
    expect(manifest.tasks[0]?.outputs[0]?.bytes).not.toBe(0);
    expect(manifest.tasks[0]?.params.seed).not.toBe(42);
  });
});

describe("serializeManifest", () => {
  it("gives the same bytes for the same records in any order, with keys in any order", () => {
    const reference = serializeManifest(
      assembleManifest({ plan, tasks: records(), orphans: [succeededTask(orphanPlan)] }),
    );
    checkProperty(
      property(integer(), (seed) => {
        const shuffled = scrambled([...records(), succeededTask(orphanPlan)], seed);
        expect(serializeManifest(assembleManifest({ plan, tasks: shuffled }))).toBe(reference);
      }),
      { numRuns: 50 },
    );
  });

  it("writes fields in the documented order, 2-space indented, with a trailing newline", () => {
    const text = serializeManifest(assembleManifest({ plan, tasks: records() }));
    const parsed = JSON.parse(text) as Record<string, unknown> & { tasks: Record<string, unknown>[] };
    expect(Object.keys(parsed)).toEqual(["version", "job", "spec", "summary", "tasks", "orphans"]);
    expect(Object.keys(parsed.tasks[3] as object)).toEqual([
      "key",
      "pair",
      "params",
      "request",
      "taskId",
      "status",
      "attempts",
      "outputs",
      "error",
      "possiblyChargedTwice",
      "history",
    ]);
    expect(Object.keys(parsed.summary as object)).toEqual([
      "total",
      "succeeded",
      "failed",
      "pending",
      "possiblyChargedTwice",
    ]);
    expect(Object.keys((parsed.tasks[0] as { request: object }).request)).toEqual([
      "model",
      "character",
      "reference",
      "ratio",
      "bodyControl",
      "expressionIntensity",
      "seed",
      "contentModeration",
    ]);
    expect(text.startsWith('{\n  "version": 1,\n  "job": "hero-closeups",')).toBe(true);
    expect(text.endsWith("}\n")).toBe(true);
    expect(text.endsWith("\n\n")).toBe(false);
  });

  it("holds no wall-clock time: two runs with the same results give the same bytes", async () => {
    const first = serializeManifest(assembleManifest({ plan, tasks: records() }));
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(serializeManifest(assembleManifest({ plan, tasks: records() }))).toBe(first);
    expect(first).not.toMatch(/\d{4}-\d\d-\d\dT\d\d:\d\d/);
  });
});

describe("writeManifest and readManifest", () => {
  it("writes <out>/manifest.json and reads it back equal, from the folder or the file", async () => {
    await withTempDir(async (dir) => {
      const manifest = assembleManifest({ plan, tasks: records() });
      const path = await writeManifest(dir, manifest);
      expect(path).toBe(join(dir, "manifest.json"));
      expect(await readFile(path, "utf8")).toBe(serializeManifest(manifest));
      expect(await readManifest(dir)).toEqual(manifest);
      expect(await readManifest(path)).toEqual(manifest);
      expect(await readdir(dir)).toEqual(["manifest.json"]);
    });
  });

  it("creates the output folder when it does not exist yet", async () => {
    await withTempDir(async (dir) => {
      const out = join(dir, "out", "job");
      await writeManifest(out, assembleManifest({ plan, tasks: [] }));
      expect((await readManifest(out)).summary.pending).toBe(6);
    });
  });

  it("leaves an identical manifest untouched, mtime included, and replaces a different one", async () => {
    await withTempDir(async (dir) => {
      const manifest = assembleManifest({ plan, tasks: records() });
      const path = await writeManifest(dir, manifest);
      const past = new Date("2020-01-02T03:04:05Z");
      await utimes(path, past, past);
      await writeManifest(dir, assembleManifest({ plan, tasks: scrambled(records(), 7) }));
      expect((await stat(path)).mtime.getTime()).toBe(past.getTime());
      await writeManifest(dir, assembleManifest({ plan, tasks: records().slice(1) }));
      expect((await stat(path)).mtime.getTime()).not.toBe(past.getTime());
      expect((await readManifest(dir)).tasks[0]?.status).toBe("NOT_SUBMITTED");
    });
  });

  it("refuses to write a manifest that breaks its schema, leaving the old one", async () => {
    await withTempDir(async (dir) => {
      await writeManifest(dir, assembleManifest({ plan, tasks: records() }));
      const before = await readFile(join(dir, "manifest.json"), "utf8");
      const lying = { ...succeededTask(t0), outputs: [] };
      await expect(writeManifest(dir, assembleManifest({ plan, tasks: [lying] }))).rejects.toThrow(
        /refusing to write an invalid manifest: \/tasks\/0\/outputs/,
      );
      expect(await readFile(join(dir, "manifest.json"), "utf8")).toBe(before);
    });
  });

  it("a run's checkpoints (with a cache) write the same bytes as writeManifest while the tasks change", async () => {
    await withTempDir(async (dir) => {
      const cache = createManifestCache();
      const path = join(dir, "manifest.json");
      const withChecks: ManifestTask = {
        ...succeededTask(t4),
        outputs: [
          {
            ...(succeededTask(t4).outputs[0] as ManifestTask["outputs"][0]),
            checks: [{ name: "ratio", ok: false, expected: "1280:720", actual: "720:1280" }],
          },
        ],
      };
      const kept = records();
      const rounds: ManifestTask[][] = [
        [],
        records().toReversed(),
        records().slice(0, 4),
        kept,
        [...kept.slice(0, 4), withChecks],
        [...kept.slice(0, 4), withChecks],
      ];
      for (const [round, tasks] of rounds.entries()) {
        const orphans = round % 2 === 0 ? [succeededTask(orphanPlan)] : [];
        await writeManifestCheckpoint(dir, { plan, tasks, orphans }, cache);
        const expected = serializeManifest(assembleManifest({ plan, tasks, orphans }));
        expect(await readFile(path, "utf8"), `round ${round}`).toBe(expected);
        // Where each record's bytes are is kept for the next checkpoint.
        expect([...tasks, ...orphans].every((task) => cache.placeOf(task.key) !== null)).toBe(true);
      }
      const lying = { ...succeededTask(t0), outputs: [] };
      await expect(writeManifestCheckpoint(dir, { plan, tasks: [lying] }, cache)).rejects.toThrow(
        /refusing to write an invalid manifest: \/tasks\/0\/outputs/,
      );
    });
  });

  it("checkpoints given a record source derive only the changed keys' records and copy the others' bytes: the same bytes as writeManifest, round after round", async () => {
    const big = planOf(120);
    const states = [
      (task: (typeof big.tasks)[0]) => pendingTask(task, "PENDING"),
      (task: (typeof big.tasks)[0]) => pendingTask(task, "RUNNING"),
      (task: (typeof big.tasks)[0]) => succeededTask(task),
      (task: (typeof big.tasks)[0]) => failedTask(task),
    ];
    await withTempDir(async (dir) => {
      const cache = createManifestCache();
      const path = join(dir, "manifest.json");
      // Deterministic rounds: each changes the records of some keys, keeps the others.
      const current = new Map(
        big.tasks
          .filter((_, index) => index % 3 !== 0)
          .map((task) => [task.key, pendingTask(task, "PENDING")]),
      );
      const orphan = succeededTask(orphanPlan);
      for (let round = 0; round < 12; round++) {
        const changed = new Set<string>();
        big.tasks.forEach((task, index) => {
          if (!current.has(task.key) || (index * 7 + round) % 5 !== 0) return;
          current.set(task.key, (states[(index + round) % states.length] as (typeof states)[0])(task));
          changed.add(task.key);
        });
        if (round === 6)
          for (const task of big.tasks.slice(-10)) if (current.delete(task.key)) changed.add(task.key);
        const orphans = round % 4 === 1 ? [orphan] : [];
        if (round % 4 === 1) changed.add(orphan.key);
        const asked: string[] = [];
        const source = {
          changed,
          orphanKeys: orphans.map((record) => record.key),
          record: (key: string): ManifestTask => {
            asked.push(key);
            const task = big.tasks.find((candidate) => candidate.key === key);
            return task ? (current.get(key) ?? notSubmittedTask(task)) : orphan;
          },
        };
        await writeManifestCheckpoint(dir, { plan: big, tasks: [], orphans: [] }, cache, source);
        const expected = serializeManifest(
          assembleManifest({ plan: big, tasks: [...current.values()], orphans }),
        );
        expect(await readFile(path, "utf8"), `round ${round}`).toBe(expected);
        // After the first round, only the changed keys' records are derived.
        const unchangedAsked = asked.filter((key) => !changed.has(key));
        expect(round === 0 ? asked.length : unchangedAsked.length, `round ${round}`).toBe(
          round === 0 ? big.tasks.length : 0,
        );
      }
      // What the cache keeps of a record is where its bytes are in the file, not the bytes.
      const place = cache.placeOf(big.tasks[1]?.key as string);
      expect(place && Object.keys(place).toSorted()).toEqual(["file", "length", "offset"]);
    });
  });

  it("a checkpoint serialises every record afresh when the file changed since the last one wrote it", async () => {
    await withTempDir(async (dir) => {
      const cache = createManifestCache();
      const path = join(dir, "manifest.json");
      const tasks = records();
      await writeManifestCheckpoint(dir, { plan, tasks }, cache);
      // Another program rewrites the file (same size, other bytes): nothing may be copied from it.
      const original = await readFile(path, "utf8");
      await writeFile(path, original.replaceAll('"key"', '"kex"'));
      const next = [...tasks.slice(0, -1), failedTask(t4)];
      await writeManifestCheckpoint(dir, { plan, tasks: next }, cache);
      expect(await readFile(path, "utf8")).toBe(serializeManifest(assembleManifest({ plan, tasks: next })));
      // And once more from the file it wrote itself.
      await writeManifestCheckpoint(dir, { plan, tasks }, cache);
      expect(await readFile(path, "utf8")).toBe(serializeManifest(assembleManifest({ plan, tasks })));
    });
  });

  it("a checkpoint with nothing new leaves the file as it is (modification time included)", async () => {
    await withTempDir(async (dir) => {
      const cache = createManifestCache();
      const path = join(dir, "manifest.json");
      const tasks = records();
      await writeManifestCheckpoint(dir, { plan, tasks }, cache);
      const past = new Date(Date.now() - 3_600_000);
      await utimes(path, past, past);
      // The file's identity changed (its time): a checkpoint finds it still holds these bytes.
      await writeManifestCheckpoint(dir, { plan, tasks }, cache);
      await writeManifestCheckpoint(dir, { plan, tasks }, cache);
      expect(Math.round((await stat(path)).mtimeMs)).toBe(past.getTime());
    });
  });

  it("cleans up the temporary file a killed writer left behind", async () => {
    await withTempDir(async (dir) => {
      const stray = join(dir, ".manifest.json.999999999.0123456789ab.tmp");
      await writeFile(stray, "{ half");
      await writeManifest(dir, assembleManifest({ plan, tasks: [] }));
      expect(await readdir(dir)).toEqual(["manifest.json"]);
    });
  });
});

async function readError(dir: string, name: string, content: string | null): Promise<UserError> {
  const path = join(dir, name);
  if (content !== null) await writeFile(path, content);
  const error = await readManifest(path).then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(UserError);
  expect((error as UserError).exitCode).toBe(2);
  expect((error as UserError).message).toContain(path);
  return error as UserError;
}

describe("readManifest errors", () => {
  it("names a missing manifest", async () => {
    await withTempDir(async (dir) => {
      expect((await readError(dir, "manifest.json", null)).message).toMatch(/no manifest at/);
      await expect(readManifest(join(dir, "nowhere"))).rejects.toThrow(
        /no manifest at .*nowhere\/manifest\.json/,
      );
    });
  });

  it("says a truncated file is not valid JSON", async () => {
    await withTempDir(async (dir) => {
      const text = serializeManifest(assembleManifest({ plan, tasks: records() }));
      expect((await readError(dir, "manifest.json", text.slice(0, text.length / 2))).message).toMatch(
        /not valid JSON/,
      );
    });
  });

  it("says a foreign JSON file is not an actbatch manifest", async () => {
    await withTempDir(async (dir) => {
      const error = await readError(dir, "package.json", JSON.stringify({ name: "x", version: "1.0.0" }));
      expect(error.message).toMatch(/not an actbatch manifest/);
    });
  });

  it("names the version it cannot read", async () => {
    await withTempDir(async (dir) => {
      const manifest = { ...assembleManifest({ plan, tasks: [] }), version: 2 };
      expect((await readError(dir, "manifest.json", JSON.stringify(manifest))).message).toMatch(
        /version 2 manifest/,
      );
    });
  });

  it("lists where the file breaks the schema", async () => {
    await withTempDir(async (dir) => {
      const manifest = JSON.parse(serializeManifest(assembleManifest({ plan, tasks: records() }))) as {
        tasks: Record<string, unknown>[];
      };
      manifest.tasks[0]!.status = "DONE";
      manifest.tasks[1]!.colour = "red";
      delete manifest.tasks[2]!.attempts;
      const { message } = await readError(dir, "manifest.json", JSON.stringify(manifest));
      expect(message).toContain("/tasks/0/status: must be one of");
      expect(message).toContain('/tasks/1: unknown field "colour"');
      expect(message).toContain('/tasks/2: missing field "attempts"');
    });
  });

  it("catches a summary that does not match the tasks", async () => {
    await withTempDir(async (dir) => {
      const manifest = assembleManifest({ plan, tasks: records() });
      manifest.summary.succeeded = 6;
      const { message } = await readError(dir, "manifest.json", serializeManifest(manifest));
      expect(message).toMatch(/summary does not match its tasks \(succeeded says 6, the tasks say 2/);
    });
  });
});

function mulberry(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
