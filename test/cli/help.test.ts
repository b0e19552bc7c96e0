// What `--help`, `actbatch help <command>` and usage mistakes print, as a user reads them.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { commandNames, main } from "../../src/cli/main.js";
import { captureIo } from "../helpers/capture-io.js";
import { repoRoot } from "../helpers/cli.js";

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const captured = captureIo(repoRoot, {});
  const code = await main(args, captured.io);
  return { code, stdout: captured.stdout(), stderr: captured.stderr() };
}

/** The options a command's help lists (`--name`, at the start of an option line). */
function optionsOf(help: string): string[] {
  return [...help.matchAll(/^ {2}(?:-\w, )?(--[a-z][a-z0-9-]*)/gm)].map((match) => match[1] as string);
}

describe("help", () => {
  it.each(commandNames)("actbatch help %s prints that command's help, as --help does", async (name) => {
    const viaHelp = await cli(["help", name]);
    const viaFlag = await cli([name, "--help"]);
    expect(viaHelp.code).toBe(0);
    expect(viaHelp.stdout).toMatch(new RegExp(`^Usage: actbatch ${name}\\b`));
    expect(viaHelp.stdout).toBe(viaFlag.stdout);
    expect(viaHelp.stderr).toBe("");
  });

  it("no help line is wider than 100 columns", async () => {
    const wide: string[] = [];
    for (const args of [["--help"], ...commandNames.map((name) => ["help", name])]) {
      const { stdout } = await cli(args);
      wide.push(...stdout.split("\n").filter((line) => line.length > 100));
    }
    expect(wide).toEqual([]);
  });

  it("the README's command summary names every option of every command", async () => {
    const readme = await readFile(join(repoRoot, "README.md"), "utf8");
    const summary = /## Commands\n+```\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";
    // Each command's part of the summary runs from its `actbatch <name>` line to the next command.
    const parts = new Map<string, string>();
    for (const block of summary.split(/^(?=actbatch )/m)) {
      const name = /^actbatch (\S+)/.exec(block)?.[1];
      if (name !== undefined) parts.set(name, (parts.get(name) ?? "") + block);
    }
    const missing: string[] = [];
    for (const name of commandNames) {
      const { stdout } = await cli(["help", name]);
      for (const option of optionsOf(stdout))
        if (option !== "--help" && !new RegExp(`${option}(?![a-z-])`).test(parts.get(name) ?? ""))
          missing.push(`${name} ${option}`);
    }
    expect(missing).toEqual([]);
  });
});

describe("usage mistakes", () => {
  it("an unknown option names the closest one and points at --help, without printing the help", async () => {
    const result = await cli(["run", "job.yaml", "--concurency", "4"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      [
        "actbatch: unknown option --concurency; did you mean --concurrency?",
        'Run "actbatch run --help" to see its options.',
        "",
      ].join("\n"),
    );
    expect(result.stdout).toBe("");
  });

  it("an option far from every known one is named without a guess", async () => {
    const result = await cli(["plan", "job.yaml", "--frobnicate"]);
    expect(result.stderr.split("\n")[0]).toBe("actbatch: unknown option --frobnicate");
  });

  it("a missing or unwanted value says which option, in one line", async () => {
    expect((await cli(["run", "job.yaml", "--out"])).stderr.split("\n")[0]).toBe(
      "actbatch: option --out needs a value",
    );
    expect((await cli(["run", "job.yaml", "--json=yes"])).stderr.split("\n")[0]).toBe(
      "actbatch: option --json takes no value",
    );
  });

  it("an unknown command suggests the closest one and points at the list of commands", async () => {
    const result = await cli(["rn", "job.yaml"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      [
        'actbatch: unknown command "rn"; did you mean "run"?',
        'Run "actbatch --help" to see the commands.',
        "",
      ].join("\n"),
    );
    expect((await cli(["help", "frobnicate"])).stderr).toContain('unknown command "frobnicate"');
  });
});
