// The engine's manifest records at checkpoints: a key's record is derived again until a write of it succeeds.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { applyRecord, type JournalFold } from "../../src/journal/fold.js";
import type { JournalRecord } from "../../src/journal/records.js";
import {
  assembleManifest,
  createManifestCache,
  serializeManifest,
  writeManifestCheckpoint,
} from "../../src/manifest/manifest.js";
import { ManifestRecordCache, deriveManifestTask } from "../../src/run/manifest-tasks.js";
import { created, intent, type RecordInput } from "../helpers/journal-fixtures.js";
import { planOf, withTempDir } from "../helpers/manifest-fixtures.js";

const plan = planOf(4);
const t0 = plan.tasks[0] as (typeof plan.tasks)[0];

describe("ManifestRecordCache at checkpoints", () => {
  it("keeps the keys of a checkpoint that was not written changed: the next one writes their new records", async () => {
    await withTempDir(async (dir) => {
      const records = new ManifestRecordCache();
      const cache = createManifestCache();
      const fold: JournalFold = new Map();
      const none = new Set<number>();
      const checkpoint = async (outputDir: string): Promise<void> => {
        const taken = records.checkpoint(
          plan.tasks,
          fold,
          () => none,
          () => undefined,
        );
        try {
          await writeManifestCheckpoint(
            outputDir,
            { plan, tasks: taken.tasks, orphans: taken.orphans },
            cache,
            taken.source,
          );
        } catch (error) {
          taken.failed();
          throw error;
        }
      };
      const expected = (): string =>
        serializeManifest(
          assembleManifest({
            plan,
            tasks: plan.tasks.map((task) => deriveManifestTask(task, task.output, fold.get(task.key), none)),
          }),
        );
      const path = join(dir, "manifest.json");
      await checkpoint(dir);
      expect(await readFile(path, "utf8")).toBe(expected());

      const append = (record: RecordInput): void =>
        applyRecord(fold, { ...record, at: "2026-03-01T10:00:00.000Z" } as JournalRecord);
      append(intent(t0));
      append(created(t0));
      records.markChanged(t0.key);
      // This checkpoint cannot be written (its folder is under a file): the file stays as it was.
      const blocked = join(dir, "blocked");
      await writeFile(blocked, "");
      await expect(checkpoint(join(blocked, "out"))).rejects.toThrow(/ENOTDIR|EEXIST/);
      await checkpoint(dir);
      expect(await readFile(path, "utf8")).toBe(expected());
      expect(await readFile(path, "utf8")).toContain(`"taskId": "task-${t0.key}-1"`);
    });
  });
});
