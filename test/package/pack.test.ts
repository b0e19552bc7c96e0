// The published package, as a user gets it: `npm pack` from a clean copy of the repository (its
// prepack script builds dist/), `npm install <tarball>` into a new project, then the installed CLI
// renders the demo job against its built-in simulator and the job schema resolves by its package path.
//
// The pack runs in a staging copy of the working tree (no node_modules, .git, dist/ or out/ folders,
// as in a fresh clone; node_modules is a link to the repository's), with the real prepack script. It
// rebuilds dist/ there, never in the repository, whose dist/ other test files are running from, and
// it costs about a second (tsc). The dependencies come from the npm registry, served by the npm cache
// that `npm ci` filled (--prefer-offline); nothing else is fetched.
import { cp, mkdir, mkdtemp, readFile, readdir, realpath, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot, runProcess, type CliResult } from "../helpers/cli.js";

type Exec = CliResult;

/** Top-level folders a fresh clone does not have (or that are rebuilt by the pack). */
const NOT_IN_A_CLONE = new Set(["node_modules", ".git", "dist", "out", "reports", join("bench", "results")]);

/** Every path the tarball may hold. */
const ALLOWED =
  /^(package\.json|README\.md|LICENSE(\.md)?|bin\/actbatch\.js|dist\/.+\.(js|d\.ts)|schemas\/[^/]+\.json)$/;

/**
 * npm's environment minus what `npm test` put there for this repository (npm_config_local_prefix,
 * npm_package_*, ...), which would point the nested npm commands back at it. The cache, registry and
 * user config stay: they are how the installs are served.
 */
function npmEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const keep = new Set(["npm_config_cache", "npm_config_registry", "npm_config_userconfig"]);
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    const lower = name.toLowerCase();
    if ((lower.startsWith("npm_") && !keep.has(lower)) || name === "INIT_CWD") continue;
    env[name] = value;
  }
  return { ...env, CI: "true", NO_COLOR: "1", npm_config_update_notifier: "false", ...extra };
}

function exec(
  command: string,
  args: string[],
  cwd: string,
  env = npmEnv(),
  timeoutMs = 120_000,
): Promise<Exec> {
  return runProcess(command, args, { cwd, env, timeoutMs });
}

/** Fails with the command's output, so a CI log says why. */
function expectSuccess(result: Exec, what: string): void {
  expect({ what, code: result.code, stderr: result.stderr.slice(-4000) }).toMatchObject({ code: 0 });
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split(sep).join("/"))
    .toSorted();
}

interface PackResult {
  filename: string;
  size: number;
  entryCount: number;
  files: { path: string }[];
}

describe("the npm package", () => {
  let scratch: string;
  let project: string;
  let pack: PackResult;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), "actbatch-package-"));
    const staging = join(scratch, "clone");
    await cp(repoRoot, staging, {
      recursive: true,
      filter: (source) => !NOT_IN_A_CLONE.has(relative(repoRoot, source)),
    });
    await symlink(join(repoRoot, "node_modules"), join(staging, "node_modules"), "dir");
    // What a working tree accumulates: run state, outputs, a stale build. None of it may ship.
    for (const [file, text] of [
      ["out/demo/.actbatch/journal.ndjson", "{}\n"],
      ["out/demo/manifest.json", "{}\n"],
      ["jobs/out/demo/.actbatch/hashes.json", "{}\n"],
      ["dist/left-by-a-deleted-source.js", "export {};\n"],
    ] as const) {
      await mkdir(join(staging, file, ".."), { recursive: true });
      await writeFile(join(staging, file), text);
    }

    const packDir = join(scratch, "pack");
    await mkdir(packDir);
    // --json: the file list on stdout; the prepack script's output goes to stderr.
    const packed = await exec("npm", ["pack", "--json", "--pack-destination", packDir], staging);
    expectSuccess(packed, "npm pack");
    pack = (JSON.parse(packed.stdout) as PackResult[])[0]!;

    project = join(scratch, "project");
    await mkdir(project);
    expectSuccess(await exec("npm", ["init", "-y"], project), "npm init -y");
    const installed = await exec(
      "npm",
      ["install", join(packDir, pack.filename), "--prefer-offline", "--no-audit", "--no-fund"],
      project,
    );
    expectSuccess(installed, "npm install <tarball>");
  }, 240_000);

  afterAll(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it("ships the CLI, its build and the schemas, and nothing else (the simulator renders its outputs)", async () => {
    const paths = pack.files.map((file) => file.path).toSorted();
    expect(paths.filter((path) => !ALLOWED.test(path))).toEqual([]);
    expect(paths).toEqual(
      expect.arrayContaining([
        "package.json",
        "README.md",
        "LICENSE",
        "bin/actbatch.js",
        "dist/cli/main.js",
        "dist/index.js",
        "dist/index.d.ts",
        "schemas/job.schema.json",
        "schemas/manifest.schema.json",
      ]),
    );
    expect(paths.filter((path) => path.startsWith("src/"))).toEqual([]);
    expect(paths.filter((path) => path.startsWith("dist/left-by"))).toEqual([]);
  });

  it("runs `npx actbatch run <job> --simulate` in the project: exit 0, 12 MP4s and the manifest", async () => {
    await mkdir(join(project, "jobs"));
    await cp(join(repoRoot, "jobs/demo.yaml"), join(project, "jobs/demo.yaml"));
    // --no: the installed bin or a failure, never a download. The time scale only speeds the
    // simulator's clock (the README's demo takes about 16 s at 1x); the run is the same.
    const run = await exec(
      "npx",
      ["--no", "actbatch", "run", "jobs/demo.yaml", "--simulate"],
      project,
      npmEnv({ ACTBATCH_TIME_SCALE: "100" }),
    );
    expectSuccess(run, "npx actbatch run jobs/demo.yaml --simulate");
    const out = join(project, "out/demo");
    const written = (await filesUnder(out)).filter((file) => !file.startsWith(".actbatch/"));
    expect(written.filter((file) => file.endsWith(".mp4"))).toHaveLength(12);
    expect(written.filter((file) => !file.endsWith(".mp4"))).toEqual(["manifest.json"]);
    const manifest = JSON.parse(await readFile(join(out, "manifest.json"), "utf8")) as {
      summary: { total: number; succeeded: number };
    };
    expect(manifest.summary).toMatchObject({ total: 12, succeeded: 12 });
  });

  it("resolves actbatch/schemas/job.schema.json and imports the API from the project", async () => {
    const script = [
      "const url = import.meta.resolve('actbatch/schemas/job.schema.json');",
      "const schema = await import('actbatch/schemas/job.schema.json', { with: { type: 'json' } });",
      "const api = await import('actbatch');",
      "console.log(JSON.stringify({ url, title: schema.default.title, api: typeof api.loadPlan }));",
    ].join("\n");
    const resolved = await exec("node", ["--input-type=module", "-e", script], project);
    expectSuccess(resolved, "import.meta.resolve('actbatch/schemas/job.schema.json')");
    const schemaPath = join(await realpath(project), "node_modules/actbatch/schemas/job.schema.json");
    expect(JSON.parse(resolved.stdout)).toEqual({
      url: pathToFileURL(schemaPath).href,
      title: "actbatch job file",
      api: "function",
    });
  });
});
