import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Manifest, ManifestTask } from "../../src/manifest/types.js";
import {
  appendGithubStepSummary,
  formatAnnotation,
  githubAnnotationsForError,
} from "../../src/report/github.js";
import { formatJunitReport, writeJunitReport } from "../../src/report/junit.js";
import { SpecError } from "../../src/job/index.js";
import { parseXml, type XmlElement } from "./xml.js";

function task(index: number, pair: string, overrides: Partial<ManifestTask> = {}): ManifestTask {
  return {
    key: `${index}`.padStart(16, "a"),
    pair,
    params: { seed: index },
    request: {
      model: "act_two",
      character: { type: "image", uri: "https://assets.example.com/c.png" },
      reference: { type: "video", uri: "https://assets.example.com/r.mp4" },
      ratio: "1280:720",
      bodyControl: true,
      expressionIntensity: 1,
      seed: index,
      contentModeration: { publicFigureThreshold: "auto" },
    },
    taskId: `task-${index}`,
    status: "SUCCEEDED",
    attempts: 1,
    outputs: [{ file: `${pair}/s${index}.mp4`, bytes: 1, sha256: "0".repeat(64) }],
    error: null,
    possiblyChargedTwice: false,
    history: [],
    ...overrides,
  };
}

const hostile = 'Moderation said <no> & "never" \u0001 ]]> \u{1F600}';
const manifest: Manifest = {
  version: 1,
  job: "demo",
  spec: { file: "jobs/demo.yaml", sha256: "b".repeat(64) },
  summary: { total: 4, succeeded: 2, failed: 1, pending: 1, possiblyChargedTwice: 0 },
  tasks: [
    task(1, "hero"),
    task(2, "hero", {
      status: "FAILED",
      outputs: [],
      error: { code: "SAFETY.INPUT.IMAGE", message: hostile, retryable: false },
    }),
    task(3, "robot"),
    task(4, "robot", { status: "NOT_SUBMITTED", outputs: [], taskId: null, attempts: 0 }),
  ],
  orphans: [],
};

const children = (node: XmlElement, name: string): XmlElement[] =>
  node.children.filter((child) => child.name === name);

describe("JUnit report", () => {
  it("has one testcase per task, failures with the provider's code and message, and parses back", async () => {
    const file = join(await mkdtemp(join(tmpdir(), "actbatch-junit-")), "reports", "junit.xml");
    await writeJunitReport(file, manifest, { outputs: new Map([["aaaaaaaaaaaaaaa4", "robot/s4.mp4"]]) });
    const root = parseXml(await readFile(file, "utf8"));
    expect(root.name).toBe("testsuites");
    expect(root.attributes).toMatchObject({ tests: "4", failures: "1", errors: "0", skipped: "1" });
    const suites = children(root, "testsuite");
    expect(suites.map((suite) => suite.attributes.name)).toEqual(["demo/hero", "demo/robot"]);
    const cases = suites.flatMap((suite) => children(suite, "testcase"));
    expect(cases.map((testcase) => [testcase.attributes.classname, testcase.attributes.name])).toEqual([
      ["demo/hero", "hero/s1.mp4"],
      ["demo/hero", "aaaaaaaaaaaaaaa2"],
      ["demo/robot", "robot/s3.mp4"],
      ["demo/robot", "robot/s4.mp4"],
    ]);
    const failure = children(cases[1]!, "failure")[0];
    expect(failure?.attributes.type).toBe("SAFETY.INPUT.IMAGE");
    // The one character XML cannot hold is replaced; everything else survives the round trip.
    expect(failure?.attributes.message).toBe(`SAFETY.INPUT.IMAGE: ${hostile.replace("\u0001", "\uFFFD")}`);
    expect(children(cases[3]!, "skipped")[0]?.attributes.message).toBe("not finished: NOT_SUBMITTED");
    expect(children(cases[0]!, "failure")).toEqual([]);
  });

  it("is checked by a reader that rejects what is not well-formed", () => {
    for (const bad of ['<a b="<"/>', "<a>&</a>", "<a><b></a></b>", "<a>\u0001</a>", "<a/><b/>"])
      expect(() => parseXml(bad)).toThrow(/XML/);
  });

  it("holds several jobs in one file", () => {
    const other = { ...manifest, job: "other" };
    const root = parseXml(formatJunitReport([manifest, other]));
    expect(root.attributes).toMatchObject({ name: "actbatch demo, other", tests: "8", failures: "2" });
    expect(children(root, "testsuite").map((suite) => suite.attributes.name)).toEqual([
      "demo/hero",
      "demo/robot",
      "other/hero",
      "other/robot",
    ]);
  });

  it("is deterministic", () => {
    expect(formatJunitReport(manifest)).toBe(formatJunitReport(structuredClone(manifest)));
  });
});

describe("GitHub Actions", () => {
  it("appends a step summary with totals, failed tasks, cost and the report's place", async () => {
    const dir = await mkdtemp(join(tmpdir(), "actbatch-summary-"));
    const summary = join(dir, "summary.md");
    await writeFile(summary, "earlier step\n");
    const env = { GITHUB_STEP_SUMMARY: summary, GITHUB_WORKSPACE: dir };
    const info = { outputDir: join(dir, "out"), reportPath: join(dir, "out", "report.html") };
    expect(await appendGithubStepSummary(env, manifest, info)).toBe(true);
    const text = await readFile(summary, "utf8");
    expect(text.startsWith("earlier step\n### ❌ actbatch `demo`: 2/4 succeeded")).toBe(true);
    expect(text).toContain("| 4 | 2 | 1 | 1 | 0 | US$0.80 (2 tasks × US$0.40, CometAPI) |");
    expect(text).toContain("Contact sheet: `out/report.html`");
    expect(text).toContain(
      '| hero | `aaaaaaaaaaaaaaa2` | `SAFETY.INPUT.IMAGE` | Moderation said \\<no\\> &amp; "never"',
    );
    expect(await appendGithubStepSummary({}, manifest, info)).toBe(false);
  });

  it("turns spec errors into annotations only inside GitHub Actions", () => {
    const error = new SpecError([
      { file: "jobs/a,b.yaml", line: 3, column: 5, message: "unknown key expresionIntensity\n100% sure" },
    ]);
    expect(githubAnnotationsForError({ GITHUB_ACTIONS: "true" }, error)).toEqual([
      "::error file=jobs/a%2Cb.yaml,line=3,col=5::unknown key expresionIntensity%0A100%25 sure",
    ]);
    expect(githubAnnotationsForError({}, error)).toEqual([]);
    expect(githubAnnotationsForError({ GITHUB_ACTIONS: "true" }, new Error("x"))).toEqual([]);
    expect(formatAnnotation("warning", { file: "C:/x.yaml", line: 1, column: 1, message: "m" })).toBe(
      "::warning file=C%3A/x.yaml,line=1,col=1::m",
    );
  });
});
