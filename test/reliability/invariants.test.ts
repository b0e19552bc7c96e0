// The invariant checker on handmade states: silent on a truthful one, and naming each broken promise.
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/canonical.js";
import { assembleManifest, writeManifest } from "../../src/manifest/manifest.js";
import type { ManifestTask } from "../../src/manifest/types.js";
import type { TaskPlan } from "../../src/job/types.js";
import { failedTask, planOf, succeededTask, withTempDir } from "../helpers/manifest-fixtures.js";
import {
  ambiguous,
  created,
  failed,
  intent,
  journalText,
  output,
  succeeded,
  writeJournal,
} from "../helpers/journal-fixtures.js";
import { checkInvariants, formatViolations, type InvariantInputs, type Violation } from "./invariants.js";

const plan = planOf(4);
const task = (index: number) => plan.tasks[index] as TaskPlan;
const content = (index: number) => `video of ${task(index).key}`;
const id = (index: number, attempt = 1) => `task-${task(index).key}-${attempt}`;
const canary = "sk-canary-0123456789abcdef0123456789abcdef";

/**
 * A truthful state: task 0 succeeded; task 1 failed; task 2 had an ambiguous create (the service
 * did create it, as task "lost-2") and was resubmitted, flagged, and succeeded; task 3 was never sent.
 */
function manifestTasks(): ManifestTask[] {
  return [
    { ...succeededTask(task(0), content(0)), taskId: id(0) },
    { ...failedTask(task(1)), taskId: id(1) },
    {
      ...succeededTask(task(2), content(2)),
      taskId: id(2, 2),
      attempts: 2,
      possiblyChargedTwice: true,
      history: [{ attempt: 1, taskId: null, status: "AMBIGUOUS", error: null }],
    },
  ];
}

function sim(): InvariantInputs["sim"] {
  return {
    tasks: [
      { id: id(0), key: task(0).key, status: "SUCCEEDED" },
      { id: id(1), key: task(1).key, status: "FAILED" },
      { id: "lost-2", key: task(2).key, status: "SUCCEEDED" },
      { id: id(2, 2), key: task(2).key, status: "SUCCEEDED" },
    ],
    createsByKey: { [task(0).key]: 1, [task(1).key]: 1, [task(2).key]: 2 },
  };
}

const served = new Map([
  [id(0), { bytes: Buffer.byteLength(content(0)), sha256: sha256Hex(content(0)) }],
  [id(2, 2), { bytes: Buffer.byteLength(content(2)), sha256: sha256Hex(content(2)) }],
]);

async function writeState(dir: string, tasks: ManifestTask[] = manifestTasks()): Promise<void> {
  await writeManifest(dir, assembleManifest({ plan, tasks }));
  for (const index of [0, 2]) {
    await mkdir(dirname(join(dir, task(index).output)), { recursive: true });
    await writeFile(join(dir, task(index).output), content(index));
  }
  await writeJournal(
    dir,
    journalText([
      intent(task(0)),
      created(task(0)),
      succeeded(task(0)),
      output(task(0), content(0)),
      intent(task(1)),
      created(task(1)),
      failed(task(1)),
      intent(task(2)),
      ambiguous(task(2)),
      intent(task(2), 2),
      created(task(2), 2),
      succeeded(task(2), 2),
      output(task(2), content(2), 2),
    ]),
  );
  // A partial download in the runner's own folder is not a final file.
  await mkdir(join(dir, ".actbatch", "partial"), { recursive: true });
  await writeFile(join(dir, ".actbatch", "partial", `${task(3).key}-0.part`), "half");
}

async function check(dir: string, overrides: Partial<InvariantInputs> = {}): Promise<Violation[]> {
  return checkInvariants({
    sim: sim(),
    expectedOutput: (taskId) => served.get(taskId),
    outputDir: dir,
    secrets: [canary],
    ...overrides,
  });
}

const kinds = (violations: Violation[]) => violations.map((violation) => violation.kind).toSorted();

