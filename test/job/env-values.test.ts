// Values from the environment: ${NAME}, ${NAME:-default}, $${ for a literal, an unset variable
// located at its `${`, and the task key following the value.
import { afterEach, describe, expect, it } from "vitest";
import { expandEnvironment } from "../../src/job/env-values.js";
import { lines, writeJobTree, type JobTree } from "./job-tree.js";

let tree: JobTree | undefined;
afterEach(async () => {
  await tree?.remove();
  tree = undefined;
});

const JOB = lines(
  "version: 1",
  "name: env",
  "assets:",
  '  fox: { type: image, uri: "${CDN}/fox.png" }',
  '  wave: { type: video, uri: "${TAKES:-https://takes.example.com}/wave.mp4?v=$${v}" }',
  "pairs:",
  "  - { id: p, character: fox, reference: wave }",
  "output:",
  '  dir: "${OUT_ROOT:-out}/{job}"',
  '  name: "{pair}.mp4"',
);

describe("values from the environment", () => {
  it("expand ${NAME} and ${NAME:-default}, keep $${ as ${, and say which variables were used", async () => {
    tree = await writeJobTree({ "job.yaml": JOB });
    const { plan, report } = await tree.load("job.yaml", { CDN: "https://cdn.example.com" });
    const task = plan.tasks[0];
    expect(task?.request.character.uri).toBe("https://cdn.example.com/fox.png");
    expect(task?.request.reference.uri).toBe("https://takes.example.com/wave.mp4?v=${v}");
    expect(plan.outputDir).toBe("out/env");
    expect(report.environment).toEqual([
      {
        name: "CDN",
        value: "https://cdn.example.com",
        from: "environment",
        sources: [{ file: "job.yaml", line: 4, column: 28 }],
      },
      {
        name: "TAKES",
        value: "https://takes.example.com",
        from: "default",
        sources: [{ file: "job.yaml", line: 5, column: 29 }],
      },
      {
        name: "OUT_ROOT",
        value: "out",
        from: "default",
        sources: [{ file: "job.yaml", line: 9, column: 8 }],
      },
    ]);
  });

  it("make the task key follow the value", async () => {
    tree = await writeJobTree({ "job.yaml": JOB });
    const one = await tree.load("job.yaml", { CDN: "https://cdn.example.com" });
    const other = await tree.load("job.yaml", { CDN: "https://cdn2.example.com" });
    expect(one.plan.tasks[0]?.key).not.toBe(other.plan.tasks[0]?.key);
  });

  it("report an unset variable at its ${, once, and never expand the API key", async () => {
    tree = await writeJobTree({
      "job.yaml": JOB.replace("/fox.png", "/fox.png?k=${COMETAPI_KEY}"),
    });
    expect(await tree.problems("job.yaml")).toEqual([
      "job.yaml:4:29: error: ${CDN}: CDN is not set in the environment; set it, or write ${CDN:-value} for a default",
      "job.yaml:4:46: error: ${COMETAPI_KEY} is the API key: it is never written into a job file (it would travel in request bodies and be written to the journal and the manifest)",
    ]);
  });

  it("expands a string as sh does: an empty variable takes the default, a bad reference is named", () => {
    expect(expandEnvironment("${A:-x}/${B:-y}/${C}", { A: "", B: "b", C: "" }).text).toBe("x/b/");
    expect(expandEnvironment("a $b $$c $${d}", {}).text).toBe("a $b $$c ${d}");
    expect(expandEnvironment("${1X} ${A-b} ${open", {}).problems.map((p) => p.fragment)).toEqual([
      "${1X}",
      "${A-b}",
      "${",
    ]);
  });
});
