// A manifest record turned back into journal records must stand for the same task: the same manifest
// record when derived again (so a rerun leaves manifest.json byte-identical), and the same start
// decision (so a folder without its journal is resumed exactly as the folder that ran it would be).
import { describe, expect, it } from "vitest";
import { recordsFromManifestTask, untrustedRecord } from "../../src/run/adopt.js";
import { decideStart, type DecideOptions } from "../../src/run/decide.js";
import { foldJournal, type KeyState } from "../../src/journal/fold.js";
import type { JournalRecord } from "../../src/journal/records.js";
import { deriveManifestTask, type KeyOverlay } from "../../src/run/manifest-tasks.js";
import type { TaskPlan } from "../../src/job/types.js";
import { planOf } from "../helpers/manifest-fixtures.js";
import {
  ambiguous,
  created,
  failed,
  intent,
  output,
  succeeded,
  type RecordInput,
} from "../helpers/journal-fixtures.js";

const task = planOf(1).tasks[0] as TaskPlan;
const AT = "2026-03-01T10:00:00.000Z";
const DEFAULTS: DecideOptions = { force: false, retryFailed: false, resubmitAmbiguous: true };

function stateOf(records: RecordInput[]): KeyState | undefined {
  return foldJournal(records.map((record) => ({ ...record, at: AT }) as JournalRecord)).get(task.key);
}

/** Indexes of the last attempt's recorded outputs (the files are on disk), unless told otherwise. */
function onDisk(state: KeyState | undefined, present: boolean): Set<number> {
  return new Set(present ? (state?.attempts.at(-1)?.outputs.map((o) => o.index) ?? []) : []);
}

const retryableFailure: RecordInput = {
  t: "terminal",
  key: task.key,
  attempt: 1,
  taskId: `task-${task.key}-1`,
  status: "FAILED",
  error: { code: "INTERNAL", message: "internal error", retryable: true },
  outputs: 0,
};
const lost = (attempt = 1): RecordInput => ({
  t: "lost",
  key: task.key,
  attempt,
  taskId: `task-${task.key}-${attempt}`,
  message: "the task is gone (404)",
});

const stories: { name: string; records: RecordInput[]; filesPresent?: boolean }[] = [
  {
    name: "succeeded, file on disk",
    records: [intent(task), created(task), succeeded(task), output(task, "v")],
  },
  {
    name: "succeeded, file missing (fetched again from its task)",
    records: [intent(task), created(task), succeeded(task), output(task, "v")],
    filesPresent: false,
  },
  { name: "succeeded, never downloaded", records: [intent(task), created(task), succeeded(task)] },
  { name: "final failure", records: [intent(task), created(task), failed(task)] },
  {
    name: "retryable failure, then succeeded",
    records: [
      intent(task),
      created(task),
      retryableFailure,
      intent(task, 2),
      created(task, 2),
      succeeded(task, 2),
      output(task, "v", 2),
    ],
  },
  {
    name: "ambiguous create, then succeeded (possibly charged twice)",
    records: [
      intent(task),
      ambiguous(task),
      intent(task, 2),
      created(task, 2),
      succeeded(task, 2),
      output(task, "v", 2),
    ],
  },
  { name: "in flight", records: [intent(task), created(task)] },
  { name: "sent, no answer recorded", records: [intent(task)] },
  { name: "ambiguous, held", records: [intent(task), ambiguous(task)] },
  {
    name: "answered with another key's task id (refused, possibly paid)",
    records: [
      intent(task),
      { t: "ambiguous", key: task.key, attempt: 1, message: "id of another key", code: "DUPLICATE_TASK_ID" },
    ],
  },
  {
    name: "cancelled",
    records: [
      intent(task),
      created(task),
      { t: "cancel", key: task.key, attempt: 1, taskId: `task-${task.key}-1` },
    ],
  },
  {
    name: "refused by the service",
    records: [
      intent(task),
      {
        t: "not-created",
        key: task.key,
        attempt: 1,
        reason: "rejected",
        code: "HTTP_400",
        message: "bad body",
      },
    ],
  },
  {
    name: "retryable failure, then not created (account stop)",
    records: [
      intent(task),
      created(task),
      retryableFailure,
      intent(task, 2),
      {
        t: "not-created",
        key: task.key,
        attempt: 2,
        reason: "unavailable",
        code: "UNAVAILABLE",
        message: "503",
      },
    ],
  },
  {
    name: "output lost and task gone, not rendered again yet",
    records: [intent(task), created(task), succeeded(task), output(task, "v"), lost()],
    filesPresent: false,
  },
  {
    name: "output lost and task gone, rendered again",
    records: [
      intent(task),
      created(task),
      succeeded(task),
      output(task, "v"),
      lost(),
      intent(task, 2),
      created(task, 2),
      succeeded(task, 2),
      output(task, "w", 2),
    ],
  },
];

