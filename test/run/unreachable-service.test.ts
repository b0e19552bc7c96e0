// A base URL whose host refuses connections (or does not resolve, or fails TLS) fails every request the
// same way: the run stops once, naming the host and the reason, after at most concurrency + 3 attempts,
// and exits 3 (resumable) instead of trying every task 4 times.
import { describe, expect, it, afterEach } from "vitest";
import { isConnectionLevel, Reachability } from "../../src/api/reachability.js";
import { formatRunSummary } from "../../src/report/run-summary-text.js";
import { createWorkspace, jobYaml, type Workspace } from "../e2e/harness.js";
import { freePort } from "../helpers/scripted-server.js";

let ws: Workspace | undefined;
afterEach(async () => {
  await ws?.close();
  ws = undefined;
});

describe("an unreachable service", () => {
  it("stops the run once, after at most concurrency + 3 attempts, with exit 3 and the host named", async () => {
    ws = await createWorkspace(jobYaml({ pairs: 3, intensities: [1, 2, 3], concurrency: 3 }));
    const port = await freePort();
    const result = await ws.run({ baseUrl: `http://127.0.0.1:${port}`, preflight: false, timeScale: 600 });

    expect(result.exitCode).toBe(3);
    expect(result.summary.requests.create).toBeLessThanOrEqual(3 + 3);
    const stops = ws.events.filter((event) => event.kind === "submission-stopped");
    expect(stops).toHaveLength(1);
    expect(stops[0]).toMatchObject({ reason: "account" });
    const message = stops[0]?.kind === "submission-stopped" ? stops[0].message : "";
    expect(message).toMatch(new RegExp(`^stopped: cannot reach 127\\.0\\.0\\.1:${port}: ECONNREFUSED`));
    // Nothing was created, nothing is paid: every task waits for a rerun, none is a failure.
    expect(result.manifest.tasks.every((task) => task.status === "NOT_SUBMITTED")).toBe(true);
    expect(result.manifest.tasks.map((task) => task.attempts)).toEqual(Array.from({ length: 9 }, () => 0));
    const summary = formatRunSummary(result.summary).join("\n");
    expect(summary).toContain("9 tasks were not submitted: rerun to submit them");
    expect(summary).not.toContain("not created");
  });

  it("counts only connection-level failures in a row, and any answer resets the count", () => {
    expect(
      ["ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "CERT_HAS_EXPIRED", "ERR_SSL_WRONG_VERSION_NUMBER"].every(
        isConnectionLevel,
      ),
    ).toBe(true);
    expect(["ECONNRESET", "UND_ERR_SOCKET", "UND_ERR_HEADERS_TIMEOUT", null].some(isConnectionLevel)).toBe(
      false,
    );

    const reach = new Reachability("api.example.com");
    const failed = (code: string) =>
      reach.observe({
        kind: "verdict",
        verdict: {
          kind: "retry",
          timeout: false,
          retryAfterMs: null,
          status: null,
          message: `${code}: x`,
          networkCode: code,
        },
        result: null,
      });
    const answered = () =>
      reach.observe({
        kind: "verdict",
        verdict: { kind: "ok" },
        result: { status: 200, headers: {}, body: "{}" },
      });
    failed("ENOTFOUND");
    failed("ENOTFOUND");
    answered();
    failed("ECONNRESET");
    failed("ENOTFOUND");
    failed("ENOTFOUND");
    expect(reach.refusal()).toBeNull();
    expect(failed("ENOTFOUND")).toMatchObject({
      verdict: {
        kind: "account-stop",
        reason: "unreachable",
        message: "cannot reach api.example.com: ENOTFOUND: x",
      },
    });
    expect(reach.refusal()).toMatchObject({ reason: "unreachable" });
  });
});
