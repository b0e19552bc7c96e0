import { describe, expect, it } from "vitest";
import { planFromBytes, SpecError, type LoadedPlan, type LoadPlanOptions } from "../../src/job/index.js";

const HEADER = `version: 1
name: t
assets:
  a: { type: image, uri: "https://assets.example.com/a.png" }
  b: { type: image, uri: "https://assets.example.com/b.png" }
  v: { type: video, uri: "https://assets.example.com/v.mp4" }
`;
const TWO_PAIRS = `pairs:
  - { id: pa, character: a, reference: v }
  - { id: pb, character: b, reference: v }
`;

function plan(body: string, options?: LoadPlanOptions): LoadedPlan {
  return planFromBytes("job.yaml", new TextEncoder().encode(HEADER + body), options);
}

function problems(body: string, options?: LoadPlanOptions): string[] {
  try {
    plan(body, options);
  } catch (error) {
    if (!(error instanceof SpecError)) throw error;
    return error.diagnostics.map((d) => `${d.line}:${d.column}: ${d.message}`);
  }
  throw new Error("expected the job to be rejected");
}

const rows = (loaded: LoadedPlan, ...fields: ("ratio" | "bodyControl" | "expressionIntensity" | "seed")[]) =>
  loaded.plan.tasks.map((task) => [task.pair, ...fields.map((field) => task.request[field])]);

describe("sweep expansion", () => {
  it("varies the first sweep key slowest, in the order the file lists them", () => {
    const loaded = plan(
      `pairs:\n  - { id: p, character: a, reference: v }\nsweep:\n  seed: [1, 2]\n  expressionIntensity: [4, 5]\n`,
    );
    expect(rows(loaded, "seed", "expressionIntensity")).toEqual([
      ["p", 1, 4],
      ["p", 1, 5],
      ["p", 2, 4],
      ["p", 2, 5],
    ]);
  });

  it("expands an inclusive range with a step", () => {
    const loaded = plan(
      `pairs:\n  - { id: p, character: a, reference: v }\nsweep:\n  seed: { from: 10, to: 20, step: 5 }\n`,
    );
    expect(loaded.plan.tasks.map((task) => task.request.seed)).toEqual([10, 15, 20]);
  });

  it("multiplies the other sweep keys by the zip entries, which vary together", () => {
    const loaded = plan(`${TWO_PAIRS}sweep:
  seed: [1, 2]
  zip:
    - { ratio: "1280:720", bodyControl: true }
    - { ratio: "960:960", bodyControl: false }
`);
    expect(loaded.plan.tasks).toHaveLength(8);
    expect(rows(loaded, "seed", "ratio", "bodyControl").slice(0, 4)).toEqual([
      ["pa", 1, "1280:720", true],
      ["pa", 1, "960:960", false],
      ["pa", 2, "1280:720", true],
      ["pa", 2, "960:960", false],
    ]);
  });

  it("lets a pair's zip replace the job's zip, and a pair's plain key take a field out of the job's zip", () => {
    const loaded = plan(`pairs:
  - id: own-zip
    character: a
    reference: v
    sweep: { zip: [{ seed: 7 }, { seed: 8 }] }
  - id: own-ratio
    character: b
    reference: v
    sweep: { ratio: ["1584:672"] }
sweep:
  zip:
    - { ratio: "1280:720", bodyControl: true }
    - { ratio: "960:960", bodyControl: false }
output: { name: "{pair}/{ratio}-{bodyControl}-{seed}.mp4" }
`);
    expect(rows(loaded, "ratio", "bodyControl", "seed")).toEqual([
      ["own-zip", "1280:720", true, 7],
      ["own-zip", "1280:720", true, 8],
      ["own-ratio", "1584:672", true, 1],
      ["own-ratio", "1584:672", false, 1],
    ]);
  });
});

