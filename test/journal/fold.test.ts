import { describe, expect, it } from "vitest";
import { decideStart, nextAttemptNumber, type DecideOptions } from "../../src/run/decide.js";
import { foldJournal, isPossiblyChargedTwice, lastAttempt } from "../../src/journal/fold.js";
import type { JournalRecord } from "../../src/journal/records.js";
import { deriveManifestTask } from "../../src/run/manifest-tasks.js";
import type { RequestBody } from "../../src/job/types.js";

const request: RequestBody = {
  model: "act_two",
  character: { type: "image", uri: "https://cdn.example.com/a.png" },
  reference: { type: "video", uri: "https://cdn.example.com/b.mp4" },
  ratio: "1280:720",
  bodyControl: true,
  expressionIntensity: 3,
  seed: 1,
  contentModeration: { publicFigureThreshold: "auto" },
};
const at = "2026-01-01T00:00:00.000Z";
const K = "aaaaaaaaaaaaaaaa";
const intent = (attempt: number, key = K): JournalRecord => ({
  t: "intent",
  key,
  attempt,
  at,
  pair: "p",
  params: { seed: 1 },
  request,
  output: "p/s1.mp4",
});
const created = (attempt: number, taskId = `task-${attempt}`): JournalRecord => ({
  t: "created",
  key: K,
  attempt,
  at,
  taskId,
});
const succeeded = (attempt: number, taskId = `task-${attempt}`): JournalRecord => ({
  t: "terminal",
  key: K,
  attempt,
  at,
  taskId,
  status: "SUCCEEDED",
  error: null,
  outputs: 1,
});
const failed = (attempt: number, code: string): JournalRecord => ({
  t: "terminal",
  key: K,
  attempt,
  at,
  taskId: `task-${attempt}`,
  status: "FAILED",
  error: { code, message: "nope", retryable: false },
  outputs: 0,
});
const output = (attempt: number, file = "p/s1.mp4"): JournalRecord => ({
  t: "output",
  key: K,
  attempt,
  at,
  taskId: `task-${attempt}`,
  index: 0,
  file,
  bytes: 10,
  sha256: "ab",
});
const defaults: DecideOptions = { force: false, retryFailed: false, resubmitAmbiguous: true };
const decide = (records: JournalRecord[], verified: number[] = [0], options: Partial<DecideOptions> = {}) =>
  decideStart(foldJournal(records).get(K), "p/s1.mp4", new Set(verified), { ...defaults, ...options });

