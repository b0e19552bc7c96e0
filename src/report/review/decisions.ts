// A reviewer's decisions on an output folder's tasks: `OUT/review.json`, keyed by task key. Runs
// never touch it, so decisions survive reruns; a decision whose key has left the job is kept (and
// shown as orphaned) rather than dropped, because the person made it. Written atomically, whole,
// after every change: a crash leaves the previous decisions or the new ones, never half a file.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { UserError } from "../../errors.js";
import { writeFileAtomic } from "../../fs/atomic-write.js";
import { hasErrnoCode } from "../../fs/errno.js";
import type { ParamValue } from "../../job/types.js";

export const REVIEW_FILE = "review.json";
export const REVIEW_VERSION = 1;
/** Characters of a note; with the key and the JSON around it a change stays under the body limit. */
export const MAX_NOTE_LENGTH = 1000;

export type Verdict = "pick" | "reject";

export interface ReviewEntry {
  decision: Verdict | null;
  /** "" when there is none. */
  note: string;
  /** What the key stood for when it was decided, so an orphaned decision still says what it was. */
  pair: string;
  params: Record<string, ParamValue>;
  /** ISO time of the last change. */
  at: string;
}

export interface Review {
  job: string;
  decisions: Map<string, ReviewEntry>;
}

/** One change a reviewer makes: a verdict (null clears it), a note ("" removes it), or both. */
export interface DecisionChange {
  key: string;
  decision?: Verdict | null;
  note?: string;
}

// Task keys are hex digests; a leading letter or digit also keeps "__proto__" out of every object.
const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function emptyReview(job: string): Review {
  return { job, decisions: new Map() };
}

export function reviewPath(outputDir: string): string {
  return join(outputDir, REVIEW_FILE);
}

/** The folder's decisions; none when it has no review.json. A file that is not one is a UserError. */
export async function readReview(outputDir: string, job: string): Promise<Review> {
  let text: string;
  try {
    text = await readFile(reviewPath(outputDir), "utf8");
  } catch (error) {
    if (hasErrnoCode(error, "ENOENT")) return emptyReview(job);
    throw error;
  }
  const review = parseReview(text);
  if (typeof review === "string")
    throw new UserError(
      `${reviewPath(outputDir)}: ${review}`,
      undefined,
      "fix it or move it away; actbatch does not overwrite decisions it cannot read",
    );
  return review;
}

/** Parses review.json; a string says what is wrong. */
export function parseReview(text: string): Review | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return `not JSON (${error instanceof Error ? error.message : String(error)})`;
  }
  if (!isObject(value)) return "expected an object";
  if (value["version"] !== REVIEW_VERSION) return `unknown version ${JSON.stringify(value["version"])}`;
  const job = value["job"];
  const decisions = value["decisions"];
  if (typeof job !== "string") return '"job" is not a string';
  if (!isObject(decisions)) return '"decisions" is not an object';
  const review = emptyReview(job);
  for (const [key, raw] of Object.entries(decisions)) {
    if (!KEY.test(key)) return `"${key.slice(0, 40)}" is not a task key`;
    const entry = parseEntry(raw);
    if (typeof entry === "string") return `decision ${key}: ${entry}`;
    review.decisions.set(key, entry);
  }
  return review;
}

function parseEntry(raw: unknown): ReviewEntry | string {
  if (!isObject(raw)) return "expected an object";
  const { decision, note, pair, params, at } = raw;
  if (decision !== null && decision !== "pick" && decision !== "reject")
    return '"decision" is not pick, reject or null';
  if (typeof note !== "string" || note.length > MAX_NOTE_LENGTH) return '"note" is not a short string';
  if (typeof pair !== "string") return '"pair" is not a string';
  if (typeof at !== "string") return '"at" is not a string';
  if (!isObject(params)) return '"params" is not an object';
  const values: Record<string, ParamValue> = {};
  for (const [field, value] of Object.entries(params)) {
    if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean")
      return `params.${field} is not a value`;
    Object.defineProperty(values, field, { value, enumerable: true, writable: true, configurable: true });
  }
  return { decision, note, pair, params: values, at };
}

/** Validates a change as the page sends it; a string says what is wrong. */
export function parseDecisionChange(value: unknown): DecisionChange | string {
  if (!isObject(value)) return "expected a JSON object";
  const { key, decision, note } = value;
  for (const name of Object.keys(value))
    if (name !== "key" && name !== "decision" && name !== "note") return `unknown field "${name}"`;
  if (typeof key !== "string" || !KEY.test(key)) return '"key" is not a task key';
  const change: DecisionChange = { key };
  if (decision !== undefined) {
    if (decision !== null && decision !== "pick" && decision !== "reject")
      return '"decision" is not pick, reject or null';
    change.decision = decision;
  }
  if (note !== undefined) {
    if (typeof note !== "string") return '"note" is not a string';
    if (note.length > MAX_NOTE_LENGTH) return `"note" is longer than ${MAX_NOTE_LENGTH} characters`;
    change.note = note;
  }
  if (change.decision === undefined && change.note === undefined) return "nothing to change";
  return change;
}

/**
 * The review after one change, pure. An entry with no verdict and no note is removed; `subject` is
 * what the key stands for now (the manifest's task, or the entry itself for an orphaned key).
 */
export function applyDecision(
  review: Review,
  change: DecisionChange,
  subject: { pair: string; params: Record<string, ParamValue> },
  at: string,
): Review {
  const decisions = new Map(review.decisions);
  const previous = decisions.get(change.key);
  const entry: ReviewEntry = {
    decision: change.decision === undefined ? (previous?.decision ?? null) : change.decision,
    note: change.note === undefined ? (previous?.note ?? "") : change.note.trim(),
    pair: subject.pair,
    params: subject.params,
    at,
  };
  if (entry.decision === null && entry.note === "") decisions.delete(change.key);
  else decisions.set(change.key, entry);
  return { job: review.job, decisions };
}

/** review.json's bytes: keys sorted, so the file diffs well when committed. */
export function serializeReview(review: Review): string {
  const decisions: Record<string, ReviewEntry> = {};
  for (const key of [...review.decisions.keys()].toSorted()) {
    const entry = review.decisions.get(key) as ReviewEntry;
    Object.defineProperty(decisions, key, { value: entry, enumerable: true });
  }
  return `${JSON.stringify({ version: REVIEW_VERSION, job: review.job, decisions }, null, 2)}\n`;
}

export async function writeReview(outputDir: string, review: Review): Promise<void> {
  await writeFileAtomic(reviewPath(outputDir), serializeReview(review));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
