// `run --report`, `run --junit FILE` and the GitHub step summary, through the real binary.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { repoRoot, runCli } from "../helpers/cli.js";
import { parseXml } from "./xml.js";

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe("run --report --junit with GITHUB_STEP_SUMMARY", () => {
  it("writes the contact sheet, one JUnit testcase per task and a step summary", async () => {
    dir = await mkdtemp(join(tmpdir(), "actbatch-run-reports-"));
    const out = join(dir, "out");
    const junit = join(dir, "reports", "junit.xml");
    const summary = join(dir, "summary.md");
    const result = await runCli(
      ["run", join(repoRoot, "jobs/demo.yaml"), "--simulate", "--out", out, "--report", "--junit", junit],
      { cwd: dir, env: { GITHUB_STEP_SUMMARY: summary, ACTBATCH_TIME_SCALE: "100" }, timeoutMs: 90_000 },
    );
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.code).toBe(0);

    const html = await readFile(join(out, "report.html"), "utf8");
    expect(html).toContain("<title>");
    expect(html.match(/data-key="[0-9a-f]{16}"/g)?.length).toBe(12);

    const suites = parseXml(await readFile(junit, "utf8"));
    expect(suites.name).toBe("testsuites");
    expect(suites.attributes.tests).toBe("12");
    expect(suites.attributes.failures).toBe("0");

    const markdown = await readFile(summary, "utf8");
    expect(markdown).toContain("12/12 succeeded");
    expect(markdown).toContain("report.html");
  });
});