describe("exclude and include", () => {
  it("drops every combination matching all the keys of an exclude, counting what it removed", () => {
    const loaded = plan(
      `${TWO_PAIRS}sweep:\n  seed: [1, 2]\n  expressionIntensity: [1, 2]\nexclude:\n  - { seed: 1, expressionIntensity: 2 }\n  - { pair: pb }\n`,
    );
    expect(rows(loaded, "seed", "expressionIntensity")).toEqual([
      ["pa", 1, 1],
      ["pa", 2, 1],
      ["pa", 2, 2],
    ]);
    expect(loaded.report.excludes.map((e) => e.removed)).toEqual([2, 4]);
  });

  it("matches an exclude against the task's values, fixed ones included", () => {
    const loaded = plan(`pairs:
  - { id: square, character: a, reference: v, ratio: "960:960" }
  - { id: wide, character: b, reference: v }
sweep:
  ratio: ["1280:720", "960:960"]
  seed: [1, 2]
exclude:
  - { ratio: "960:960", seed: 2 }
`);
    expect(rows(loaded, "ratio", "seed")).toEqual([
      ["square", "960:960", 1],
      ["wide", "1280:720", 1],
      ["wide", "1280:720", 2],
      ["wide", "960:960", 1],
    ]);
  });

  it("warns about a pair whose every combination is excluded", () => {
    const loaded = plan(`${TWO_PAIRS}sweep:\n  seed: [1, 2]\nexclude:\n  - { pair: pa }\n`);
    expect(loaded.report.pairs).toEqual([
      { pair: "pa", tasks: 0 },
      { pair: "pb", tasks: 2 },
    ]);
    expect(loaded.report.warnings.map((w) => `${w.line}:${w.column}: ${w.message}`)).toEqual([
      '8:5: pair "pa" has no tasks: exclude removes every combination',
    ]);
  });

  it("warns about an exclude that matches nothing, at the exclude", () => {
    const loaded = plan(`${TWO_PAIRS}sweep:\n  seed: [1, 2]\nexclude:\n  - { seed: 3 }\n`);
    expect(loaded.report.warnings.map((w) => `${w.line}:${w.column}: ${w.message}`)).toEqual([
      "13:5: exclude matches no combination: it removes nothing",
    ]);
  });

  it("applies an include without pair to every pair: extending where it fits, adding where it conflicts", () => {
    const loaded = plan(`pairs:
  - { id: pa, character: a, reference: v, sweep: { expressionIntensity: [1, 3] } }
  - { id: pb, character: b, reference: v }
include:
  - { expressionIntensity: 2, bodyControl: false }
output: { name: "{pair}/{expressionIntensity}.mp4" }
`);
    expect(rows(loaded, "expressionIntensity", "bodyControl")).toEqual([
      ["pa", 1, true],
      ["pa", 3, true],
      ["pa", 2, false],
      ["pb", 2, false],
    ]);
    expect(loaded.report.includes).toEqual([
      { index: 0, source: { file: "job.yaml", line: 11, column: 5 }, effect: "both", extended: 1, added: 1 },
    ]);
  });

  it("warns about an include that changes nothing, and one that adds a combination already planned", () => {
    const loaded = plan(`pairs:
  - { id: p, character: a, reference: v }
sweep:
  seed: [1, 2]
include:
  - { seed: 1, bodyControl: true }
  - { seed: 3, expressionIntensity: 4 }
  - { seed: 3, expressionIntensity: 4 }
`);
    expect(loaded.plan.tasks).toHaveLength(3);
    expect(loaded.report.includes.map((i) => i.effect)).toEqual(["none", "added", "none"]);
    expect(loaded.report.warnings.map((w) => `${w.line}:${w.column}: ${w.message}`)).toEqual([
      '5:3: asset "b" is not used by any pair',
      "12:5: include matches 1 combination but changes none of their values",
      "14:5: include adds a combination that is already planned: it changes nothing",
    ]);
    expect(loaded.report.merged).toBe(1);
    // The merged task remembers both includes as its origin.
    expect(loaded.plan.tasks[2]?.source.map((s) => s.line)).toEqual([8, 13, 14]);
  });

  it("lets a later include overwrite what an earlier one set, but never a swept value", () => {
    const loaded = plan(`pairs:
  - { id: p, character: a, reference: v }
sweep:
  seed: [1, 2]
include:
  - { expressionIntensity: 2 }
  - { expressionIntensity: 5, seed: 2 }
`);
    expect(rows(loaded, "seed", "expressionIntensity")).toEqual([
      ["p", 1, 2],
      ["p", 2, 5],
    ]);
  });
});

