// --only FIELD=PATTERN as data: values, wildcards, lists, ranges, and what it says when it selects nothing.
import { describe, expect, it } from "vitest";
import { parseOnly, selectTasks, type TaskFilter } from "../../src/job/select.js";
import type { TaskPlan } from "../../src/job/types.js";

function task(pair: string, seed: number, ratio = "1280:720", bodyControl = true): TaskPlan {
  return {
    key: `${pair}-${seed}-key`,
    index: 0,
    pair,
    params: {},
    request: {
      model: "act_two",
      character: { type: "image", uri: "https://a.example.com/c.png" },
      reference: { type: "video", uri: "https://a.example.com/r.mp4" },
      ratio: ratio as TaskPlan["request"]["ratio"],
      bodyControl,
      expressionIntensity: 3,
      seed,
      contentModeration: { publicFigureThreshold: "auto" },
    },
    output: `${pair}/${seed}.mp4`,
    source: [],
  };
}

const TASKS = [
  task("fox-wave", 1),
  task("fox-wave", 2, "960:960", false),
  task("owl-wave", 3),
  task("owl-greeting", 10),
];

function filter(written: string): TaskFilter {
  const parsed = parseOnly(written);
  if (typeof parsed === "string") throw new Error(parsed);
  return parsed;
}

function pick(...written: string[]): string[] | string {
  const selected = selectTasks(TASKS, written.map(filter));
  return typeof selected === "string" ? selected : selected.map((t) => `${t.pair}:${t.request.seed}`);
}

describe("--only", () => {
  it("matches a value, a wildcard, a list, a range and a ratio written as in file names", () => {
    expect(pick("pair=owl-wave")).toEqual(["owl-wave:3"]);
    expect(pick("pair=fox-*")).toEqual(["fox-wave:1", "fox-wave:2"]);
    expect(pick("pair=*-wave|owl-greeting", "seed=2..10")).toEqual([
      "fox-wave:2",
      "owl-wave:3",
      "owl-greeting:10",
    ]);
    expect(pick("seed=1|10")).toEqual(["fox-wave:1", "owl-greeting:10"]);
    expect(pick("ratio=960x960")).toEqual(["fox-wave:2"]);
    expect(pick("bodyControl=false")).toEqual(["fox-wave:2"]);
    expect(pick("key=owl-greeting-10-key")).toEqual(["owl-greeting:10"]);
    expect(pick("seed=1*")).toEqual(["fox-wave:1", "owl-greeting:10"]);
  });

  it("says which values exist when a pattern selects nothing, and when the patterns exclude each other", () => {
    expect(pick("seed=5")).toBe("--only seed=5 selects no task; values of seed in this job: 1, 2, 3, 10");
    expect(pick("pair=cat-*")).toBe(
      "--only pair=cat-* selects no task; values of pair in this job: fox-wave, owl-wave, owl-greeting",
    );
    expect(pick("pair=owl-*", "seed=1..2")).toBe(
      "--only pair=owl-* --only seed=1..2: each selects tasks, but no task matches them all",
    );
  });

  it("refuses an unknown field (with a suggestion) and a pattern that cannot match the field", () => {
    expect(parseOnly("sed=1")).toBe(
      '--only sed=1: unknown field "sed"; did you mean "seed"? (fields: pair, key, ratio, bodyControl, expressionIntensity, seed)',
    );
    expect(parseOnly("seed")).toBe("--only seed: expected FIELD=PATTERN, such as seed=1..4");
    expect(parseOnly("seed=abc")).toBe(
      '--only seed=abc: "abc" is not an integer, a range such as 1..4, or a pattern with *',
    );
    expect(parseOnly("seed=4..1")).toBe("--only seed=4..1: the range 4..1 ends before it starts");
    expect(parseOnly("bodyControl=yes")).toBe('--only bodyControl=yes: "yes" is not true or false');
    expect(parseOnly("pair=a||b")).toBe("--only pair=a||b: an empty alternative (two | in a row?)");
  });
});
