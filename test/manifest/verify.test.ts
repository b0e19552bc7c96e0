import { mkdir, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { assembleManifest } from "../../src/manifest/manifest.js";
import { verifyOutputs } from "../../src/manifest/verify.js";
import type { TaskPlan } from "../../src/job/types.js";
import { failedTask, planOf, succeededTask, withTempDir } from "../helpers/manifest-fixtures.js";

const plan = planOf(5);
const task = (index: number) => plan.tasks[index] as TaskPlan;

async function writeOutput(
  dir: string,
  planned: TaskPlan,
  content = `video of ${planned.key}`,
): Promise<void> {
  const path = join(dir, planned.output);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content);
}

describe("verifyOutputs", () => {
  it("passes files that match and names each one that does not, and why", async () => {
    await withTempDir(async (dir) => {
      const manifest = assembleManifest({
        plan,
        tasks: [
          succeededTask(task(0)),
          succeededTask(task(1)),
          succeededTask(task(2)),
          succeededTask(task(3)),
          failedTask(task(4)),
        ],
      });
      await writeOutput(dir, task(0));
      await writeOutput(dir, task(1), `video of ${task(1).key}!`); // one byte more
      await writeOutput(dir, task(2), `VIDEO of ${task(2).key}`); // same size, other bytes
      // task 3's file is missing; task 4 failed and has none to check.
      const result = await verifyOutputs(dir, manifest);
      expect(result.checked).toBe(4);
      expect(result.problems).toEqual([
        {
          key: task(1).key,
          file: task(1).output,
          problem: expect.stringMatching(/has \d+ bytes, the manifest says \d+/),
        },
        {
          key: task(2).key,
          file: task(2).output,
          problem: expect.stringMatching(/^content changed \(sha256/),
        },
        { key: task(3).key, file: task(3).output, problem: "missing" },
      ]);
    });
  });

  it("does not accept a symbolic link or a folder in place of a file", async () => {
    await withTempDir(async (dir) => {
      const manifest = assembleManifest({ plan, tasks: [succeededTask(task(0)), succeededTask(task(1))] });
      // A link to a file with exactly the right bytes is still not the downloaded file.
      const real = join(dir, "real.mp4");
      await writeFile(real, `video of ${task(0).key}`);
      await mkdir(dirname(join(dir, task(0).output)), { recursive: true });
      await symlink(real, join(dir, task(0).output));
      await mkdir(join(dir, task(1).output), { recursive: true });
      const result = await verifyOutputs(dir, manifest);
      expect(result.problems.map((problem) => problem.problem)).toEqual([
        "is a symbolic link, not the downloaded file",
        "is not a regular file",
      ]);
    });
  });
});
