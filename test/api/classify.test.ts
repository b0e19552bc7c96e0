import { describe, expect, it } from "vitest";
import {
  classifyAnswer,
  classifyNetworkFailure,
  type HttpAnswer,
  type RequestKind,
} from "../../src/api/classify.js";
import { describeErrorBody } from "../../src/api/error-body.js";
import type { ProviderName } from "../../src/job/types.js";

const NOW = Date.parse("2026-11-26T12:00:00Z");

function answer(
  kind: RequestKind,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
  provider: ProviderName = "cometapi",
): HttpAnswer {
  return {
    kind,
    provider,
    status,
    headers,
    body: typeof body === "string" ? body : JSON.stringify(body),
    nowMs: NOW,
  };
}

const cometError = (message: string, code = "") => ({
  error: { message, type: "comet_api_error", param: "", code },
});
const masked = { code: "fail_to_fetch_task", message: "请求上游地址失败", data: null };

// [description, answer, expected verdict kind, extra fields expected]
const table: Array<[string, HttpAnswer, string, Record<string, unknown>?]> = [
  ["create 200", answer("create", 200, { id: "t1" }), "ok"],
  [
    "create 401 bad key",
    answer("create", 401, cometError("invalid token (request id: X)")),
    "account-stop",
    { reason: "bad-key" },
  ],
  [
    "get 401 bad key",
    answer("get", 401, { error: "Unauthorized" }, {}, "runway"),
    "account-stop",
    { reason: "bad-key" },
  ],
  [
    "create 400 not enough credits",
    answer(
      "create",
      400,
      { error: "You do not have enough credits to run this task.", docUrl: "https://x" },
      {},
      "runway",
    ),
    "account-stop",
    { reason: "no-credits" },
  ],
  [
    "create 403 new-api insufficient quota",
    answer("create", 403, cometError("用户额度不足", "insufficient_user_quota")),
    "account-stop",
    { reason: "no-credits" },
  ],
  [
    "create 429 daily limit (Runway)",
    answer("create", 429, { error: "Your daily task limit has been reached." }, {}, "runway"),
    "account-stop",
    { reason: "daily-limit" },
  ],
  [
    "create 429 daily limit passed through CometAPI",
    answer("create", 429, { error: "Your daily task limit has been reached." }),
    "account-stop",
    { reason: "daily-limit" },
  ],
  [
    "create 429 CometAPI saturation",
    answer("create", 429, cometError("当前分组上游负载已饱和，请稍后再试")),
    "retry",
    { retryAfterMs: null, timeout: false },
  ],
  [
    "create 429 at Runway, other wording: still a usage limit",
    answer("create", 429, { error: "Too many requests" }, {}, "runway"),
    "account-stop",
    { reason: "daily-limit" },
  ],
  ["get 429 at Runway is retried", answer("get", 429, { error: "Too many requests" }, {}, "runway"), "retry"],
  [
    "create 429 with Retry-After",
    answer("create", 429, "", { "retry-after": "2" }),
    "retry",
    { retryAfterMs: 2000 },
  ],
  [
    "create 502 (the upstream may have accepted it)",
    answer("create", 502, { error: "Bad gateway" }),
    "ambiguous",
  ],
  ["create 503", answer("create", 503, { error: "shedding load" }), "retry"],
  [
    "create 500 (other: the upstream may have accepted it)",
    answer("create", 500, cometError("oops")),
    "ambiguous",
  ],
  ["create 408", answer("create", 408, ""), "retry", { timeout: true }],
  ["create 504 is ambiguous", answer("create", 504, { error: "Gateway timeout" }), "ambiguous"],
  ["create 524 is ambiguous", answer("create", 524, cometError("a timeout occurred")), "ambiguous"],
  ["get 504 is retried", answer("get", 504, ""), "retry", { timeout: true }],
  [
    "create 500 invalid_request is not retried",
    answer("create", 500, cometError("bad model (request id: 1)", "invalid_request")),
    "rejected",
    { code: "invalid_request" },
  ],
  [
    "get 500 invalid_request is not retried",
    answer("get", 500, cometError("x", "invalid_request")),
    "rejected",
  ],
  [
    "create 400 validation",
    answer(
      "create",
      400,
      {
        error: "Validation of body failed",
        issues: [
          {
            code: "invalid_value",
            path: ["ratio"],
            message: "Invalid option: expected one of '1280:720'|'720:1280'",
          },
          {
            code: "too_big",
            path: ["reference", "uri"],
            message: "Asset duration must be at most 30 seconds",
          },
        ],
        docUrl: "https://docs.dev.runwayml.com/api",
      },
      {},
      "runway",
    ),
    "rejected",
    {
      message:
        "HTTP 400: Validation of body failed: ratio: Invalid option: expected one of '1280:720'|'720:1280'; reference.uri: Asset duration must be at most 30 seconds",
    },
  ],
  [
    "create 400 masked by new-api",
    answer("create", 400, masked),
    "rejected",
    {
      code: "fail_to_fetch_task",
      message: "HTTP 400: the gateway's request to the upstream service failed (请求上游地址失败)",
    },
  ],
  [
    "create 429 masked by new-api is retried",
    answer("create", 429, { ...masked, code: "fail_to_fetch_task" }),
    "retry",
  ],
  ["create 404 is rejected", answer("create", 404, { error: "Not found" }), "rejected"],
  ["create 405", answer("create", 405, ""), "rejected"],
  [
    "create 301 is a base URL problem",
    answer("create", 301, "<html>", { location: "https://x/y?z" }),
    "rejected",
  ],
  [
    "get 400 task_not_exist",
    answer("get", 400, { code: "task_not_exist", message: "task_not_exist", data: null }),
    "not-found",
  ],
  [
    "get 200 task_not_exist",
    answer("get", 200, { code: "task_not_exist", message: "task_not_exist", data: null }),
    "not-found",
  ],
  ["get 404", answer("get", 404, { error: "Could not find Task" }, {}, "runway"), "not-found"],
  ["get 400 other", answer("get", 400, { error: "bad id" }), "rejected"],
  ["cancel 204", answer("cancel", 204, ""), "ok"],
  ["cancel 404", answer("cancel", 404, { error: "Could not find Task" }), "not-found"],
  ["download 200", answer("download", 200, ""), "ok"],
  ["download 206", answer("download", 206, ""), "ok"],
  ["download 403 expired", answer("download", 403, "<Error>AccessDenied</Error>"), "expired"],
  ["download 401 expired", answer("download", 401, ""), "expired"],
  ["download 404 expired", answer("download", 404, ""), "expired"],
  ["download 410 expired", answer("download", 410, ""), "expired"],
  ["download 503", answer("download", 503, "", { "retry-after": "1" }), "retry", { retryAfterMs: 1000 }],
  ["download 400", answer("download", 400, ""), "rejected"],
];

