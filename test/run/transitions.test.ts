// What happens after the service's answer, as data.
import { describe, expect, it } from "vitest";
import {
  exitCodeOf,
  notCreatedOf,
  resubmitsAmbiguous,
  retriedInRun,
  terminalOutcome,
} from "../../src/run/transitions.js";

const urls = (n: number): string[] => Array.from({ length: n }, (_, i) => `https://cdn.example.com/${i}.mp4`);

describe("a terminal state becomes a journal record", () => {
  it("records a success with its output count, a cancel, and each failure with its class", () => {
    expect(terminalOutcome({ status: "succeeded", outputs: ["https://a/1.mp4"] })).toEqual({
      status: "SUCCEEDED",
      error: null,
      outputs: 1,
      failure: null,
    });
    expect(terminalOutcome({ status: "cancelled" })).toMatchObject({ status: "CANCELLED", error: null });
    expect(terminalOutcome({ status: "failed", code: "SAFETY.INPUT.IMAGE", message: "flagged" })).toEqual({
      status: "FAILED",
      error: { code: "SAFETY.INPUT.IMAGE", message: "flagged", retryable: false },
      outputs: 0,
      failure: "moderation",
    });
    // actbatch's own codes where the service gave none: each is retried by a rerun.
    expect(terminalOutcome({ status: "failed", code: null, message: "gateway timeout" }).error).toEqual({
      code: "NO_FAILURE_CODE",
      message: "gateway timeout",
      retryable: true,
    });
    expect(terminalOutcome({ status: "missing", message: "404" }).error?.code).toBe("TASK_MISSING");
    expect(terminalOutcome({ status: "succeeded", outputs: [] })).toMatchObject({
      status: "FAILED",
      error: { code: "NO_OUTPUT", retryable: true },
    });
  });

  it("a success with more than 4 output URLs is a final failure, TOO_MANY_OUTPUTS with the count: nothing to download", () => {
    expect(terminalOutcome({ status: "succeeded", outputs: urls(4) })).toMatchObject({
      status: "SUCCEEDED",
      outputs: 4,
    });
    const many = terminalOutcome({ status: "succeeded", outputs: urls(10_000) });
    expect(many).toEqual({
      status: "FAILED",
      error: {
        code: "TOO_MANY_OUTPUTS",
        message:
          "the task answered SUCCEEDED with 10,000 output URLs (an Act-Two task has 1; more than 4 is refused): nothing was downloaded",
        retryable: false,
      },
      outputs: 0,
      failure: "final",
    });
    expect(retriedInRun(many, 1, 3, false)).toBe(false);
  });

  it("tries a failure again within the run only while its class allows and submission goes on", () => {
    const internal = terminalOutcome({ status: "failed", code: "INTERNAL", message: "x" });
    const badOutput = terminalOutcome({ status: "failed", code: "INTERNAL.BAD_OUTPUT.CODE01", message: "x" });
    const moderation = terminalOutcome({ status: "failed", code: "SAFETY.INPUT.TEXT", message: "x" });
    expect(retriedInRun(internal, 1, 3, false)).toBe(true);
    expect(retriedInRun(internal, 3, 3, false)).toBe(false);
    expect(retriedInRun(internal, 1, 3, true)).toBe(false);
    expect(retriedInRun(badOutput, 1, 3, false)).toBe(true);
    expect(retriedInRun(badOutput, 2, 3, false)).toBe(false);
    expect(retriedInRun(moderation, 1, 3, false)).toBe(false);
    expect(retriedInRun(terminalOutcome({ status: "cancelled" }), 1, 3, false)).toBe(false);
  });
});

describe("the exit code of a run's end", () => {
  const done = { stop: null, allSucceeded: true, allChecked: true, interrupted: null } as const;
  it("follows the README's table, a signal first", () => {
    expect(exitCodeOf(done)).toBe(0);
    expect(exitCodeOf({ ...done, allChecked: false })).toBe(1);
    expect(exitCodeOf({ ...done, allSucceeded: false })).toBe(1);
    for (const stop of ["account", "moderation", "budget"] as const)
      expect(exitCodeOf({ ...done, stop })).toBe(3);
    expect(exitCodeOf({ ...done, stop: "account", interrupted: "SIGINT" })).toBe(130);
    expect(exitCodeOf({ ...done, interrupted: "SIGTERM" })).toBe(143);
  });
});

describe("a create the service did not act on", () => {
  it("is a failure when the body was refused, left to a rerun otherwise, and stops the account on its stop", () => {
    expect(notCreatedOf({ kind: "rejected", status: 400, code: null, message: "bad ratio" })).toEqual({
      reason: "rejected",
      code: "HTTP_400",
      message: "bad ratio",
      phase: "failed",
      accountStop: null,
    });
    expect(notCreatedOf({ kind: "unavailable", message: "503 x4" })).toMatchObject({
      reason: "unavailable",
      code: "UNAVAILABLE",
      phase: "not-submitted",
      accountStop: null,
    });
    expect(
      notCreatedOf({ kind: "account-stop", reason: "daily-limit", status: 429, message: "limit" }),
    ).toEqual({
      reason: "account-stop",
      code: "DAILY_LIMIT",
      message: "limit",
      phase: "not-submitted",
      accountStop: { reason: "daily-limit", status: 429, message: "limit" },
    });
  });

  it("sends an unknown outcome again only when allowed, within the attempts, while submission goes on", () => {
    expect(resubmitsAmbiguous(true, 1, 2, false)).toBe(true);
    expect(resubmitsAmbiguous(false, 1, 2, false)).toBe(false);
    expect(resubmitsAmbiguous(true, 2, 2, false)).toBe(false);
    expect(resubmitsAmbiguous(true, 1, 2, true)).toBe(false);
  });
});
