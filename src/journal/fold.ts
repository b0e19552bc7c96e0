// The run state is a pure fold over the journal: records in, per-key state out. The engine keeps the
// fold current by applying each record once it is on disk, so memory never knows more than the disk.
import type { ParamValue, RequestBody } from "../job/types.js";
import {
  JournalCorruptError,
  type OutputCheck,
  type TaskError,
  type JournalRecord,
  type NotCreatedReason,
  type TerminalStatus,
} from "./records.js";

export type AttemptPhase =
  /** Intent on disk, no answer recorded: the process died mid-create. Treated as ambiguous. */
  "intent" | "created" | "not-created" | "ambiguous" | "terminal";

export interface RecordedOutput {
  index: number;
  file: string;
  bytes: number;
  sha256: string;
  checks?: OutputCheck[];
}

export interface AttemptState {
  attempt: number;
  phase: AttemptPhase;
  taskId: string | null;
  /** ISO time the task id was recorded (for the visibility grace period when polling resumes). */
  createdAt: string | null;
  notCreated: { reason: NotCreatedReason; code: string; message: string } | null;
  ambiguousMessage: string | null;
  /** The answer was refused (DUPLICATE_TASK_ID): a final failure that may have been paid. */
  refusedCode: string | null;
  terminal: { status: TerminalStatus; error: TaskError | null; outputs: number } | null;
  /** Verified outputs by index; a later record for the same index replaces an earlier one. */
  outputs: RecordedOutput[];
  /** DELETE answered: the task is gone at the API even though no terminal state was seen. */
  cancelled: boolean;
  /** Succeeded, but its output left the disk and the provider no longer has the task: rendered again. */
  lost: string | null;
}

export interface KeyState {
  key: string;
  pair: string;
  params: Record<string, ParamValue>;
  request: RequestBody;
  output: string;
  /** attempts[i].attempt === i + 1. */
  attempts: AttemptState[];
}

export type JournalFold = Map<string, KeyState>;

/** The creation time given to a task whose creation time is not known (adopted from a manifest). */
const LONG_AGO = new Date(0).toISOString();

export function foldJournal(records: Iterable<JournalRecord>): JournalFold {
  const fold: JournalFold = new Map();
  let line = 0;
  for (const record of records) {
    line++;
    applyRecord(fold, record, line);
  }
  return fold;
}

/** Applies one record in place. `line` only serves error messages. */
export function applyRecord(fold: JournalFold, record: JournalRecord, line = 0): void {
  if (record.t === "intent") {
    const existing = fold.get(record.key);
    const state: KeyState = existing ?? {
      key: record.key,
      pair: record.pair,
      params: record.params,
      request: record.request,
      output: record.output,
      attempts: [],
    };
    // The latest intent names the key's current pair and output (a request body never changes for a key).
    state.pair = record.pair;
    state.params = record.params;
    state.output = record.output;
    const index = record.attempt - 1;
    const previous = state.attempts[index];
    const reusable = previous?.phase === "not-created" && index === state.attempts.length - 1;
    if (index !== state.attempts.length && !reusable)
      throw new JournalCorruptError(
        line,
        `intent for attempt ${record.attempt} of ${record.key} is out of order`,
      );
    state.attempts[index] = {
      attempt: record.attempt,
      phase: "intent",
      taskId: null,
      createdAt: null,
      notCreated: null,
      ambiguousMessage: null,
      refusedCode: null,
      terminal: null,
      outputs: [],
      cancelled: false,
      lost: null,
    };
    fold.set(record.key, state);
    return;
  }
  const attempt = fold.get(record.key)?.attempts[record.attempt - 1];
  if (!attempt)
    throw new JournalCorruptError(
      line,
      `${record.t} record for ${record.key} attempt ${record.attempt} has no intent`,
    );
  switch (record.t) {
    case "created":
      attempt.phase = "created";
      attempt.taskId = record.taskId;
      // An adopted task was created by an earlier run, long past the grace in which a new task may be invisible.
      attempt.createdAt = record.adopted ? LONG_AGO : record.at;
      return;
    case "not-created":
      attempt.phase = "not-created";
      attempt.notCreated = { reason: record.reason, code: record.code, message: record.message };
      return;
    case "ambiguous":
      attempt.phase = "ambiguous";
      attempt.ambiguousMessage = record.message;
      attempt.refusedCode = record.code ?? null;
      return;
    case "terminal":
      attempt.phase = "terminal";
      attempt.taskId = record.taskId;
      attempt.terminal = { status: record.status, error: record.error, outputs: record.outputs };
      return;
    case "output": {
      const output: RecordedOutput = {
        index: record.index,
        file: record.file,
        bytes: record.bytes,
        sha256: record.sha256,
        ...(record.checks && { checks: sharedChecks(fold, record.checks) }),
      };
      attempt.outputs = [...attempt.outputs.filter((o) => o.index !== record.index), output].toSorted(
        (a, b) => a.index - b.index,
      );
      return;
    }
    case "cancel":
      attempt.cancelled = true;
      return;
    case "lost":
      attempt.lost = record.message;
      return;
  }
}

/** Which key each recorded task id belongs to: one task id is one key's task, never two (see engine-submit). */
export function taskIdOwners(fold: JournalFold): Map<string, string> {
  const owners = new Map<string, string>();
  for (const state of fold.values())
    for (const attempt of state.attempts) if (attempt.taskId !== null) owners.set(attempt.taskId, state.key);
  return owners;
}

/**
 * Equal check lists of one fold are one array (never mutated): the outputs of a large job mostly pass
 * the same checks with the same values, and each list is held for the whole run.
 */
const checkLists = new WeakMap<JournalFold, Map<string, OutputCheck[]>>();

function sharedChecks(fold: JournalFold, checks: OutputCheck[]): OutputCheck[] {
  let lists = checkLists.get(fold);
  if (lists === undefined) {
    lists = new Map();
    checkLists.set(fold, lists);
  }
  const key = JSON.stringify(checks);
  const shared = lists.get(key);
  if (shared !== undefined) return shared;
  lists.set(key, checks);
  return checks;
}

export function lastAttempt(state: KeyState | undefined): AttemptState | undefined {
  return state?.attempts.at(-1);
}

/** The create's outcome is unknown: a task may exist (and be paid) that nobody has the id of. */
export function isUnknownOutcome(attempt: AttemptState): boolean {
  return attempt.phase === "intent" || attempt.phase === "ambiguous";
}

/** Creates for this key that may have been paid (an attempt the service provably refused is not one). */
export function paidAttempts(state: KeyState | undefined): AttemptState[] {
  return state?.attempts.filter((a) => a.phase !== "not-created") ?? [];
}

/** The provider stopped knowing the task (404 / task_not_exist past the grace, confirmed): it may have been paid. */
export function hasVanished(attempt: AttemptState): boolean {
  return attempt.terminal?.error?.code === "TASK_MISSING";
}

/**
 * A create with an unknown outcome, or whose task vanished at the provider, was followed by another
 * possibly paid create for the same key.
 */
export function isPossiblyChargedTwice(state: KeyState | undefined): boolean {
  const paid = paidAttempts(state);
  return paid.length >= 2 && paid.slice(0, -1).some((a) => isUnknownOutcome(a) || hasVanished(a));
}

/** A task id is known and no terminal state (nor a cancel) has been recorded: it must be polled, never resubmitted. */
export function isInFlight(attempt: AttemptState | undefined): boolean {
  return attempt?.phase === "created" && !attempt.cancelled;
}