describe("a manifest record taken back into the journal", () => {
  for (const story of stories)
    it(`stands for the same task: ${story.name}`, () => {
      const original = stateOf(story.records);
      const present = story.filesPresent ?? true;
      const record = deriveManifestTask(task, task.output, original, onDisk(original, present));

      const adopted = stateOf(recordsFromManifestTask(record, task.output));
      expect(deriveManifestTask(task, task.output, adopted, onDisk(adopted, present))).toEqual(record);
      // The same decision; only the creation time of a task in flight is not known (see below).
      const decision = (state: KeyState | undefined) => {
        const action = decideStart(state, task.output, onDisk(state, present), DEFAULTS);
        return action.kind === "poll" ? { ...action, createdAt: "(any)" } : action;
      };
      expect(decision(adopted)).toEqual(decision(original));
    });

  it("resumes a task recorded while it was being polled or downloaded as the run that wrote it would", () => {
    const cases: { records: RecordInput[]; overlay: KeyOverlay; decision: string }[] = [
      { records: [intent(task), created(task)], overlay: { live: "RUNNING" }, decision: "poll" },
      {
        records: [intent(task), created(task), succeeded(task)],
        overlay: { downloadError: { code: "DOWNLOAD_FAILED", message: "reset" } },
        decision: "download",
      },
      {
        records: [intent(task), created(task), succeeded(task)],
        overlay: { downloadError: { code: "OUTPUT_TOO_LARGE", message: "over the limit" } },
        decision: "download",
      },
      {
        records: [intent(task), created(task), succeeded(task)],
        overlay: { downloading: true },
        decision: "poll",
      },
    ];
    for (const { records, overlay, decision } of cases) {
      const record = deriveManifestTask(task, task.output, stateOf(records), new Set(), overlay);
      const adopted = stateOf(recordsFromManifestTask(record, task.output));
      expect(adopted?.attempts.at(-1)?.taskId).toBe(`task-${task.key}-1`);
      expect(decideStart(adopted, task.output, new Set(), DEFAULTS).kind).toBe(decision);
    }
  });

  it("writes nothing for a task never submitted, and marks an adopted creation as long past", () => {
    const never = deriveManifestTask(task, task.output, undefined, new Set());
    expect(recordsFromManifestTask(never, task.output)).toEqual([]);
    const inFlight = deriveManifestTask(task, task.output, stateOf([intent(task), created(task)]), new Set());
    const adopted = stateOf(recordsFromManifestTask(inFlight, task.output));
    // No visibility grace for a task created by an earlier run: a "gone" answer is believed at once.
    expect(adopted?.attempts[0]?.createdAt).toBe(new Date(0).toISOString());
  });

  it("distrusts a record whose key is not the digest of its request", () => {
    const record = deriveManifestTask(task, task.output, stateOf([intent(task), created(task)]), new Set());
    expect(untrustedRecord(record)).toBeNull();
    expect(untrustedRecord({ ...record, request: { ...record.request, seed: 999 } })).toMatch(
      /not the digest/,
    );
  });
});
