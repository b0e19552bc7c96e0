// The outcome mapping as data: a settled request (verdict, status, body) in, the port's outcome out.
import { describe, expect, it } from "vitest";
import { classifyAnswer, classifyNetworkFailure, type Verdict } from "../../src/api/classify.js";
import type { ApiAnswer } from "../../src/api/exchange.js";
import {
  cancelOutcome,
  createOutcome,
  getOutcome,
  organizationOutcome,
  parseOrganization,
  taskIdOf,
  uploadSentOutcome,
  uploadSlotOutcome,
  type Redact,
} from "../../src/api/outcomes.js";
import type { Settled } from "../../src/api/retry.js";
import type { ProviderName } from "../../src/api/wire-types.js";
import { redactSecrets } from "../../src/redact.js";

const KEY = "sk-outcomes-0123456789abcdef0123456789";
const safe: Redact = (text) => redactSecrets(text, [KEY]);

type Kind = "create" | "get" | "cancel";

/** What the retry loop settles on after one answer `status` with `body` to a `kind` request. */
function answered(
  kind: Kind,
  status: number,
  body: unknown = "",
  provider: ProviderName = "cometapi",
): Settled<ApiAnswer> {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  const verdict = classifyAnswer({ kind, provider, status, headers: {}, body: text, nowMs: 0 });
  const result: ApiAnswer = { status, headers: {}, body: text, cut: false };
  if (verdict.kind === "retry")
    return { kind: "gave-up", last: verdict, result, reason: "gave up after 4 attempts" };
  return { kind: "done", verdict, result };
}

/** An answer of `status` that went past the body limit: only the beginning of `body` was read. */
function cutShort(kind: Kind, status: number, beginning: string): Settled<ApiAnswer> {
  const settled = answered(kind, status, beginning);
  return settled.kind === "aborted" || settled.result === null
    ? settled
    : { ...settled, result: { ...settled.result, cut: true } };
}

/** What it settles on when no answer came (the request had left whole or not). */
function unanswered(kind: Kind, sent: boolean, code = "ECONNRESET"): Settled<ApiAnswer> {
  const verdict: Verdict = classifyNetworkFailure({ kind, code, message: "socket hang up", sent });
  if (verdict.kind === "retry")
    return { kind: "gave-up", last: verdict, result: null, reason: "gave up after 4 attempts" };
  return { kind: "done", verdict, result: null };
}

