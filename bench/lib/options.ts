// Command-line options shared by the benchmark entry points.

import { parseArgs } from "node:util";

export interface BenchCliOptions {
  quick: boolean;
  /** Where to write the BenchResult as JSON (run-all passes one). */
  jsonOut: string | undefined;
  values: Record<string, string | boolean | undefined>;
}

/**
 * Parses `--quick`, `--json-out FILE` and the bench's own string options. Every option can also come
 * from the environment as BENCH_<NAME> (e.g. BENCH_N=200), which is how run-all and the smoke test
 * size a bench without knowing its flags.
 */
export function parseBenchArgs(argv: string[], own: readonly string[]): BenchCliOptions {
  const options: Record<string, { type: "string" | "boolean" }> = {
    quick: { type: "boolean" },
    "json-out": { type: "string" },
  };
  for (const name of own) options[name] = { type: "string" };
  const { values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  const merged: Record<string, string | boolean | undefined> = {};
  for (const name of own) merged[name] = (values[name] as string | undefined) ?? envOption(name);
  return {
    quick: values["quick"] === true || process.env["BENCH_QUICK"] === "1",
    jsonOut: (values["json-out"] as string | undefined) ?? process.env["BENCH_JSON_OUT"],
    values: merged,
  };
}

function envOption(name: string): string | undefined {
  return process.env[`BENCH_${name.toUpperCase().replaceAll("-", "_")}`];
}

export function numberOption(value: string | boolean | undefined, fallback: number, name: string): number {
  if (value === undefined || typeof value === "boolean") return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0)
    throw new Error(`--${name} must be a positive number, got "${value}"`);
  return parsed;
}

export function numberListOption(
  value: string | boolean | undefined,
  fallback: number[],
  name: string,
): number[] {
  if (value === undefined || typeof value === "boolean") return fallback;
  return value.split(",").map((part) => numberOption(part.trim(), Number.NaN, name));
}
