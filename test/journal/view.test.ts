import { describe, expect, it } from "vitest";
import type { TaskPlan } from "../../src/job/types.js";
import { journalTasks, parseJournalLeniently } from "../../src/journal/view.js";
import { planOf } from "../helpers/manifest-fixtures.js";
import {
  ambiguous,
  created,
  failed,
  intent,
  journalText,
  output,
  succeeded,
} from "../helpers/journal-fixtures.js";

const tasks = planOf(6).tasks;
const [a, b, c, d, e, f] = [0, 1, 2, 3, 4, 5].map((index) => tasks[index] as TaskPlan) as [
  TaskPlan,
  TaskPlan,
  TaskPlan,
  TaskPlan,
  TaskPlan,
  TaskPlan,
];

describe("the forgiving journal view used by status", () => {
  const text = journalText([
    intent(a),
    created(a),
    succeeded(a),
    output(a, "video a"),
    intent(b),
    intent(c),
    created(c),
    intent(d),
    created(d),
    succeeded(d),
    intent(e),
    ambiguous(e),
    intent(e, 2),
    created(e, 2),
    intent(f),
    created(f),
    failed(f),
  ]);

  it("tells where each task stands", () => {
    const view = parseJournalLeniently(text);
    expect(view).toMatchObject({ records: 17, tornTail: false, damagedLines: [], inconsistentRecords: 0 });
    const phases = Object.fromEntries(journalTasks(view.fold).map((task) => [task.key, task.phase]));
    expect(phases).toEqual({
      [a.key]: "succeeded",
      [b.key]: "unanswered",
      [c.key]: "in-flight",
      [d.key]: "awaiting-download",
      [e.key]: "in-flight",
      [f.key]: "failed",
    });
    const retried = journalTasks(view.fold).find((task) => task.key === e.key);
    expect(retried).toMatchObject({ attempt: 2, possiblyChargedTwice: true, taskIds: [`task-${e.key}-2`] });
  });

  it("ignores a torn last line at every byte offset, keeping all earlier records", () => {
    const lines = text.split("\n").filter(Boolean);
    const last = lines.at(-1)!;
    const head = lines.slice(0, -1).join("\n") + "\n";
    for (let cut = 1; cut < last.length; cut += 1) {
      const view = parseJournalLeniently(head + last.slice(0, cut));
      expect({ cut, records: view.records, torn: view.tornTail }).toEqual({ cut, records: 16, torn: true });
      expect(view.damagedLines).toEqual([]);
    }
    // The whole record without its newline is still a record.
    expect(parseJournalLeniently(head + last)).toMatchObject({ records: 17, tornTail: false });
  });

  it("reports a damaged line in the middle instead of failing", () => {
    const lines = text.split("\n");
    lines[3] = lines[3]!.replace("video", "vidoe").replace('"bytes":7', '"bytes":8');
    const view = parseJournalLeniently(lines.join("\n"));
    expect(view.damagedLines).toEqual([4]);
    expect(view.records).toBe(16);
    expect(view.tornTail).toBe(false);
  });

  it("skips records that do not follow from the ones before them", () => {
    const view = parseJournalLeniently(journalText([created(a), intent(b)]));
    expect(view.inconsistentRecords).toBe(1);
    expect(journalTasks(view.fold).map((task) => task.key)).toEqual([b.key]);
  });
});
