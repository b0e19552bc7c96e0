import { describe, expect, it } from "vitest";
import { normalizeTask, parseProgress, type NormalizedTask } from "../../src/api/normalize.js";
import type { TaskState } from "../../src/api/types.js";

const ID = "5b91e444-c232-deaf-a4d7-8aef3e57336b";
const URL1 = "https://dnznrvs05pmza.cloudfront.net/a.mp4?_jwt=t1";
const URL2 = "https://cdn.example.com/b.mp4?sig=2";

function bare(status: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id: ID, status, createdAt: "2026-08-26T06:30:33.796Z", ...extra };
}

function wrapped(
  status: string,
  extra: Record<string, unknown> = {},
  inner?: unknown,
): Record<string, unknown> {
  return {
    code: "success",
    message: "",
    data: {
      task_id: ID,
      action: "CHARACTER_PERFORMANCE",
      status,
      fail_reason: "",
      submit_time: 1_773_366_766,
      start_time: 0,
      finish_time: 0,
      progress: "0%",
      ...extra,
      ...(inner === undefined ? {} : { data: inner }),
    },
  };
}

const state = (s: TaskState): NormalizedTask => ({ kind: "state", state: s });

describe("bare (Runway) shape", () => {
  const cases: Array<[string, unknown, NormalizedTask]> = [
    ["PENDING", bare("PENDING"), state({ status: "pending" })],
    ["THROTTLED", bare("THROTTLED"), state({ status: "throttled" })],
    [
      "RUNNING with progress",
      bare("RUNNING", { progress: 0.02 }),
      state({ status: "running", progress: 0.02 }),
    ],
    ["RUNNING without progress", bare("RUNNING"), state({ status: "running", progress: null })],
    [
      "SUCCEEDED",
      bare("SUCCEEDED", { output: [URL1, URL2] }),
      state({ status: "succeeded", outputs: [URL1, URL2] }),
    ],
    [
      "FAILED with code",
      bare("FAILED", { failure: "Moderation", failureCode: "SAFETY.INPUT.IMAGE" }),
      state({ status: "failed", code: "SAFETY.INPUT.IMAGE", message: "Moderation" }),
    ],
    [
      "FAILED without code",
      bare("FAILED", { failure: "gateway timeout" }),
      state({ status: "failed", code: null, message: "gateway timeout" }),
    ],
    ["CANCELLED", bare("CANCELLED"), state({ status: "cancelled" })],
    [
      "extra fields ignored",
      bare("PENDING", { estimatedCost: { credits: 50 } }),
      state({ status: "pending" }),
    ],
    ["lowercase status", bare("running", { progress: 0.5 }), state({ status: "running", progress: 0.5 })],
  ];
  it.each(cases)("%s", (_name, body, expected) => {
    expect(normalizeTask(body)).toEqual(expected);
  });

  it("a SUCCEEDED without any output URL is not acted on", () => {
    expect(normalizeTask(bare("SUCCEEDED", { output: [] })).kind).toBe("invalid");
  });

  it("an unknown status is reported, not guessed", () => {
    const result = normalizeTask(bare("EXPLODED"));
    expect(result).toEqual({ kind: "invalid", message: 'unrecognised task status "EXPLODED"' });
  });
});

describe("wrapped (CometAPI) shape", () => {
  it.each([
    ["NOT_START", "pending"],
    ["SUBMITTED", "pending"],
    ["QUEUED", "pending"],
    ["UNKNOWN", "pending"],
  ])("%s alone is %s", (status, expected) => {
    expect(normalizeTask(wrapped(status))).toEqual(state({ status: expected } as TaskState));
  });

  it("IN_PROGRESS reads the percent string", () => {
    expect(normalizeTask(wrapped("IN_PROGRESS", { progress: "37%" }))).toEqual(
      state({ status: "running", progress: 0.37 }),
    );
  });

  it("the inner Runway task gives detail the wrapper lacks (THROTTLED under QUEUED)", () => {
    expect(normalizeTask(wrapped("QUEUED", {}, bare("THROTTLED")))).toEqual(state({ status: "throttled" }));
  });

  it("inner running without progress takes the wrapper's percentage", () => {
    expect(normalizeTask(wrapped("IN_PROGRESS", { progress: "50%" }, bare("RUNNING")))).toEqual(
      state({ status: "running", progress: 0.5 }),
    );
  });

  it("finds the output in data.data.output first", () => {
    const body = wrapped("SUCCESS", { result_url: URL2 }, bare("SUCCEEDED", { output: [URL1] }));
    expect(normalizeTask(body)).toEqual(state({ status: "succeeded", outputs: [URL1] }));
  });

  it("then in data.result_url", () => {
    expect(normalizeTask(wrapped("SUCCESS", { result_url: URL2 }))).toEqual(
      state({ status: "succeeded", outputs: [URL2] }),
    );
  });

  it("then in an http string in data.fail_reason on SUCCESS (legacy new-api)", () => {
    expect(normalizeTask(wrapped("SUCCESS", { fail_reason: URL1 }))).toEqual(
      state({ status: "succeeded", outputs: [URL1] }),
    );
  });

  it("a top-level output wins over everything (bare fields on a wrapped answer)", () => {
    const body = { ...wrapped("SUCCESS", { result_url: URL2 }), output: [URL1] };
    expect(normalizeTask(body)).toEqual(state({ status: "succeeded", outputs: [URL1] }));
  });

  it("FAILURE takes the inner failureCode and Runway's own failure text", () => {
    const body = wrapped(
      "FAILURE",
      { fail_reason: "Content moderation" },
      bare("FAILED", { failure: "inner text", failureCode: "SAFETY.OUTPUT.VIDEO" }),
    );
    expect(normalizeTask(body)).toEqual(
      state({ status: "failed", code: "SAFETY.OUTPUT.VIDEO", message: "inner text" }),
    );
  });

  it("FAILURE falls back to the wrapper's reason when the inner task has no text", () => {
    const body = wrapped(
      "FAILURE",
      { fail_reason: "Content moderation" },
      bare("FAILED", { failureCode: "SAFETY.INPUT.IMAGE" }),
    );
    expect(normalizeTask(body)).toEqual(
      state({ status: "failed", code: "SAFETY.INPUT.IMAGE", message: "Content moderation" }),
    );
  });

  it("a gateway FAILURE with no inner task has no provider code", () => {
    expect(normalizeTask(wrapped("FAILURE", { fail_reason: "任务超时（30分钟）" }))).toEqual(
      state({ status: "failed", code: null, message: "任务超时（30分钟）" }),
    );
  });

  it("tolerates the inner task arriving as a JSON string", () => {
    const body = wrapped("IN_PROGRESS", {}, JSON.stringify(bare("SUCCEEDED", { output: [URL1] })));
    expect(normalizeTask(body)).toEqual(state({ status: "succeeded", outputs: [URL1] }));
  });

  it("an unknown wrapper status with no inner task is reported", () => {
    expect(normalizeTask(wrapped("WEIRD")).kind).toBe("invalid");
  });
});

