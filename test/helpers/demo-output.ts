// A real output folder of the demo job, rendered by the CLI against its built-in simulator.
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import type { Manifest, ManifestTask } from "../../src/manifest/types.js";
import { runCli } from "./cli.js";

export async function renderDemo(extraArgs: string[] = [], outDir?: string): Promise<string> {
  const out = outDir ?? join(await mkdtemp(join(tmpdir(), "actbatch-report-")), "out");
  const result = await runCli(["run", "jobs/demo.yaml", "--simulate", "--out", out, ...extraArgs], {
    env: { ACTBATCH_TIME_SCALE: "200" },
  });
  expect(result.stderr).toContain("manifest:");
  expect([0, 1]).toContain(result.code);
  return out;
}

/** The same manifest with one task failed by moderation and one pair given a hostile id. */
export function withFailureAndHostilePair(manifest: Manifest): Manifest {
  const tasks = manifest.tasks.map((task): ManifestTask => ({ ...task }));
  const failed = tasks[1];
  if (!failed) throw new Error("demo manifest too small");
  failed.status = "FAILED";
  failed.outputs = [];
  failed.error = {
    code: "SAFETY.INPUT.TEXT",
    message: 'Moderation rejected the input <img src=x onerror="alert(1)">',
    retryable: false,
  };
  const lastPair = tasks.at(-1)?.pair;
  for (const task of tasks) if (task.pair === lastPair) task.pair = "<script>alert('pair')</script>";
  const succeeded = tasks.filter((task) => task.status === "SUCCEEDED").length;
  const failedCount = tasks.filter((task) => task.status === "FAILED").length;
  return {
    ...manifest,
    tasks,
    summary: {
      ...manifest.summary,
      succeeded,
      failed: failedCount,
      pending: tasks.length - succeeded - failedCount,
    },
  };
}
