// A folder of job files, bases and catalogues written for one test, loaded as the CLI loads them.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { formatDiagnostic, loadPlan, SpecError, type LoadedPlan } from "../../src/job/index.js";

export interface JobTree {
  dir: string;
  load(file: string, env?: Record<string, string>): Promise<LoadedPlan>;
  /** The problems of a job that does not load, as printed: `file:line:col: error: message`. */
  problems(file: string, env?: Record<string, string>): Promise<string[]>;
  remove(): Promise<void>;
}

export async function writeJobTree(files: Record<string, string>): Promise<JobTree> {
  const dir = await mkdtemp(join(tmpdir(), "actbatch-tree-"));
  for (const [name, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  const load = (file: string, env: Record<string, string> = {}) => loadPlan(file, { cwd: dir, env });
  return {
    dir,
    load,
    async problems(file, env) {
      try {
        await load(file, env);
      } catch (error) {
        if (error instanceof SpecError) return error.diagnostics.map((d) => formatDiagnostic(d));
        throw error;
      }
      throw new Error(`${file} loaded without a problem`);
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Lines joined, ending with a newline: a YAML or CSV file. */
export function lines(...text: string[]): string {
  return text.join("\n") + "\n";
}