describe("checkInvariants", () => {
  it("finds nothing wrong with a truthful state, ambiguous create included", async () => {
    await withTempDir(async (dir) => {
      await writeState(dir);
      const violations = await check(dir, { texts: [{ name: "stderr", text: "submitted 3 tasks" }] });
      expect(formatViolations(violations)).toBe("");
    });
  });

  it("flags a key created twice that the manifest does not report as possibly charged twice", async () => {
    await withTempDir(async (dir) => {
      const tasks = manifestTasks();
      tasks[2] = { ...(tasks[2] as ManifestTask), possiblyChargedTwice: false };
      await writeState(dir, tasks);
      const violations = await check(dir);
      expect(kinds(violations)).toEqual(["duplicate-create-unflagged"]);
      expect(violations[0]?.message).toContain(`key ${task(2).key} was created 2 times`);
    });
  });

  it("accepts a second create for a key whose first render FAILED and was resubmitted on purpose", async () => {
    await withTempDir(async (dir) => {
      const tasks = manifestTasks();
      tasks[1] = {
        ...succeededTask(task(1), content(1)),
        taskId: id(1, 2),
        attempts: 2,
        history: [{ attempt: 1, taskId: id(1), status: "FAILED", error: null }],
      };
      await writeState(dir, tasks);
      await mkdir(dirname(join(dir, task(1).output)), { recursive: true });
      await writeFile(join(dir, task(1).output), content(1));
      await writeJournal(
        dir,
        journalText([
          intent(task(0)),
          created(task(0)),
          succeeded(task(0)),
          output(task(0), content(0)),
          intent(task(1)),
          created(task(1)),
          failed(task(1)),
          intent(task(1), 2),
          created(task(1), 2),
          succeeded(task(1), 2),
          output(task(1), content(1), 2),
          intent(task(2)),
          ambiguous(task(2)),
          intent(task(2), 2),
          created(task(2), 2),
          succeeded(task(2), 2),
          output(task(2), content(2), 2),
        ]),
      );
      const ledger = sim();
      const resubmitted: InvariantInputs["sim"] = {
        tasks: [...ledger.tasks, { id: id(1, 2), key: task(1).key, status: "SUCCEEDED" }],
        createsByKey: { ...ledger.createsByKey, [task(1).key]: 2 },
      };
      expect(formatViolations(await check(dir, { sim: resubmitted }))).toBe("");
      // The same two creates with the failure forgotten would be a second payment nobody reported.
      tasks[1] = { ...(tasks[1] as ManifestTask), history: [], attempts: 2 };
      await writeState(dir, tasks);
      expect(kinds(await check(dir, { sim: resubmitted }))).toContain("duplicate-create-unflagged");
    });
  });

  it("flags creates the manifest does not count, and a created task it lost", async () => {
    await withTempDir(async (dir) => {
      const tasks = manifestTasks();
      // As if the ambiguous first attempt had been forgotten.
      tasks[2] = { ...(tasks[2] as ManifestTask), attempts: 1, history: [] };
      await writeState(dir, tasks);
      expect(kinds(await check(dir))).toEqual(["creates-uncounted", "ledger-task-lost"]);
    });
  });

  it("flags a paid task missing from the manifest even though the journal has it", async () => {
    await withTempDir(async (dir) => {
      const tasks = manifestTasks().filter((entry) => entry.key !== task(1).key);
      await writeState(dir, tasks);
      const violations = await check(dir);
      expect(kinds(violations)).toEqual(["creates-uncounted", "journal-task-unrecorded", "ledger-task-lost"]);
      expect(violations.find((violation) => violation.kind === "ledger-task-lost")?.taskId).toBe(id(1));
    });
  });

  it("flags task ids the service never created, listed twice, or SUCCEEDED only in the manifest", async () => {
    await withTempDir(async (dir) => {
      const tasks = manifestTasks();
      tasks[1] = {
        ...(tasks[1] as ManifestTask),
        history: [{ attempt: 1, taskId: "ghost", status: "FAILED", error: null }],
        attempts: 2,
      };
      await writeState(dir, tasks);
      const ledger = sim();
      const states = ledger.tasks.map((entry) =>
        entry.id === id(0) ? { ...entry, status: "FAILED" as const } : entry,
      );
      expect(kinds(await check(dir, { sim: { ...ledger, tasks: states } }))).toEqual([
        "phantom-task-id",
        "succeeded-but-not-at-service",
      ]);
      const twice = manifestTasks();
      twice[1] = {
        ...(twice[1] as ManifestTask),
        history: [{ attempt: 1, taskId: id(0), status: "FAILED", error: null }],
        attempts: 2,
      };
      await writeState(dir, twice);
      expect(kinds(await check(dir))).toEqual(["duplicate-task-id"]);
    });
  });

  it("flags an output edited, removed or different from what the service served", async () => {
    await withTempDir(async (dir) => {
      await writeState(dir);
      await writeFile(join(dir, task(0).output), `${content(0)}!`);
      await rm(join(dir, task(2).output));
      const violations = await check(dir, { expectedOutput: () => ({ bytes: 1, sha256: "0".repeat(64) }) });
      expect(kinds(violations)).toEqual([
        "output-mismatch",
        "output-mismatch",
        "output-not-served",
        "output-not-served",
        "stray-file",
      ]);
      expect(formatViolations(violations)).toContain(`${task(2).output}: missing`);
    });
  });

  it("flags an empty or partial file at a final path", async () => {
    await withTempDir(async (dir) => {
      await writeState(dir);
      await mkdir(dirname(join(dir, task(3).output)), { recursive: true });
      await writeFile(join(dir, task(3).output), "");
      await writeFile(join(dir, "hero-take1", "half.mp4"), "partial bytes");
      const violations = await check(dir);
      expect(kinds(violations)).toEqual(["empty-file", "stray-file"]);
    });
  });

  it("flags the key in any file or captured output, in any encoding, without repeating it", async () => {
    await withTempDir(async (dir) => {
      await writeState(dir);
      await writeFile(join(dir, ".actbatch", "debug.log"), `Authorization: Bearer ${canary}\n`);
      const violations = await check(dir, {
        texts: [
          { name: "stderr", text: `header ${Buffer.from(canary).toString("base64")}` },
          { name: "stdout", text: `key ending ${canary.slice(-8)}` },
        ],
      });
      expect(violations.map((violation) => [violation.kind, violation.file])).toEqual([
        ["secret-leak", ".actbatch/debug.log"],
        ["secret-leak", "stderr"],
        ["secret-leak", "stdout"],
      ]);
      expect(formatViolations(violations)).not.toContain(canary.slice(-8));
    });
  });

  it("flags a missing, torn or lying manifest and a damaged journal", async () => {
    await withTempDir(async (dir) => {
      await writeState(dir);
      await rm(join(dir, "manifest.json"));
      expect(kinds(await check(dir))).toEqual(["manifest-missing"]);
      await writeFile(join(dir, "manifest.json"), '{"version": 1, "tasks": [');
      expect(kinds(await check(dir))).toEqual(["manifest-invalid"]);
      await writeState(dir);
      const journalPath = join(dir, ".actbatch", "journal.ndjson");
      const lines = (await readFile(journalPath, "utf8")).split("\n");
      lines[1] = (lines[1] as string).replace(id(0), "tampered");
      await writeFile(journalPath, lines.join("\n"));
      expect(kinds(await check(dir))).toEqual(["journal-damaged"]);
    });
  });
});