describe("wrapper and inner task disagreeing", () => {
  it("a stale wrapper (QUEUED) under a finished inner task: the inner SUCCEEDED wins", () => {
    const body = wrapped("QUEUED", {}, bare("SUCCEEDED", { output: [URL1] }));
    expect(normalizeTask(body)).toEqual(state({ status: "succeeded", outputs: [URL1] }));
  });

  it("a stale wrapper (IN_PROGRESS) under an inner FAILED: the inner failure and its code win", () => {
    const body = wrapped(
      "IN_PROGRESS",
      { progress: "50%" },
      bare("FAILED", { failure: "x", failureCode: "INTERNAL" }),
    );
    expect(normalizeTask(body)).toEqual(state({ status: "failed", code: "INTERNAL", message: "x" }));
  });

  it("both terminal but different: Runway's own word wins", () => {
    const body = wrapped(
      "SUCCESS",
      { result_url: URL2 },
      bare("FAILED", { failure: "bad", failureCode: "ASSET.INVALID" }),
    );
    expect(normalizeTask(body)).toEqual(state({ status: "failed", code: "ASSET.INVALID", message: "bad" }));
  });

  it("a wrapper further along with a URL (inner stale RUNNING): succeeded", () => {
    const body = wrapped("SUCCESS", { result_url: URL2 }, bare("RUNNING", { progress: 0.9 }));
    expect(normalizeTask(body)).toEqual(state({ status: "succeeded", outputs: [URL2] }));
  });

  it("a wrapper SUCCESS with no URL anywhere keeps the inner running state: poll again", () => {
    const body = wrapped("SUCCESS", {}, bare("RUNNING", { progress: 0.9 }));
    expect(normalizeTask(body)).toEqual(state({ status: "running", progress: 0.9 }));
  });

  it("a wrapper FAILURE ahead of a live inner task is the gateway's verdict", () => {
    const body = wrapped(
      "FAILURE",
      { fail_reason: "任务超时（30分钟）" },
      bare("RUNNING", { progress: 0.4 }),
    );
    expect(normalizeTask(body)).toEqual(
      state({ status: "failed", code: null, message: "任务超时（30分钟）" }),
    );
  });
});

describe("task_not_exist and garbage", () => {
  it("recognises the new-api task_not_exist body", () => {
    expect(normalizeTask({ code: "task_not_exist", message: "task_not_exist", data: null })).toEqual({
      kind: "not-exist",
    });
  });

  it("recognises a status of task_not_exist (CometAPI's blog shape)", () => {
    expect(normalizeTask({ status: "task_not_exist" })).toEqual({ kind: "not-exist" });
  });

  it.each([null, 3, "x", [], { code: "success", data: null }])("rejects %j", (body) => {
    expect(normalizeTask(body).kind).toBe("invalid");
  });
});

describe("progress", () => {
  it.each([
    [0.37, 0.37],
    [1, 1],
    [37, 0.37],
    ["37%", 0.37],
    ["0.5", 0.5],
    ["100%", 1],
    ["150%", 1],
    [-0.2, 0],
    ["abc", null],
    ["", null],
    [null, null],
    [undefined, null],
  ])("%j -> %j", (input, expected) => {
    expect(parseProgress(input)).toBe(expected);
  });
});