describe("createOutcome", () => {
  it.each<[string, Settled<ApiAnswer>, unknown]>([
    ["200 {id}", answered("create", 200, { id: "task-1" }), { kind: "created", taskId: "task-1" }],
    [
      "200 new-api {code, data}",
      answered("create", 200, { code: "success", data: "abc" }),
      { kind: "created", taskId: "abc" },
    ],
    [
      "200 without an id",
      answered("create", 200, { ok: true }),
      {
        kind: "ambiguous",
        message: "HTTP 200: the service accepted the request but its answer has no task id",
      },
    ],
    [
      "200 whose id is not a plain path segment",
      answered("create", 200, { id: ".." }),
      {
        kind: "ambiguous",
        message:
          'HTTP 200: the service accepted the request but answered the task id "..", which is not a plain path segment (a path of dots names another route): refused, so the task it may have created cannot be polled',
      },
    ],
    [
      "200 larger than the body limit, even if an id was among what was read",
      cutShort("create", 200, '{"id":"task-1","padding":"xxxx'),
      {
        kind: "ambiguous",
        message:
          "HTTP 200: the create's answer is larger than 1 MiB and was not read: the service accepted the request, but the id of the task it may have created is unknown",
      },
    ],
    [
      "200 whose id quotes the key",
      answered("create", 200, { id: KEY }),
      {
        kind: "ambiguous",
        message:
          "HTTP 200: the service accepted the request but answered a task id that contains the key: refused, so the task it may have created cannot be polled",
      },
    ],
    [
      "400 validation",
      answered("create", 400, {
        error: "Validation of body failed",
        issues: [{ path: ["seed"], message: "bad" }],
      }),
      {
        kind: "rejected",
        status: 400,
        code: null,
        message: "HTTP 400: Validation of body failed: seed: bad",
      },
    ],
    [
      "401",
      answered("create", 401, { error: "bad key" }),
      { kind: "account-stop", reason: "bad-key", status: 401, message: "HTTP 401: bad key" },
    ],
    [
      "429 daily limit on runway",
      answered("create", 429, { error: "x" }, "runway"),
      { kind: "account-stop", reason: "daily-limit", status: 429, message: "HTTP 429: x" },
    ],
    [
      "504",
      answered("create", 504, ""),
      { kind: "ambiguous", message: "HTTP 504 (the service may have created the task)" },
    ],
    [
      "503 after every attempt",
      answered("create", 503, { error: "down" }),
      { kind: "unavailable", message: "HTTP 503: down (gave up after 4 attempts)" },
    ],
    [
      "a reset after sending",
      unanswered("create", true),
      {
        kind: "ambiguous",
        message:
          "ECONNRESET: socket hang up after the request was sent (the service may have created the task)",
      },
    ],
    [
      "a reset before sending, every attempt",
      unanswered("create", false),
      { kind: "unavailable", message: "ECONNRESET: socket hang up (gave up after 4 attempts)" },
    ],
    [
      "aborted after sending",
      { kind: "aborted", sent: true },
      {
        kind: "ambiguous",
        message: "interrupted after the request was sent (the service may have created the task)",
      },
    ],
    [
      "aborted before sending",
      { kind: "aborted", sent: false },
      { kind: "unavailable", message: "interrupted before the request was sent" },
    ],
  ])("%s", (_label, settled, outcome) => {
    expect(createOutcome(settled, safe)).toEqual(outcome);
  });

  it("redacts the key from the service's words", () => {
    const outcome = createOutcome(
      answered("create", 400, { error: `bad header Bearer ${KEY}`, code: KEY }),
      safe,
    );
    expect(outcome).toEqual({
      kind: "rejected",
      status: 400,
      code: "[REDACTED]",
      message: "HTTP 400: bad header Bearer [REDACTED]",
    });
  });
});

describe("getOutcome", () => {
  const within = { createdAtMs: 1_000, nowMs: 2_000, graceMs: 30_000 };
  const after = { createdAtMs: 1_000, nowMs: 40_000, graceMs: 30_000 };

  it.each<[string, Settled<ApiAnswer>, typeof within, unknown]>([
    [
      "a running task",
      answered("get", 200, { id: "t", status: "RUNNING", progress: 0.25 }),
      within,
      { kind: "state", state: { status: "running", progress: 0.25 } },
    ],
    [
      "a failed task, its words redacted",
      answered("get", 200, { id: "t", status: "FAILED", failure: `echo ${KEY}`, failureCode: "X" }),
      within,
      { kind: "state", state: { status: "failed", code: "X", message: "echo [REDACTED]" } },
    ],
    [
      "404 within the grace period",
      answered("get", 404, ""),
      within,
      { kind: "state", state: { status: "not-visible" } },
    ],
    [
      "404 after it",
      answered("get", 404, { error: "Could not find Task" }),
      after,
      { kind: "state", state: { status: "missing", message: "HTTP 404: Could not find Task" } },
    ],
    [
      "200 task_not_exist after it",
      answered("get", 200, { code: "task_not_exist", message: "task_not_exist", data: null }),
      after,
      { kind: "state", state: { status: "missing", message: "HTTP 200: task_not_exist" } },
    ],
    [
      "a body larger than the limit",
      cutShort("get", 200, '{"id":"t","status":"RUNNING","padding":"xxx'),
      within,
      { kind: "error", message: "the task's answer is larger than 1 MiB and was not read", status: 200 },
    ],
    [
      "a body that is not JSON",
      answered("get", 200, "<html>"),
      within,
      { kind: "error", message: "the task answer is not JSON", status: 200 },
    ],
    [
      "an unknown status",
      answered("get", 200, { id: "t", status: "MYSTERY" }),
      within,
      { kind: "error", message: 'unrecognised task status "MYSTERY"', status: 200 },
    ],
    [
      "401",
      answered("get", 401, ""),
      within,
      { kind: "account-stop", reason: "bad-key", status: 401, message: "HTTP 401" },
    ],
    [
      "503 after every attempt",
      answered("get", 503, ""),
      within,
      { kind: "error", message: "HTTP 503 (gave up after 4 attempts)", status: 503 },
    ],
    [
      "no answer after every attempt",
      unanswered("get", true),
      within,
      { kind: "error", message: "ECONNRESET: socket hang up (gave up after 4 attempts)", status: null },
    ],
    [
      "aborted",
      { kind: "aborted", sent: true },
      within,
      { kind: "error", message: "interrupted", status: null },
    ],
  ])("%s", (_label, settled, when, outcome) => {
    expect(getOutcome(settled, when, safe)).toEqual(outcome);
  });
});

