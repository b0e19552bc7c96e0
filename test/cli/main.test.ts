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

  it("rejects an unknown command with usage help, exit 2 and no stack trace", async () => {
    const result = await runCli(["frobnicate"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown command "frobnicate"');
    expect(result.stderr).toContain("Usage: actbatch");
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it("exits 2 with usage when no command is given", async () => {
    const result = await runCli([]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("Usage: actbatch");
  });
});
