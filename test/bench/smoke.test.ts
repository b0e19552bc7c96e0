// The benchmark harness must keep working: the throughput bench runs in a tiny mode against the real
// simulator and the real CLI, and must produce every figure for both actbatch and the SDK baseline.
// Only the presence and sanity of the figures is asserted, never their values: timings belong in
// bench/, not in tests.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { idealMakespan } from "../../bench/lib/ideal.js";
import type { BenchResult } from "../../bench/lib/report.js";
import { repoRoot, runProcess, type CliResult } from "../helpers/cli.js";

interface FactorRunsShape {
  factor: number;
  actbatch: Record<string, number> | null;
  baseline: Record<string, number> | null;
}

const FIGURES = [
  "makespanOverIdeal",
  "getsPerTask",
  "lagMeanOverRender",
  "lagP95OverRender",
  "cpuSecondsPer1000",
  "peakRssMb",
] as const;

function runNode(args: string[], timeoutMs: number): Promise<CliResult> {
  return runProcess(process.execPath, args, { cwd: repoRoot, timeoutMs });
}

describe("benchmark harness", () => {
  let dir: string;
  let result: BenchResult;
  let exit: { code: number | null; stdout: string; stderr: string };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "actbatch-bench-smoke-"));
    const jsonOut = join(dir, "throughput.json");
    exit = await runNode(
      [
        "bench/throughput.ts",
        "--n",
        "20",
        "--concurrency",
        "4",
        "--factors",
        "400,800",
        "--json-out",
        jsonOut,
      ],
      25_000,
    );
    result = JSON.parse(await readFile(jsonOut, "utf8")) as BenchResult;
  }, 30_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("runs the throughput bench to completion and prints its table", () => {
    // The stderr rides along so a failure shows why.
    expect({ code: exit.code, stderr: exit.stderr }).toMatchObject({ code: 0 });
    expect(exit.stdout).toContain("makespan / ideal");
    expect(result.notes.filter((note) => note.includes("did not complete"))).toEqual([]);
  });

  it("measures every figure for actbatch and the baseline at both factors, all 20 tasks done", () => {
    const runs = result.details as FactorRunsShape[];
    expect(runs.map((run) => run.factor)).toEqual([400, 800]);
    for (const run of runs) {
      for (const client of ["actbatch", "baseline"] as const) {
        const figures = run[client];
        expect({ client, factor: run.factor, figures }).not.toMatchObject({ figures: null });
        expect(figures?.["succeeded"]).toBe(20);
        expect(figures?.["lagSamples"]).toBe(20);
        for (const name of FIGURES) {
          const value = figures?.[name];
          expect({ client, name, factor: run.factor, finite: Number.isFinite(value) }).toMatchObject({
            finite: true,
          });
          expect(value).toBeGreaterThan(0);
        }
        // A real schedule can never beat a perfect one.
        expect(figures?.["makespanOverIdeal"]).toBeGreaterThanOrEqual(1);
      }
    }
  });

  it("fills the table's rows, with ratios, and the factor check", () => {
    const gets = result.rows.filter(
      (row) => row.scenario.startsWith("1+2 throughput") && row.figure === "GETs per task",
    );
    expect(gets).toHaveLength(2);
    for (const row of gets) expect(Number.isFinite(row.ratio)).toBe(true);
    expect(result.rows.some((row) => row.scenario.startsWith("1+2 factor check"))).toBe(true);
  });
});

describe("ideal makespan", () => {
  it("packs renders onto slots: never below max(sum / C, longest), LPT as the achievable schedule", () => {
    // LPT puts 3,3 on the two slots, then 2,2,2: makespan 7, while 3+3 | 2+2+2 gives the optimum 6.
    expect(idealMakespan([3, 3, 2, 2, 2], 2)).toEqual({ lowerBound: 6, lpt: 7, slots: 2, tasks: 5 });
    // One long render dominates whatever the number of slots.
    expect(idealMakespan([100, 1, 1, 1], 16).lowerBound).toBe(100);
    expect(idealMakespan([100, 1, 1, 1], 16).lpt).toBe(100);
  });
});