describe("cancelOutcome", () => {
  it.each<[string, Settled<ApiAnswer>, unknown]>([
    ["204", answered("cancel", 204, ""), { kind: "cancelled" }],
    ["404 (already gone)", answered("cancel", 404, ""), { kind: "cancelled" }],
    ["400", answered("cancel", 400, { error: "no" }), { kind: "error", message: "HTTP 400: no" }],
    [
      "503 every time",
      answered("cancel", 503, ""),
      { kind: "error", message: "HTTP 503 (gave up after 4 attempts)" },
    ],
    ["aborted", { kind: "aborted", sent: false }, { kind: "error", message: "interrupted" }],
  ])("%s", (_label, settled, outcome) => {
    expect(cancelOutcome(settled, safe)).toEqual(outcome);
  });
});

describe("taskIdOf", () => {
  it.each([
    ['{"id":"a"}', "a"],
    ['{"task_id":"b"}', "b"],
    ['{"data":"c"}', "c"],
    ['{"data":{"task_id":"d"}}', "d"],
    ['{"data":{"id":"e"}}', "e"],
    ['{"id":"has space"}', null],
    ['{"id":"v1.2:a_b-c"}', "v1.2:a_b-c"],
    ['{"id":"a..b"}', "a..b"],
    // Not a plain path segment: never sent as GET or DELETE /v1/tasks/{id}.
    ['{"id":"."}', null],
    ['{"id":".."}', null],
    ['{"id":"..."}', null],
    ['{"id":""}', null],
    ['{"id":"a/b"}', null],
    ['{"id":"..%2f..%2fsteal"}', null],
    ['{"id":"a\\\\b"}', null],
    ['{"id":"a?x=1"}', null],
    ['{"id":"a#b"}', null],
    ['{"id":"a\\u0000b"}', null],
    ['{"id":"a\\nb"}', null],
    [JSON.stringify({ id: "x".repeat(201) }), null],
    ['{"id":"..","task_id":"real-1"}', "real-1"],
    ['{"id":5}', null],
    ["not json", null],
    ["null", null],
  ])("%s -> %s", (text, id) => {
    expect(taskIdOf(text)).toBe(id);
  });
});

const ORG = {
  creditBalance: 950,
  tier: { models: { act_two: { maxConcurrentGenerations: 3, maxDailyGenerations: 50 } } },
  usage: { models: { act_two: { dailyGenerations: 1 } } },
};

describe("organizationOutcome and parseOrganization", () => {
  it.each<[string, Settled<ApiAnswer>, unknown]>([
    [
      "200 in Runway's shape",
      answered("get", 200, ORG),
      {
        kind: "ok",
        organization: {
          creditBalance: 950,
          maxConcurrentGenerations: 3,
          maxDailyGenerations: 50,
          dailyGenerations: 1,
        },
      },
    ],
    [
      "404 (CometAPI)",
      answered("get", 404, ""),
      { kind: "unusable", status: 404, message: "HTTP 404: not an account" },
    ],
    ["401", answered("get", 401, ""), { kind: "unusable", status: 401, message: "HTTP 401: not an account" }],
    [
      "503 after every attempt",
      answered("get", 503, ""),
      { kind: "unusable", status: 503, message: "HTTP 503: gave up after 4 attempts" },
    ],
    [
      "200 that is not JSON",
      answered("get", 200, "<html>"),
      { kind: "unusable", status: 200, message: "HTTP 200: the answer is not JSON" },
    ],
    [
      "200 larger than the body limit",
      cutShort("get", 200, '{"creditBalance":10,"padding":"xxx'),
      {
        kind: "unusable",
        status: 200,
        message: "HTTP 200: the answer is larger than 1 MiB and was not read",
      },
    ],
    [
      "200 without a balance",
      answered("get", 200, { tier: {} }),
      { kind: "unusable", status: 200, message: "HTTP 200: the answer has no credit balance" },
    ],
    [
      "no answer after every attempt",
      unanswered("get", false, "ECONNREFUSED"),
      { kind: "error", message: "ECONNREFUSED: socket hang up (gave up after 4 attempts)" },
    ],
    ["aborted", { kind: "aborted", sent: false }, { kind: "error", message: "interrupted" }],
  ])("%s", (_label, settled, outcome) => {
    expect(organizationOutcome(settled, "act_two", safe)).toEqual(outcome);
  });

  it("reads the limits of the model asked for; a model the tier does not list has none", () => {
    expect(parseOrganization({ creditBalance: 5 }, "act_two")).toEqual({
      creditBalance: 5,
      maxConcurrentGenerations: null,
      maxDailyGenerations: null,
      dailyGenerations: 0,
    });
    expect(parseOrganization(ORG, "gen4_turbo")?.maxConcurrentGenerations).toBeNull();
    expect(parseOrganization(null)).toBeNull();
    expect(parseOrganization({ creditBalance: "5" })).toBeNull();
  });
});

