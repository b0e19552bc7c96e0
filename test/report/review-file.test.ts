// review.json, --export-picks and --against as data: what a reviewer's decisions become on disk, in a
// job file and in a comparison with an earlier folder.
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Script } from "node:vm";
import { describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { loadPlan } from "../../src/job/load.js";
import type { Manifest, ManifestTask } from "../../src/manifest/types.js";
import { PAGE_SCRIPT } from "../../src/report/html/page-script.js";
import { scriptJson } from "../../src/report/html/page-data.js";
import { changedOutputs } from "../../src/report/review/against.js";
import {
  applyDecision,
  emptyReview,
  parseDecisionChange,
  parseReview,
  readReview,
  serializeReview,
  writeReview,
} from "../../src/report/review/decisions.js";
import { exportPicks } from "../../src/report/review/export-picks.js";
import { repoRoot } from "../helpers/cli.js";

async function demoManifest(): Promise<Manifest> {
  const { plan } = await loadPlan("jobs/demo.yaml", { cwd: repoRoot });
  const tasks = plan.tasks.map((task): ManifestTask => ({
    key: task.key,
    pair: task.pair,
    params: task.params,
    request: task.request,
    taskId: `task-${task.key}`,
    status: "SUCCEEDED",
    attempts: 1,
    outputs: [{ file: task.output, bytes: 1, sha256: `sha-${task.key}` }],
    error: null,
    possiblyChargedTwice: false,
    history: [],
  }));
  return {
    version: 1,
    job: plan.job,
    spec: plan.spec,
    summary: { total: tasks.length, succeeded: tasks.length, failed: 0, pending: 0, possiblyChargedTwice: 0 },
    tasks,
    orphans: [],
  };
}

describe("review.json", () => {
  const at = "2025-01-02T03:04:05.000Z";
  const subject = { pair: "hero-dance", params: { expressionIntensity: 3, seed: 7 } };

  it("keeps a verdict and a note per key with the params and the time, and drops an entry left empty", () => {
    let review = applyDecision(emptyReview("demo"), { key: "abc", decision: "pick" }, subject, at);
    review = applyDecision(review, { key: "abc", note: "  best mouth shapes " }, subject, at);
    expect(review.decisions.get("abc")).toEqual({
      decision: "pick",
      note: "best mouth shapes",
      ...subject,
      at,
    });
    review = applyDecision(review, { key: "abc", decision: null }, subject, at);
    expect(review.decisions.get("abc")?.note).toBe("best mouth shapes");
    review = applyDecision(review, { key: "abc", note: "" }, subject, at);
    expect(review.decisions.has("abc")).toBe(false);
  });

  it("writes sorted JSON that reads back the same, and refuses to read a file that is not one", async () => {
    const dir = await mkdtemp(join(tmpdir(), "actbatch-review-"));
    let review = applyDecision(emptyReview("demo"), { key: "b", decision: "reject" }, subject, at);
    review = applyDecision(review, { key: "a", decision: "pick" }, subject, at);
    await writeReview(dir, review);
    const text = await readFile(join(dir, "review.json"), "utf8");
    expect(Object.keys(JSON.parse(text).decisions)).toEqual(["a", "b"]);
    expect(serializeReview(await readReview(dir, "demo"))).toBe(text);
    await writeFile(
      join(dir, "review.json"),
      '{"version":1,"job":"demo","decisions":{"a":{"decision":"maybe"}}}',
    );
    await expect(readReview(dir, "demo")).rejects.toThrow(
      /decision a: "decision" is not pick, reject or null/,
    );
    expect(parseReview('{"version":1,"job":"d","decisions":{"__proto__":{}}}')).toMatch(/is not a task key/);
  });

  it("takes only a key with a verdict or a short note from the page", () => {
    expect(parseDecisionChange({ key: "abc", decision: "pick" })).toEqual({ key: "abc", decision: "pick" });
    expect(parseDecisionChange({ key: "abc" })).toBe("nothing to change");
    expect(parseDecisionChange({ key: "../x", decision: "pick" })).toMatch(/not a task key/);
    expect(parseDecisionChange({ key: "abc", decision: "maybe" })).toMatch(/pick, reject or null/);
    expect(parseDecisionChange({ key: "abc", note: "x".repeat(1001) })).toMatch(/longer than 1000/);
    expect(parseDecisionChange({ key: "abc", decision: "pick", path: "/etc" })).toMatch(/unknown field/);
  });
});

describe("--export-picks", () => {
  it("prints an include list that, pasted into the job in place of its exclude and include, plans exactly the picks", async () => {
    const manifest = await demoManifest();
    const picks = [manifest.tasks[1]!, manifest.tasks[4]!, manifest.tasks.at(-1)!];
    let review = emptyReview("demo");
    for (const task of picks)
      review = applyDecision(review, { key: task.key, decision: "pick" }, task, "2025-01-01T00:00:00Z");
    review = applyDecision(
      review,
      { key: manifest.tasks[0]!.key, decision: "reject" },
      manifest.tasks[0]!,
      "t",
    );
    const exported = exportPicks(manifest, review, "actbatch review out/demo --export-picks");
    expect(exported.picked).toBe(3);
    const pasted = parseDocument(exported.text).toJS() as { include: unknown[]; exclude: unknown[] };
    expect(pasted.include).toHaveLength(3);

    const job = parseDocument(await readFile(join(repoRoot, "jobs/demo.yaml"), "utf8"));
    job.set("exclude", pasted.exclude);
    job.set("include", pasted.include);
    const dir = await mkdtemp(join(tmpdir(), "actbatch-picks-"));
    await writeFile(join(dir, "demo.yaml"), job.toString());
    const { plan } = await loadPlan(join(dir, "demo.yaml"));
    expect(plan.tasks.map((task) => task.key).toSorted()).toEqual(picks.map((task) => task.key).toSorted());
  });

  it("prints nothing when nothing is picked, and names picks whose tasks left the job", async () => {
    const manifest = await demoManifest();
    const orphaned = applyDecision(
      emptyReview("demo"),
      { key: "0123456789abcdef", decision: "pick" },
      { pair: "old-pair", params: { seed: 3 } },
      "t",
    );
    expect(exportPicks(manifest, orphaned, "x")).toEqual({ text: "", picked: 0, orphaned: 1 });
    const both = applyDecision(
      orphaned,
      { key: manifest.tasks[0]!.key, decision: "pick" },
      manifest.tasks[0]!,
      "t",
    );
    expect(exportPicks(manifest, both, "x").text).toContain(
      "# not listed: pick 0123456789abcdef (old-pair seed=3) has left the job",
    );
  });
});

describe("--against", () => {
  it("calls a task changed when both folders hold an output for its key and the bytes differ", async () => {
    const now = await demoManifest();
    const before = structuredClone(now);
    before.tasks[2]!.outputs[0]!.sha256 = "other";
    before.tasks[3]!.status = "FAILED";
    before.tasks[3]!.outputs = [];
    now.tasks[5]!.outputs[0]!.sha256 = "also other";
    const changed = changedOutputs(now, before);
    expect([...changed.keys()]).toEqual([now.tasks[2]!.key, now.tasks[5]!.key]);
    expect(changed.get(now.tasks[2]!.key)?.sha256).toBe("other");
  });
});

describe("the sheet's script and data", () => {
  it("is a script the browser can parse", () => {
    expect(() => new Script(PAGE_SCRIPT)).not.toThrow();
  });

  it("embeds data that cannot end its script element", () => {
    const json = scriptJson({ pair: "</script><script>alert(1)</script>", note: "<!-- \u2028" });
    expect(json).not.toMatch(/<\/?script|<!--/i);
    expect(JSON.parse(json)).toEqual({ pair: "</script><script>alert(1)</script>", note: "<!-- \u2028" });
  });
});
