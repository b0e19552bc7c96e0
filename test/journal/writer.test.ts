import { mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { decodeRecord, encodeRecord, type JournalRecord } from "../../src/journal/records.js";
import { journalPath } from "../../src/journal/paths.js";
import { JournalWriter, parseJournal, readJournal } from "../../src/journal/writer.js";

const record = (attempt: number, taskId = `t${attempt}`): JournalRecord => ({
  t: "created",
  key: "0123456789abcdef",
  attempt,
  at: "2026-01-01T00:00:00.000Z",
  taskId,
});

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "actbatch-journal-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("journal encoding", () => {
  it("round-trips a record and rejects any changed byte", () => {
    const line = encodeRecord(record(1, "tâsk-é"));
    expect(decodeRecord(line)).toEqual(record(1, "tâsk-é"));
    expect(JSON.parse(line)).toMatchObject({ t: "created", crc: expect.stringMatching(/^[0-9a-f]{8}$/) });
    const flipped = line.replace('"attempt":1', '"attempt":2');
    expect(decodeRecord(flipped)).toBeNull();
  });

  it("ignores a torn last record at every cut point, and refuses damage in the middle", () => {
    const text = [record(1), record(2), record(3)].map((r) => encodeRecord(r) + "\n").join("");
    const bytes = Buffer.from(text);
    const secondEnd = text.indexOf("\n", text.indexOf("\n") + 1) + 1;
    for (let cut = secondEnd; cut <= bytes.length; cut++) {
      const parsed = parseJournal(bytes.subarray(0, cut));
      const whole = cut >= bytes.length - 1; // the third record is intact once only its newline may be missing
      expect(parsed.records.map((r) => r.attempt)).toEqual(whole ? [1, 2, 3] : [1, 2]);
      expect(parsed.tornTail).toBe(!whole && cut > secondEnd);
      expect(parsed.intactBytes).toBe(whole ? cut : secondEnd);
    }
    const damaged = text.replace('"attempt":2', '"attempt":7');
    expect(() => parseJournal(Buffer.from(damaged))).toThrow(/line 2/);
  });
});

describe("JournalWriter", () => {
  it("appends durably, group-commits concurrent appends, and reads back in order", async () => {
    const writer = new JournalWriter(dir, { intactBytes: 0, tornTail: false, missingNewline: false });
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => writer.append({ ...record(i + 1), at: undefined } as never)),
    );
    await writer.close();
    const parsed = await readJournal(dir);
    expect(parsed.records.map((r) => r.attempt)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(writer.count).toBe(50);
  });

  it("cuts a torn tail before appending, so the damage never moves into the middle", async () => {
    const first = new JournalWriter(dir, { intactBytes: 0, tornTail: false, missingNewline: false });
    await first.append({ t: "created", key: "k", attempt: 1, taskId: "a" });
    await first.append({ t: "created", key: "k", attempt: 2, taskId: "b" });
    await first.close();
    const path = journalPath(dir);
    const size = (await readFile(path)).length;
    await truncate(path, size - 7);
    const torn = await readJournal(dir);
    expect(torn).toMatchObject({ tornTail: true });
    expect(torn.records).toHaveLength(1);
    const second = new JournalWriter(dir, torn);
    await second.append({ t: "created", key: "k", attempt: 3, taskId: "c" });
    await second.close();
    const healed = await readJournal(dir);
    expect(healed.tornTail).toBe(false);
    expect(healed.records.map((r) => r.attempt)).toEqual([1, 3]);
  });

  it("restores a missing final newline instead of gluing two records together", async () => {
    await writeFile(join(dir, "x"), "");
    const first = new JournalWriter(dir, { intactBytes: 0, tornTail: false, missingNewline: false });
    await first.append({ t: "created", key: "k", attempt: 1, taskId: "a" });
    await first.close();
    const path = journalPath(dir);
    await truncate(path, (await readFile(path)).length - 1);
    const parsed = await readJournal(dir);
    expect(parsed).toMatchObject({ tornTail: false, missingNewline: true });
    const second = new JournalWriter(dir, parsed);
    await second.append({ t: "created", key: "k", attempt: 2, taskId: "b" });
    await second.close();
    expect((await readJournal(dir)).records).toHaveLength(2);
  });

  it("fails every later append once a write failed, rather than retrying an fsync", async () => {
    // The journal path is a directory: opening it for append fails.
    const { mkdir } = await import("node:fs/promises");
    await mkdir(journalPath(dir), { recursive: true });
    const writer = new JournalWriter(dir, { intactBytes: 0, tornTail: false, missingNewline: false });
    await expect(writer.append({ t: "created", key: "k", attempt: 1, taskId: "a" })).rejects.toThrow(
      /cannot write the journal/,
    );
    await expect(writer.append({ t: "created", key: "k", attempt: 2, taskId: "b" })).rejects.toThrow(
      /cannot write the journal/,
    );
    expect(writer.count).toBe(0);
  });
});
