// Property 14, on disk: every file a run writes stays inside its output folder. Names from the job
// file are checked by the hostile suite; here the folder itself is booby-trapped before the run: a
// symlink planted at an output path and a symlinked sub-folder both point outside, and files that are
// not the run's own sit beside its outputs. Nothing outside may change, nothing foreign may be touched.
import {
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  realpath,
  rm,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, sep } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readManifest } from "../../src/manifest/manifest.js";
import { figures } from "./harness/mode.js";
import { describeOutcome } from "./harness/runner.js";
import { createScenario, type Scenario } from "./harness/workspace.js";

describe("confined paths", () => {
  let scenario: Scenario | undefined;
  let outside: string | undefined;
  afterEach(async () => {
    await scenario?.close();
    if (outside) await rm(outside, { recursive: true, force: true });
    scenario = undefined;
    outside = undefined;
  });

  async function trap(): Promise<{ trapped: Scenario; victimFile: string; victimDir: string }> {
    const created = await createScenario({
      job: { pairs: 2, seeds: 1, intensities: 2 },
      speed: 100,
      concurrency: 4,
      host: { sim: { outputBytes: 2048, concurrency: 4 } },
    });
    scenario = created;
    outside = await mkdtemp(join(tmpdir(), "actbatch-victim-"));
    const victimFile = join(outside, "victim.mp4");
    const victimDir = join(outside, "victim-dir");
    await writeFile(victimFile, "do not overwrite me");
    await mkdir(victimDir);
    await writeFile(join(victimDir, "keep.txt"), "do not touch");
    return { trapped: created, victimFile, victimDir };
  }

  it("a symlink planted at an output path is not followed; foreign files beside the outputs are left alone", async () => {
    const { trapped, victimFile } = await trap();
    const out = trapped.outDir;
    await mkdir(join(out, "pair0"), { recursive: true });
    await symlink(victimFile, join(out, "pair0", "ei1-s1.mp4"));
    await writeFile(join(out, "notes.txt"), "the user's own notes");
    await writeFile(join(out, "pair0", "ei9-s9.mp4"), "an older render the user keeps");
    const foreign = ["notes.txt", "pair0/ei9-s9.mp4"];
    const foreignBefore = await Promise.all(foreign.map((file) => stat(join(out, file))));

    const outcome = await trapped.run();
    const context = `run: ${describeOutcome(outcome)}\n${outcome.stderr.slice(-2000)}`;
    expect(await readFile(victimFile, "utf8"), `${context}`).toBe("do not overwrite me");
    for (const [index, file] of foreign.entries()) {
      const after = await stat(join(out, file));
      expect(after.mtimeMs, `${file}`).toBe(foreignBefore[index]?.mtimeMs);
    }
    const recorded = await recordedInside(out);
    figures(
      "property 14 (confined paths, planted file symlink)",
      `a symlink at an output path pointing outside, plus 2 foreign files: ${describeOutcome(outcome)}, ${recorded} outputs recorded, all regular files inside the folder; the symlink's target unchanged, 0 foreign files touched`,
    );
  });

  // A committed output folder (git keeps symlinks) or a shared workspace is enough to plant a
  // symlinked sub-folder. Replay: mkdir out; ln -s /some/dir out/pair1; actbatch run job.yaml --out
  // out (a job with a pair named pair1 and output.name "{pair}/...") -> nothing in /some/dir.
  it("a symlinked output sub-folder is not followed out of the output folder", async () => {
    const { trapped, victimDir } = await trap();
    const out = trapped.outDir;
    await mkdir(out, { recursive: true });
    await symlink(victimDir, join(out, "pair1"));
    const outcome = await trapped.run();
    const context = `run: ${describeOutcome(outcome)}\n${outcome.stderr.slice(-2000)}`;
    expect((await readdir(victimDir)).toSorted(), `${context}`).toEqual(["keep.txt"]);
    expect(await readFile(join(victimDir, "keep.txt"), "utf8")).toBe("do not touch");
    await recordedInside(out);
  });
});

/** Every file the manifest records is a regular file whose real path is inside the output folder. */
async function recordedInside(out: string): Promise<number> {
  const root = await realpath(out);
  const recorded = (await readManifest(out).catch(() => null))?.tasks.flatMap((task) => task.outputs) ?? [];
  for (const output of recorded) {
    const path = join(out, output.file);
    expect((await lstat(path)).isFile(), `${output.file} is not a regular file`).toBe(true);
    expect((await realpath(path)).startsWith(root + sep), `${output.file} resolves outside`).toBe(true);
  }
  return recorded.length;
}
