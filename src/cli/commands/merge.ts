import { resolve } from "node:path";
import { ExitCode, UsageError } from "../../errors.js";
import { mergeOutputs } from "../../merge/merge.js";
import { parseCommandArgs } from "../args.js";
import { writeLine, type CliIo } from "../io.js";

export const mergeUsage = `Usage: actbatch merge <out-dir...> --out DIR [--copy] [--json]

Merges the output folders of a job's shards (actbatch run --shard I/N on each machine of a CI
matrix) into one folder: one manifest, every file. Each file is verified against its sha256 and
hard-linked (copied across file systems). A task recorded differently by two folders (both ran
it) is a conflict: nothing is merged. Folders of different jobs or job-file versions are refused.
To merge into a folder that already holds a manifest, list it among the folders.

Options:
  --out DIR   the merged folder
  --copy      copy files instead of hard-linking them
  --json      print {"manifest", "summary", "files"} on stdout
  -h, --help  show this help`;

export async function runCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    {
      out: { type: "string" },
      copy: { type: "boolean" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    mergeUsage,
  );
  if (values.help) {
    writeLine(io.stdout, mergeUsage);
    return ExitCode.ok;
  }
  if (values.out === undefined || values.out === "")
    throw new UsageError("--out DIR is required", mergeUsage);
  if (positionals.length === 0) throw new UsageError("expected the output folders to merge", mergeUsage);
  const result = await mergeOutputs(
    positionals.map((input) => resolve(io.cwd, input)),
    resolve(io.cwd, values.out),
    { copy: values.copy ?? false },
  );
  const s = result.manifest.summary;
  if (values.json) {
    writeLine(io.stdout, JSON.stringify({ manifest: result.manifestPath, summary: s, files: result.files }));
    return ExitCode.ok;
  }
  const f = result.files;
  writeLine(
    io.stdout,
    `merged ${result.sources} folders: ${s.total} tasks (${s.succeeded} succeeded, ${s.failed} failed, ${s.pending} pending)` +
      `, files ${f.linked} linked, ${f.copied} copied, ${f.present} already there`,
  );
  writeLine(io.stdout, `manifest: ${result.manifestPath}`);
  return ExitCode.ok;
}
