// Output folders for the review page's tests, rendered by the CLI against its built-in simulator.
import { copyFile, cp, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { sha256Hex } from "../../src/canonical.js";
import type { Manifest } from "../../src/manifest/types.js";
import { runCli } from "./cli.js";
import { renderDemo } from "./demo-output.js";

export interface LocalReferenceFolder {
  out: string;
  /** The job file (absolute), whose pair names `reference` by path. */
  job: string;
  /** The reference clip the job names. */
  reference: string;
}

/**
 * A job whose pair's reference is a local file (`path:`), rendered: its manifest names the reference
 * by content hash only, and the review finds the file again through the job.
 */
export async function renderWithLocalReference(clip: string): Promise<LocalReferenceFolder> {
  const dir = await mkdtemp(join(tmpdir(), "actbatch-local-ref-"));
  const reference = join(dir, "take.mp4");
  await copyFile(clip, reference);
  const job = join(dir, "lockstep.yaml");
  await writeFile(
    job,
    [
      "version: 1",
      "name: lockstep",
      "concurrency: 6",
      'defaults: { ratio: "1280:720" }',
      "assets:",
      '  face: { type: image, uri: "https://assets.example.com/hero.png" }',
      "  take: { type: video, path: ./take.mp4 }",
      "pairs:",
      "  - { id: face-take, character: face, reference: take }",
      "sweep:",
      "  expressionIntensity: [1, 3, 5]",
      "  seed: [1, 2]",
      "",
    ].join("\n"),
  );
  const out = join(dir, "out");
  const result = await runCli(["run", job, "--simulate", "--out", out], {
    env: { ACTBATCH_TIME_SCALE: "200" },
  });
  expect(result.stderr).toContain("manifest:");
  expect(result.code).toBe(0);
  return { out, job, reference };
}

/** A copy of the demo's folder in which one task's output differs, as in last night's folder. */
export async function earlierFolder(out: string): Promise<{ before: string; changedKey: string }> {
  const before = join(await mkdtemp(join(tmpdir(), "actbatch-before-")), "out");
  await cp(out, before, { recursive: true });
  const manifest = JSON.parse(await readFile(join(before, "manifest.json"), "utf8")) as Manifest;
  const [changed, other] = manifest.tasks.filter((task) => task.status === "SUCCEEDED");
  const file = changed!.outputs[0]!.file;
  const bytes = await readFile(join(before, other!.outputs[0]!.file));
  await writeFile(join(before, file), bytes);
  changed!.outputs[0] = { ...changed!.outputs[0]!, bytes: bytes.length, sha256: sha256Hex(bytes) };
  await writeFile(join(before, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  return { before, changedKey: changed!.key };
}

export { renderDemo };