describe("the task-count guard", () => {
  const big = `${TWO_PAIRS}sweep:\n  seed: { from: 1, to: 3000 }\n  expressionIntensity: [1, 2]\n`;

  it("refuses more than 10,000 tasks by default, located at the sweep key that grows the job most", () => {
    expect(problems(big)).toEqual([
      '11:3: this sweep expands to 6,000 tasks for pair "pa" (12,000 in the whole job), over the limit of 10,000 tasks; narrow the sweep, or raise the limit with --max-tasks (seed alone has 3,000 values)',
    ]);
  });

  it("accepts the same job when --max-tasks raises the limit", () => {
    expect(plan(big, { maxTasks: 12_000 }).plan.tasks).toHaveLength(12_000);
    expect(problems(big, { maxTasks: 11_999 })).toHaveLength(1);
  });

  it("points at a pair's own sweep when that is what explodes", () => {
    const body = `pairs:
  - { id: p, character: a, reference: v, sweep: { seed: { from: 0, to: 4294967295 } } }
`;
    expect(problems(body)).toEqual([
      '8:51: this sweep expands to 4,294,967,296 tasks for pair "p", over the limit of 10,000 tasks; narrow the sweep, or raise the limit with --max-tasks (seed alone has 4,294,967,296 values)',
    ]);
  });

  it("points at pairs when there are simply too many of them", () => {
    const pairs = Array.from(
      { length: 4 },
      (_, i) => `  - { id: p${i}, character: a, reference: v, seed: ${i} }`,
    ).join("\n");
    expect(problems(`pairs:\n${pairs}\n`, { maxTasks: 3 })).toEqual([
      "7:1: the job expands to 4 tasks, over the limit of 3 tasks; narrow the sweep, or raise the limit with --max-tasks",
    ]);
  });

  it("counts what includes could add", () => {
    const body = `pairs:\n  - { id: p, character: a, reference: v }\ninclude:\n  - { seed: 5 }\n`;
    expect(problems(body, { maxTasks: 1 })[0]).toContain("the job expands to 2 tasks");
  });
});

describe("output names", () => {
  it("fills placeholders, turning the ratio's ':' into 'x'", () => {
    const loaded = plan(`pairs:
  - { id: p, character: a, reference: v, contentModeration: { publicFigureThreshold: low } }
sweep: { ratio: ["1584:672"] }
output: { name: "{job}/{pair}/{index}-{model}-{ratio}-{bodyControl}-{expressionIntensity}-{seed}-{publicFigureThreshold}-{key}.mp4" }
`);
    const task = loaded.plan.tasks[0];
    expect(task?.output).toBe(`t/p/0-act_two-1584x672-true-1-1-low-${task?.key}.mp4`);
  });

  it.each([
    [
      "/abs/{key}.mp4",
      'output.name gives "/abs/KEY.mp4", which is unsafe: it is an absolute path; names are relative to the output folder',
    ],
    [
      "C:/x/{key}.mp4",
      'output.name gives "C:/x/KEY.mp4", which is unsafe: it is an absolute path; names are relative to the output folder',
    ],
    [
      "a\\\\{key}.mp4",
      'output.name gives "a\\KEY.mp4", which is unsafe: it contains "\\"; separate folders with "/"',
    ],
    [
      "a//{key}.mp4",
      'output.name gives "a//KEY.mp4", which is unsafe: it has an empty folder name ("//", or "/" at the start or end)',
    ],
    [
      "{pair}/./{key}.mp4",
      'output.name gives "p/./KEY.mp4", which is unsafe: it contains ".", which could leave the output folder',
    ],
    [
      "what?{key}.mp4",
      'output.name gives "what?KEY.mp4", which is unsafe: it contains "?", which is not allowed in file names on Windows',
    ],
    [
      "nul.{key}",
      'output.name gives "nul.KEY", which is unsafe: "nul.KEY" is a reserved device name on Windows',
    ],
    [
      "{key}.mp4.",
      'output.name gives "KEY.mp4.", which is unsafe: "KEY.mp4." ends with ".", which Windows drops',
    ],
    [
      "tab\\t{key}",
      // The name is quoted with its control character escaped, never raw.
      'output.name gives "tab\\u0009KEY", which is unsafe: it contains control character U+0009, which is not allowed in file names on Windows',
    ],
  ])("refuses the unsafe template %j", (template, message) => {
    const body = `pairs:\n  - { id: p, character: a, reference: v }\noutput: { name: "${template}" }\n`;
    const found = problems(body);
    const key = /([0-9a-f]{16})[."]/.exec(found[0] ?? "")?.[1] ?? "";
    expect(found.map((line) => line.replaceAll(key, "KEY"))).toEqual([`9:17: ${message}`]);
  });

  it("reports a template that collides everywhere with a few examples and a count", () => {
    const body = `pairs:\n  - { id: p, character: a, reference: v }\nsweep: { seed: { from: 1, to: 100 } }\noutput: { name: "{pair}.mp4" }\n`;
    const found = problems(body);
    expect(found).toHaveLength(6);
    expect(found[0]).toMatch(
      /^10:17: output\.name gives the same file "p\.mp4" to task 0 \(pair p, seed 1, key [0-9a-f]{16}\) and task 1 \(pair p, seed 2, key [0-9a-f]{16}\); add a placeholder that tells them apart, such as \{seed\}$/,
    );
    expect(found[5]).toBe("10:17: ... and 94 more tasks whose output name another task already has");
  });
});
