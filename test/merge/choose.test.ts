import { describe, expect, it } from "vitest";
import type { ManifestTask } from "../../src/manifest/types.js";
import { chooseRecord } from "../../src/merge/choose.js";

function record(overrides: Partial<ManifestTask>): ManifestTask {
  return {
    key: "0123456789abcdef",
    pair: "p",
    params: {},
    request: {
      model: "act_two",
      character: { type: "image", uri: "https://assets.example.com/c.png" },
      reference: { type: "video", uri: "https://assets.example.com/r.mp4" },
      ratio: "1280:720",
      bodyControl: true,
      expressionIntensity: 1,
      seed: 1,
      contentModeration: { publicFigureThreshold: "auto" },
    },
    taskId: null,
    status: "NOT_SUBMITTED",
    attempts: 0,
    outputs: [],
    error: null,
    possiblyChargedTwice: false,
    history: [],
    ...overrides,
  };
}

const placeholder = record({});
const running = record({ taskId: "t1", status: "RUNNING", attempts: 1 });
const succeeded = record({
  taskId: "t1",
  status: "SUCCEEDED",
  attempts: 1,
  outputs: [{ file: "p/a.mp4", bytes: 1, sha256: "a".repeat(64) }],
});
const failed = record({
  taskId: "t1",
  status: "FAILED",
  attempts: 1,
  error: { code: "INTERNAL", message: "x", retryable: true },
});
const retried = record({
  taskId: "t2",
  status: "SUCCEEDED",
  attempts: 2,
  history: [{ attempt: 1, taskId: "t1", status: "FAILED", error: failed.error }],
});
const elsewhere = record({ taskId: "t9", status: "SUCCEEDED", attempts: 1, outputs: succeeded.outputs });

describe("which record of a key a merge keeps", () => {
  it("prefers a real record to another shard's placeholder, either way round", () => {
    expect(chooseRecord(placeholder, succeeded)).toBe(succeeded);
    expect(chooseRecord(succeeded, placeholder)).toBe(succeeded);
  });

  it("keeps the later state of the same task: finished over in flight, a resubmission over its failure", () => {
    expect(chooseRecord(running, succeeded)).toBe(succeeded);
    expect(chooseRecord(retried, failed)).toBe(retried);
  });

  it("reports a conflict when two folders each ran the task", () => {
    expect(chooseRecord(succeeded, elsewhere)).toBeNull();
    expect(chooseRecord(failed, succeeded)).toBeNull();
  });
});
