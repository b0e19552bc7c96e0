// The invariant checker of the reliability suites: after any sequence of runs, kills and faults,
// it compares what the simulator created and served with what the runner left on disk (journal,
// manifest, output folder) and lists every broken promise. An empty list is a pass.
import { readdir, readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { UserError } from "../../src/errors.js";
import { isAtomicTempName } from "../../src/fs/atomic-write.js";
import { journalTasks, readJournalView } from "../../src/journal/view.js";
import { MANIFEST_FILE, readManifest } from "../../src/manifest/manifest.js";
import type { Manifest, ManifestTask } from "../../src/manifest/types.js";
import { checkOutput, sha256OfFile } from "../../src/manifest/verify.js";
import type { SimStats, SimTaskRecord } from "../../src/sim/index.js";

export type ViolationKind =
  | "manifest-missing"
  | "manifest-invalid"
  | "duplicate-create-unflagged"
  | "creates-uncounted"
  | "ledger-task-lost"
  | "phantom-task-id"
  | "duplicate-task-id"
  | "succeeded-but-not-at-service"
  | "journal-damaged"
  | "journal-task-unrecorded"
  | "output-mismatch"
  | "output-not-served"
  | "empty-file"
  | "stray-file"
  | "secret-leak";

export interface Violation {
  kind: ViolationKind;
  message: string;
  key?: string;
  taskId?: string;
  file?: string;
}

export interface InvariantInputs {
  /** The simulator's ledger and create counters (Simulator.stats()). */
  sim: {
    tasks: readonly Pick<SimTaskRecord, "id" | "key" | "status">[];
    createsByKey: SimStats["createsByKey"];
  };
  /** What the simulator served for a task id (Simulator.expectedOutput): final files must be those bytes. */
  expectedOutput?: (taskId: string) => { bytes: number; sha256: string } | undefined;
  outputDir: string;
  /** Secrets that must appear in no file (the canary API key); searched with their encoded forms. */
  secrets?: readonly string[];
  /** Other captured output to search for secrets (stdout, stderr, reports), by name. */
  texts?: readonly { name: string; text: string }[];
}

export async function checkInvariants(inputs: InvariantInputs): Promise<Violation[]> {
  const violations: Violation[] = [];
  const manifest = await loadManifest(inputs.outputDir, violations);
  if (manifest) {
    checkPayments(inputs, manifest, violations);
    await checkJournal(inputs.outputDir, manifest, violations);
    await checkOutputs(inputs, manifest, violations);
  }
  await checkFolder(inputs.outputDir, manifest, violations);
  if (inputs.secrets && inputs.secrets.length > 0) await checkSecrets(inputs, violations);
  return violations;
}

/** One line per violation, for assertion messages (with the seed and point of the failing iteration). */
export function formatViolations(violations: readonly Violation[]): string {
  return violations.map((violation) => `${violation.kind}: ${violation.message}`).join("\n");
}

async function loadManifest(outputDir: string, violations: Violation[]): Promise<Manifest | null> {
  try {
    return await readManifest(outputDir);
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    const missing = error.message.startsWith("no manifest at ");
    violations.push({ kind: missing ? "manifest-missing" : "manifest-invalid", message: error.message });
    return null;
  }
}

function entriesOf(manifest: Manifest): ManifestTask[] {
  return [...manifest.tasks, ...manifest.orphans];
}

/** Every task id a manifest entry names, current and earlier attempts. */
function taskIdsOf(task: ManifestTask): (string | null)[] {
  return [...task.history.map((attempt) => attempt.taskId), task.taskId];
}

/**
 * Payment invariants: at most one create per key unless the manifest flags the key as possibly
 * charged twice; never more creates than the manifest counts; every created task accounted for.
 */
function checkPayments(inputs: InvariantInputs, manifest: Manifest, violations: Violation[]): void {
  const byKey = new Map(entriesOf(manifest).map((task) => [task.key, task]));
  for (const [key, creates] of Object.entries(inputs.sim.createsByKey)) {
    const entry = byKey.get(key);
    // A render that FAILED (or was cancelled) with a known id and was resubmitted on purpose is a new,
    // separate task; only creates beyond those are second payments for one render.
    const deliberate = entry ? entry.history.filter(isDeliberatelyReplaced).length : 0;
    if (creates - deliberate >= 2 && !entry?.possiblyChargedTwice)
      violations.push({
        kind: "duplicate-create-unflagged",
        key,
        message: `key ${key} was created ${creates} times but the manifest does not flag it as possibly charged twice`,
      });
    if (creates > (entry?.attempts ?? 0))
      violations.push({
        kind: "creates-uncounted",
        key,
        message: `key ${key} was created ${creates} times; the manifest counts ${entry?.attempts ?? 0} attempts`,
      });
  }

  const ledger = new Map(inputs.sim.tasks.map((task) => [task.id, task]));
  const listed = new Map<string, number>();
  for (const entry of entriesOf(manifest))
    for (const id of taskIdsOf(entry)) if (id !== null) listed.set(id, (listed.get(id) ?? 0) + 1);
  for (const [id, count] of listed) {
    if (count > 1)
      violations.push({
        kind: "duplicate-task-id",
        taskId: id,
        message: `task id ${id} is listed ${count} times`,
      });
    if (!ledger.has(id))
      violations.push({
        kind: "phantom-task-id",
        taskId: id,
        message: `the manifest names task id ${id}, which the service never created`,
      });
  }

  // A created task the runner never learned the id of (an ambiguous create) is accounted for by an
  // attempt with no task id; any other unlisted id is a paid task the record lost.
  const unlistedByKey = new Map<string, SimTaskRecord["id"][]>();
  for (const task of inputs.sim.tasks)
    if (!listed.has(task.id)) unlistedByKey.set(task.key, [...(unlistedByKey.get(task.key) ?? []), task.id]);
  for (const [key, ids] of unlistedByKey) {
    const entry = byKey.get(key);
    // Attempts counts every possibly paid create; those without a known id are the ambiguous ones.
    const knownIds = entry ? new Set(taskIdsOf(entry).filter((id) => id !== null)).size : 0;
    const unknownAttempts = entry ? Math.max(0, entry.attempts - knownIds) : 0;
    if (ids.length > unknownAttempts)
      violations.push({
        kind: "ledger-task-lost",
        key,
        taskId: ids.join(", "),
        message: `task id${ids.length === 1 ? "" : "s"} ${ids.join(", ")} of key ${key} ${ids.length === 1 ? "is" : "are"} not in the manifest (${unknownAttempts} attempt${unknownAttempts === 1 ? "" : "s"} with unknown id)`,
      });
  }

  for (const entry of manifest.tasks) {
    if (entry.status !== "SUCCEEDED" || entry.taskId === null) continue;
    const served = ledger.get(entry.taskId);
    if (served && served.status !== "SUCCEEDED")
      violations.push({
        kind: "succeeded-but-not-at-service",
        key: entry.key,
        taskId: entry.taskId,
        message: `the manifest says ${entry.taskId} SUCCEEDED; the service says ${served.status}`,
      });
  }
}

function isDeliberatelyReplaced(attempt: ManifestTask["history"][number]): boolean {
  return attempt.taskId !== null && (attempt.status === "FAILED" || attempt.status === "CANCELLED");
}

/** Every task id the journal recorded is in the manifest; the journal has no damage in the middle. */
async function checkJournal(outputDir: string, manifest: Manifest, violations: Violation[]): Promise<void> {
  const view = await readJournalView(outputDir);
  if (view === null) return;
  if (view.damagedLines.length > 0 || view.inconsistentRecords > 0)
    violations.push({
      kind: "journal-damaged",
      message: `journal ${view.path}: damaged lines ${view.damagedLines.join(", ") || "none"}, ${view.inconsistentRecords} inconsistent records`,
    });
  const listed = new Set(entriesOf(manifest).flatMap(taskIdsOf));
  for (const task of journalTasks(view.fold))
    for (const id of task.taskIds)
      if (!listed.has(id))
        violations.push({
          kind: "journal-task-unrecorded",
          key: task.key,
          taskId: id,
          message: `the journal recorded task id ${id} (key ${task.key}); the manifest does not list it`,
        });
}

/** Each output of a SUCCEEDED task is on disk as recorded, and is what the service served. */
async function checkOutputs(
  inputs: InvariantInputs,
  manifest: Manifest,
  violations: Violation[],
): Promise<void> {
  for (const entry of manifest.tasks) {
    if (entry.status !== "SUCCEEDED") continue;
    for (const output of entry.outputs) {
      const problem = await checkOutput(inputs.outputDir, output);
      if (problem !== null)
        violations.push({
          kind: "output-mismatch",
          key: entry.key,
          file: output.file,
          message: `${output.file}: ${problem}`,
        });
    }
    const served = entry.taskId === null ? undefined : inputs.expectedOutput?.(entry.taskId);
    const first = entry.outputs[0];
    if (served && first && (served.bytes !== first.bytes || served.sha256 !== first.sha256))
      violations.push({
        kind: "output-not-served",
        key: entry.key,
        file: first.file,
        message: `${first.file}: the manifest records ${first.bytes} bytes sha256 ${first.sha256.slice(0, 12)}…; the service served ${served.bytes} bytes sha256 ${served.sha256.slice(0, 12)}…`,
      });
  }
}

/**
 * Files at final paths (outside .actbatch/, other than the manifest and its temporary files):
 * never empty, and each one is an output the manifest records, byte for byte.
 */
async function checkFolder(
  outputDir: string,
  manifest: Manifest | null,
  violations: Violation[],
): Promise<void> {
  const recorded = new Map<string, { bytes: number; sha256: string }>();
  for (const entry of manifest ? entriesOf(manifest) : [])
    for (const output of entry.outputs) recorded.set(output.file, output);
  for (const path of await listFiles(outputDir)) {
    const file = relative(outputDir, path).split(sep).join("/");
    if (file.startsWith(".actbatch/") || file === MANIFEST_FILE || isAtomicTempName(file, MANIFEST_FILE))
      continue;
    const content = await readFile(path);
    if (content.byteLength === 0) {
      violations.push({ kind: "empty-file", file, message: `${file} is empty` });
      continue;
    }
    const record = recorded.get(file);
    if (!record) {
      if (manifest)
        violations.push({
          kind: "stray-file",
          file,
          message: `${file} is not an output the manifest records`,
        });
      continue;
    }
    if (record.bytes !== content.byteLength || record.sha256 !== (await sha256OfFile(path)))
      violations.push({
        kind: "stray-file",
        file,
        message: `${file} is not the file the manifest records (${content.byteLength} bytes, recorded ${record.bytes})`,
      });
  }
}

/** The forms a leaked key could take in a file: as is, base64, URL-encoded, and its last 8 characters. */
export function secretForms(secret: string): { form: string; label: string }[] {
  const forms = [
    { form: secret, label: "as is" },
    { form: Buffer.from(secret).toString("base64"), label: "base64" },
    { form: Buffer.from(secret).toString("base64url"), label: "base64url" },
    { form: encodeURIComponent(secret), label: "URL-encoded" },
    { form: secret.slice(-8), label: "its last 8 characters" },
  ];
  return forms.filter(
    (candidate, index) =>
      candidate.form.length >= 8 && forms.findIndex((other) => other.form === candidate.form) === index,
  );
}

async function checkSecrets(inputs: InvariantInputs, violations: Violation[]): Promise<void> {
  const forms = (inputs.secrets ?? [])
    .flatMap(secretForms)
    .map(({ form, label }) => ({ bytes: Buffer.from(form), label }));
  const sources: { name: string; content: Buffer }[] = [];
  for (const path of await listFiles(inputs.outputDir))
    sources.push({
      name: relative(inputs.outputDir, path).split(sep).join("/"),
      content: await readFile(path),
    });
  for (const text of inputs.texts ?? []) sources.push({ name: text.name, content: Buffer.from(text.text) });
  for (const source of sources) {
    const found = forms.find((form) => source.content.includes(form.bytes));
    // Which file and which form, never the secret itself: this message ends up in test logs.
    if (found)
      violations.push({
        kind: "secret-leak",
        file: source.name,
        message: `${source.name} contains the secret (${found.label})`,
      });
  }
}

async function listFiles(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const files: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(path)));
    else if (entry.isFile()) files.push(path);
  }
  return files.toSorted();
}
