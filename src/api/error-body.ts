// Reads the error bodies of both providers into one short message and code. The shapes seen:
//   Runway:           {"error": "text", "issues": [{path, message}], "docUrl": ...}
//   CometAPI gateway: {"error": {"message", "type": "comet_api_error", "param", "code"}}
//   new-api task:     {"code": "task_not_exist" | "fail_to_fetch_task" | ..., "message", "data"}
// and, from a wrong path or a proxy in between, plain text or an HTML page.

export interface ErrorInfo {
  message: string;
  /** A machine code when the body had one (CometAPI `error.code`, new-api `code`), else null. */
  code: string | null;
}

const MAX_MESSAGE = 500;

/** new-api replaces upstream messages with these fixed Chinese texts; say what they mean. */
const GATEWAY_TEXTS: Record<string, string> = {
  请求上游地址失败: "the gateway's request to the upstream service failed",
  "当前分组上游负载已饱和，请稍后再试": "the gateway's upstream is saturated, try again later",
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function nonEmptyString(value: unknown): string | null {
  return typeof value === "string" && value.trim() !== "" ? value.trim() : null;
}

function explain(message: string): string {
  const meaning = GATEWAY_TEXTS[message];
  return meaning === undefined ? message : `${meaning} (${message})`;
}

function clip(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > MAX_MESSAGE ? `${flat.slice(0, MAX_MESSAGE)}…` : flat;
}

function describeIssues(issues: unknown): string | null {
  if (!Array.isArray(issues) || issues.length === 0) return null;
  const parts = issues.map((issue) => {
    if (!isRecord(issue)) return String(issue);
    const path = Array.isArray(issue.path) ? issue.path.map(String).join(".") : nonEmptyString(issue.path);
    const message = nonEmptyString(issue.message) ?? nonEmptyString(issue.code) ?? "invalid";
    return path ? `${path}: ${message}` : message;
  });
  return parts.join("; ");
}

function describeJson(body: Record<string, unknown>): ErrorInfo | null {
  const { error } = body;
  if (typeof error === "string") {
    const issues = describeIssues(body.issues);
    return { message: issues ? `${error}: ${issues}` : error, code: nonEmptyString(body.code) };
  }
  if (isRecord(error)) {
    const message = nonEmptyString(error.message) ?? nonEmptyString(error.type) ?? "error";
    return { message: explain(message), code: nonEmptyString(error.code) };
  }
  const code =
    typeof body.code === "number" && body.code !== 0 && body.code !== 200
      ? String(body.code)
      : nonEmptyString(body.code);
  const message = nonEmptyString(body.message) ?? nonEmptyString(body.msg);
  if (code !== null && code !== "success") return { message: explain(message ?? code), code };
  if (message !== null) return { message: explain(message), code: null };
  return null;
}

/** A short, single-line description of an error answer's body. */
export function describeErrorBody(text: string): ErrorInfo {
  const trimmed = text.trim();
  if (trimmed === "") return { message: "", code: null };
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    if (trimmed.startsWith("<")) return { message: "an HTML page instead of JSON", code: null };
    return { message: clip(trimmed), code: null };
  }
  const info = isRecord(parsed) ? describeJson(parsed) : null;
  if (info === null) return { message: clip(trimmed), code: null };
  return { message: clip(info.message), code: info.code };
}