describe("classification table", () => {
  it.each(table)("%s", (_name, input, kind, fields) => {
    const verdict = classifyAnswer(input);
    expect(verdict.kind).toBe(kind);
    expect(verdict).toMatchObject(fields ?? {});
  });
});

const failure = (kind: RequestKind, code: string | null, sent: boolean) =>
  classifyNetworkFailure({ kind, code, message: "boom", sent });

describe("network failures", () => {
  it("a create that never fully left is retried", () => {
    expect(failure("create", "ECONNREFUSED", false).kind).toBe("retry");
    expect(failure("create", "UND_ERR_CONNECT_TIMEOUT", false)).toMatchObject({
      kind: "retry",
      timeout: true,
    });
    expect(failure("create", "UND_ERR_SOCKET", false).kind).toBe("retry");
  });

  it("connect errors are before sending even if marked sent", () => {
    expect(failure("create", "ECONNREFUSED", true).kind).toBe("retry");
  });

  it("a create that was sent and then lost its answer is ambiguous", () => {
    expect(failure("create", "UND_ERR_SOCKET", true).kind).toBe("ambiguous");
    expect(failure("create", "ECONNRESET", true).kind).toBe("ambiguous");
    expect(failure("create", "UND_ERR_HEADERS_TIMEOUT", true).kind).toBe("ambiguous");
    expect(failure("create", null, true).kind).toBe("ambiguous");
  });

  it("GET, DELETE and downloads are idempotent: retried either way", () => {
    for (const kind of ["get", "cancel", "download"] as const) {
      expect(failure(kind, "UND_ERR_SOCKET", true).kind).toBe("retry");
      expect(failure(kind, "UND_ERR_BODY_TIMEOUT", true)).toMatchObject({ kind: "retry", timeout: true });
    }
  });
});

describe("error bodies", () => {
  it.each([
    ["Runway text", { error: "Could not find Task" }, { message: "Could not find Task", code: null }],
    [
      "CometAPI envelope",
      cometError("invalid token", "bad_token"),
      { message: "invalid token", code: "bad_token" },
    ],
    [
      "new-api task error",
      { code: "task_not_exist", message: "task_not_exist", data: null },
      { message: "task_not_exist", code: "task_not_exist" },
    ],
    ["plain text", "upstream connect error", { message: "upstream connect error", code: null }],
    ["HTML page", "<html><body>301</body></html>", { message: "an HTML page instead of JSON", code: null }],
    ["empty", "", { message: "", code: null }],
  ])("%s", (_name, body, expected) => {
    expect(describeErrorBody(typeof body === "string" ? body : JSON.stringify(body))).toEqual(expected);
  });

  it("clips a huge body to one bounded line", () => {
    const info = describeErrorBody("x\n".repeat(5000));
    expect(info.message.length).toBeLessThanOrEqual(501);
    expect(info.message).not.toContain("\n");
  });
});