describe("journal fold and start decisions", () => {
  it("submits attempt 1 for a key the journal has never seen", () => {
    expect(decide([])).toEqual({ kind: "submit", attempt: 1, reason: "new" });
  });

  it("skips a succeeded key whose output is verified, and only downloads when it is not", () => {
    const records = [intent(1), created(1), succeeded(1), output(1)];
    expect(decide(records)).toEqual({ kind: "skip" });
    expect(decide(records, [])).toEqual({
      kind: "download",
      attempt: 1,
      taskId: "task-1",
      outputs: 1,
      missing: [0],
    });
    // Succeeded but the download never finished: download again, never create again.
    expect(decide([intent(1), created(1), succeeded(1)], [])).toMatchObject({
      kind: "download",
      missing: [0],
    });
  });

  it("downloads again when the output name template changed for the same request", () => {
    const records = [intent(1), created(1), succeeded(1), output(1, "old/name.mp4")];
    expect(decide(records)).toMatchObject({ kind: "download", missing: [0] });
  });

  it("polls a created task that has no terminal record, even with --force", () => {
    const records = [intent(1), created(1)];
    expect(decide(records)).toEqual({ kind: "poll", attempt: 1, taskId: "task-1", createdAt: at });
    expect(decide(records, [], { force: true })).toMatchObject({ kind: "poll" });
  });

  it("treats an intent without an answer as ambiguous: resubmitted by default, held on request", () => {
    expect(decide([intent(1)])).toEqual({ kind: "submit", attempt: 2, reason: "ambiguous" });
    expect(decide([intent(1)], [], { resubmitAmbiguous: false })).toEqual({
      kind: "hold",
      reason: "ambiguous",
    });
    const ambiguous: JournalRecord = { t: "ambiguous", key: K, attempt: 1, at, message: "reset" };
    expect(decide([intent(1), ambiguous])).toEqual({ kind: "submit", attempt: 2, reason: "ambiguous" });
  });

  it("flags a key as possibly charged twice only once an unknown create was followed by another create", () => {
    expect(isPossiblyChargedTwice(foldJournal([intent(1)]).get(K))).toBe(false);
    expect(isPossiblyChargedTwice(foldJournal([intent(1), intent(2), created(2)]).get(K))).toBe(true);
    // A failed-then-retried task was paid twice knowingly: that is a retry, not a possible double charge.
    expect(
      isPossiblyChargedTwice(foldJournal([intent(1), created(1), failed(1, "INTERNAL"), intent(2)]).get(K)),
    ).toBe(false);
    // A resubmission the service refused cannot have been paid.
    const refused: JournalRecord = {
      t: "not-created",
      key: K,
      attempt: 2,
      at,
      reason: "unavailable",
      code: "UNAVAILABLE",
      message: "503",
    };
    expect(isPossiblyChargedTwice(foldJournal([intent(1), intent(2), refused]).get(K))).toBe(false);
  });

  it("reuses the attempt number of a create the service provably refused", () => {
    const refused: JournalRecord = {
      t: "not-created",
      key: K,
      attempt: 1,
      at,
      reason: "account-stop",
      code: "DAILY_LIMIT",
      message: "limit",
    };
    const fold = foldJournal([intent(1), refused]);
    expect(nextAttemptNumber(fold.get(K))).toBe(1);
    expect(decide([intent(1), refused])).toEqual({ kind: "submit", attempt: 1, reason: "not-created" });
    const again = foldJournal([intent(1), refused, intent(1), created(1)]);
    expect(again.get(K)?.attempts).toHaveLength(1);
    expect(lastAttempt(again.get(K))?.phase).toBe("created");
  });

  it("holds final failures unless --retry-failed, and resubmits retryable ones on a rerun", () => {
    expect(decide([intent(1), created(1), failed(1, "SAFETY.INPUT.IMAGE")])).toEqual({
      kind: "hold",
      reason: "failed",
    });
    expect(decide([intent(1), created(1), failed(1, "ASSET.INVALID")], [], { retryFailed: true })).toEqual({
      kind: "submit",
      attempt: 2,
      reason: "retry-failed",
    });
    expect(decide([intent(1), created(1), failed(1, "INTERNAL.BAD_OUTPUT.CODE01")])).toMatchObject({
      kind: "hold",
    });
    expect(decide([intent(1), created(1), failed(1, "THIRD_PARTY.UNAVAILABLE")])).toEqual({
      kind: "submit",
      attempt: 2,
      reason: "retryable-failure",
    });
  });

  it("holds a cancelled task unless --retry-failed (or --force), and resubmits everything with --force", () => {
    const cancel: JournalRecord = { t: "cancel", key: K, attempt: 1, at, taskId: "task-1" };
    expect(decide([intent(1), created(1), cancel])).toEqual({ kind: "hold", reason: "cancelled" });
    expect(decide([intent(1), created(1), cancel], [], { retryFailed: true })).toEqual({
      kind: "submit",
      attempt: 2,
      reason: "cancelled",
    });
    expect(decide([intent(1), created(1), succeeded(1), output(1)], [0], { force: true })).toEqual({
      kind: "submit",
      attempt: 2,
      reason: "force",
    });
  });

  it("refuses records that do not follow their intent", () => {
    expect(() => foldJournal([created(1)])).toThrow(/no intent/);
    expect(() => foldJournal([intent(1), intent(3)])).toThrow(/out of order/);
  });

  it("derives the manifest entry: history of earlier paid attempts, outputs only when verified", () => {
    const fold = foldJournal([intent(1), intent(2), created(2), succeeded(2), output(2)]);
    const entry = deriveManifestTask(
      { key: K, pair: "p", params: { seed: 1 }, request },
      "p/s1.mp4",
      fold.get(K),
      new Set([0]),
    );
    expect(entry).toMatchObject({
      taskId: "task-2",
      status: "SUCCEEDED",
      attempts: 2,
      possiblyChargedTwice: true,
      outputs: [{ file: "p/s1.mp4", bytes: 10, sha256: "ab" }],
      history: [{ attempt: 1, taskId: null, status: "AMBIGUOUS" }],
    });
    const unverified = deriveManifestTask(
      { key: K, pair: "p", params: {}, request },
      "p/s1.mp4",
      fold.get(K),
      new Set(),
    );
    // Not on disk (interrupted, or deleted since): pending, and the next run downloads it.
    expect(unverified).toMatchObject({
      status: "PENDING",
      outputs: [],
      error: { code: "OUTPUT_MISSING", retryable: true },
    });
    const failedDownload = deriveManifestTask(
      { key: K, pair: "p", params: {}, request },
      "p/s1.mp4",
      fold.get(K),
      new Set(),
      { downloadError: { code: "DOWNLOAD_FAILED", message: "truncated 5 times" } },
    );
    expect(failedDownload).toMatchObject({
      status: "FAILED",
      error: { code: "DOWNLOAD_FAILED", message: "truncated 5 times", retryable: true },
    });
    const tooLarge = deriveManifestTask(
      { key: K, pair: "p", params: {}, request },
      "p/s1.mp4",
      fold.get(K),
      new Set(),
      { downloadError: { code: "OUTPUT_TOO_LARGE", message: "over the limit of 1 MB" } },
    );
    expect(tooLarge).toMatchObject({
      status: "FAILED",
      error: { code: "OUTPUT_TOO_LARGE", message: "over the limit of 1 MB", retryable: true },
    });
  });
});