describe("the uploads flow's outcomes", () => {
  const SLOT = {
    uploadUrl: "https://uploads.example.com/put",
    fields: { key: "k" },
    runwayUri: "runway://u/1",
  };

  it("POST /v1/uploads: a 200 with the upload URL and the URI", () => {
    expect(uploadSlotOutcome(answered("get", 200, SLOT), safe)).toEqual({
      kind: "ok",
      value: { uploadUrl: new URL(SLOT.uploadUrl), fields: { key: "k" }, runwayUri: "runway://u/1" },
    });
  });

  it.each<[string, Settled<ApiAnswer>, string]>([
    [
      "400, quoted in the words the client always used",
      answered("get", 400, { error: "bad filename" }),
      'POST /v1/uploads answered 400: {"error":"bad filename"}',
    ],
    [
      "401 echoing the key, redacted",
      answered("get", 401, { error: `Bearer ${KEY}` }),
      'POST /v1/uploads answered 401: {"error":"Bearer [REDACTED]"}',
    ],
    [
      "503 after every attempt",
      answered("get", 503, "busy"),
      "POST /v1/uploads answered 503: busy (gave up after 4 attempts)",
    ],
    [
      "no answer",
      unanswered("get", true),
      "POST /v1/uploads got no answer: ECONNRESET: socket hang up (gave up after 4 attempts)",
    ],
    [
      "a 200 without the URL",
      answered("get", 200, { runwayUri: "x" }),
      "POST /v1/uploads answered without uploadUrl and runwayUri",
    ],
    [
      "a 200 that is not JSON",
      answered("get", 200, "<html>"),
      "POST /v1/uploads answered without uploadUrl and runwayUri",
    ],
    [
      "an upload URL in plain http",
      answered("get", 200, { ...SLOT, uploadUrl: "http://uploads.example.com/put" }),
      "upload URL: http:// is allowed only for loopback addresses; use https://",
    ],
    [
      "a URI quoting the key",
      answered("get", 200, { ...SLOT, runwayUri: `runway://${KEY}` }),
      "POST /v1/uploads answered a runway:// URI that quotes the key",
    ],
    ["aborted", { kind: "aborted", sent: true }, "POST /v1/uploads: interrupted"],
  ])("POST /v1/uploads: %s", (_label, settled, message) => {
    expect(uploadSlotOutcome(settled, safe)).toEqual({ kind: "error", message });
  });

  it("the file's POST: any 2xx is done; anything else quotes the storage host's answer", () => {
    expect(uploadSentOutcome(answered("get", 204, ""), safe)).toEqual({ kind: "ok", value: null });
    expect(uploadSentOutcome(answered("get", 400, "<Error>too small</Error>"), safe)).toEqual({
      kind: "error",
      message: "the upload URL answered 400: <Error>too small</Error>",
    });
    expect(uploadSentOutcome(answered("get", 403, "x".repeat(300)), safe)).toEqual({
      kind: "error",
      message: `the upload URL answered 403: ${"x".repeat(200)}`,
    });
  });
});
