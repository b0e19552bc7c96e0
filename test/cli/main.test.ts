import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";

describe("actbatch CLI entry", () => {
  it("prints the version from package.json", async () => {
    const result = await runCli(["--version"]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("lists the commands on --help and exits 0", async () => {
    const result = await runCli(["--help"]);
    expect(result.code).toBe(0);
    for (const command of ["validate", "plan", "run", "status", "simulate"]) {
      expect(result.stdout).toContain(command);
    }
  });

  it("rejects an unknown command pointing at the list of commands, exit 2 and no stack trace", async () => {
    const result = await runCli(["frobnicate"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown command "frobnicate"');
    expect(result.stderr).toContain('Run "actbatch --help" to see the commands.');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it("exits 2 with usage when no command is given", async () => {
    const result = await runCli([]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("Usage: actbatch");
  });
});

describe("GitHub Actions annotations", () => {
  it("prints spec errors as ::error annotations at their line when GITHUB_ACTIONS is set", async () => {
    const { mkdtemp, writeFile } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dir = await mkdtemp(join(tmpdir(), "actbatch-annotations-"));
    const job = join(dir, "job.yaml");
    await writeFile(
      job,
      [
        "version: 1",
        "name: annotated",
        "assets:",
        '  hero: { type: image, uri: "https://assets.example.com/h.png" }',
        '  take: { type: video, uri: "https://assets.example.com/t.mp4" }',
        "pairs:",
        "  - { id: p1, character: hero, reference: tkae }",
        "",
      ].join("\n"),
    );
    const annotated = await runCli(["validate", job], { env: { GITHUB_ACTIONS: "true" } });
    expect(annotated.code).toBe(2);
    expect(annotated.stdout).toContain(`::error file=${job},line=7,col=`);
    expect(annotated.stdout).toContain('unknown asset "tkae"');

    const plain = await runCli(["validate", job], { env: { GITHUB_ACTIONS: "" } });
    expect(plain.code).toBe(2);
    expect(plain.stdout).toBe("");
    expect(plain.stderr).toContain(`${job}:7:`);
  });
});

describe("user errors quote user text safely", () => {
  it("shows control characters of a file name escaped, never raw", async () => {
    const result = await runCli(["validate", "missing-\u001b[31mred\u0007.yaml"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("missing-\\u001b[31mred\\u0007.yaml");
    expect(result.stderr.includes("\u0007") || result.stderr.includes("\u001b")).toBe(false);
  });
});
