// The import direction of src/, checked on every test run: each layer imports only from the layers
// below it, no module imports itself back through others (a cycle), and only the API client and the
// asset prober speak HTTP. A change that breaks the direction fails here, naming the import.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, sep } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../helpers/cli.js";

const SRC = join(repoRoot, "src");

/** Bottom up. A module may import from its own layer and the ones listed before it. */
const LAYERS: readonly (readonly string[])[] = [
  ["errors.ts", "canonical.ts", "redact.ts", "crash-points.ts", "service-limits.ts", "fs", "media"],
  ["api"],
  ["job"],
  ["cost", "preflight"],
  ["journal"],
  ["manifest"],
  ["run"],
  ["report", "merge"],
  // The simulator is a tool of its own: it may use anything below, and only the CLI and the
  // programmatic entry (simulated-run.ts) start it; the engine gets it as an endpoint.
  ["sim"],
  ["cli", "index.ts", "simulated-run.ts"],
];

/** Imports against the direction that are known and not yet moved, each with where it should go. */
const KNOWN_UPWARD: Record<string, string> = {};

/** Modules that may import undici: the API client's transport and the asset prober. */
const HTTP_MODULES = new Set(["api/transport.ts", "preflight/http.ts"]);

interface ModuleImports {
  module: string;
  relativeImports: string[];
  packages: string[];
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((path) => path.endsWith(".ts") && !path.endsWith(".d.ts"))
    .map((path) => path.split(sep).join("/"));
}

const IMPORT =
  /(?:^|[\s;])(?:import|export)\s[^"'`]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

function readImports(): ModuleImports[] {
  return sourceFiles(SRC).map((module) => {
    const text = readFileSync(join(SRC, module), "utf8");
    const relativeImports: string[] = [];
    const packages: string[] = [];
    for (const match of text.matchAll(IMPORT)) {
      const specifier = match[1] ?? match[2] ?? "";
      if (specifier.startsWith(".")) {
        const target = normalize(join(dirname(module), specifier))
          .split(sep)
          .join("/");
        relativeImports.push(target.replace(/\.js$/, ".ts"));
      } else packages.push(specifier);
    }
    return { module, relativeImports, packages };
  });
}

function layerOf(module: string): number {
  const top = module.split("/")[0] ?? module;
  const layer = LAYERS.findIndex((names) => names.includes(top));
  if (layer < 0)
    throw new Error(`src/${module}: its folder is in no layer of test/architecture/layers.test.ts`);
  return layer;
}

/** Strongly connected groups of more than one module (Tarjan): each is an import cycle. */
function cycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (node: string): void => {
    index.set(node, next);
    low.set(node, next);
    next++;
    stack.push(node);
    onStack.add(node);
    for (const target of graph.get(node) ?? []) {
      if (!graph.has(target)) continue;
      if (!index.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node)!, low.get(target)!));
      } else if (onStack.has(target)) low.set(node, Math.min(low.get(node)!, index.get(target)!));
    }
    if (low.get(node) !== index.get(node)) return;
    const group: string[] = [];
    for (let member = stack.pop(); member !== undefined; member = stack.pop()) {
      onStack.delete(member);
      group.push(member);
      if (member === node) break;
    }
    if (group.length > 1) found.push(group.toSorted());
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

describe("the import direction of src/", () => {
  const modules = readImports();

  it("has every module in a layer, importing only from its layer and those below", () => {
    const upward: string[] = [];
    for (const { module, relativeImports } of modules)
      for (const target of relativeImports)
        if (layerOf(target) > layerOf(module)) upward.push(`${module} -> ${target}`);
    expect(upward.filter((edge) => !(edge in KNOWN_UPWARD))).toEqual([]);
    // A known exception that is gone must leave the list, so that it cannot come back unnoticed.
    expect(Object.keys(KNOWN_UPWARD).filter((edge) => !upward.includes(edge))).toEqual([]);
  });

  it("has no import cycle", () => {
    const graph = new Map(modules.map(({ module, relativeImports }) => [module, relativeImports]));
    expect(cycles(graph)).toEqual([]);
  });

  it("speaks HTTP only in the API client's transport and the asset prober", () => {
    const users = modules.filter(({ packages }) => packages.includes("undici")).map(({ module }) => module);
    expect(users.filter((module) => !HTTP_MODULES.has(module))).toEqual([]);
  });

  it("finds the imports it checks (a parser that saw none would pass anything)", () => {
    const runJob = modules.find(({ module }) => module === "run/run-job.ts");
    expect(runJob?.relativeImports).toContain("journal/writer.ts");
    expect(
      cycles(
        new Map([
          ["a.ts", ["b.ts"]],
          ["b.ts", ["a.ts"]],
        ]),
      ),
    ).toEqual([["a.ts", "b.ts"]]);
  });
});
