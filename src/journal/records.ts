// The journal's record format: `<outputDir>/.actbatch/journal.ndjson`, one JSON object per line,
// append-only, each line fsync'd before the runner acts on it. Read by the run engine (to resume)
// and by `actbatch status`. Every record names the task key and the create attempt it belongs to.
//
//   intent       written BEFORE the create POST leaves: from here on a task may exist and be paid
//   created      the service's task id, on disk before anything else uses it
//   not-created  the service provably did not create it (rejected, unavailable, account stop)
//   ambiguous    the create's outcome is unknown (timeout after sending, reset mid-request), or its
//                answer could not be taken (`code`: an id already another key's task); a task may be paid
//   terminal     SUCCEEDED / FAILED / CANCELLED, with the error; output URLs are not kept (they expire)
//   output       a verified output file, written after it was renamed into place, with its checks
//   cancel       the task was cancelled at the API (DELETE answered) on a second Ctrl-C
//   lost         a SUCCEEDED task's output is not on disk and the provider no longer has the task: the
//                render is lost, and the key is rendered (and paid) again
//
// Attempt numbers count creates that may have been paid: an attempt that ended `not-created` is
// reused by the next intent for the same key, so attempt n is always the n-th possibly paid create.
// Each line ends with a `crc` field (CRC-32 of the line without it) so a damaged record is detected.
import { crc32 } from "node:zlib";
import type { OutputCheck } from "../media/verify-output.js";
import type { ParamValue, RequestBody } from "../job/types.js";

/** Why a task failed: the provider's failureCode, or an HTTP/actbatch code such as "HTTP_400" or "DOWNLOAD_FAILED". */
export interface TaskError {
  code: string;
  message: string;
  retryable: boolean;
}

/** One check of a rendered file against its request (media/verify-output.ts), recorded with the output. */
export type { OutputCheck };

interface RecordBase {
  key: string;
  /** 1-based create attempt for this key. */
  attempt: number;
  /** ISO time the record was written (informational; never copied into the manifest). */
  at: string;
}

export interface IntentRecord extends RecordBase {
  t: "intent";
  // What the key stands for, so the key can be reported even after it left the job file.
  pair: string;
  params: Record<string, ParamValue>;
  request: RequestBody;
  output: string;
}

export interface CreatedRecord extends RecordBase {
  t: "created";
  taskId: string;
  /** Taken from the folder's manifest (the journal had not recorded the task): created in an earlier run, when is not known. */
  adopted?: true;
}

export type NotCreatedReason = "rejected" | "unavailable" | "account-stop";

export interface NotCreatedRecord extends RecordBase {
  t: "not-created";
  reason: NotCreatedReason;
  code: string;
  message: string;
}

export interface AmbiguousRecord extends RecordBase {
  t: "ambiguous";
  message: string;
  /**
   * Set when the service answered and the answer could not be taken (DUPLICATE_TASK_ID): the task is
   * a final failure, not submitted again without --retry-failed. Absent: the outcome is just unknown.
   */
  code?: string;
}

export type TerminalStatus = "SUCCEEDED" | "FAILED" | "CANCELLED";

export interface TerminalRecord extends RecordBase {
  t: "terminal";
  taskId: string;
  status: TerminalStatus;
  error: TaskError | null;
  /** How many output URLs the service returned (the URLs themselves expire and are not kept). */
  outputs: number;
}

export interface OutputRecord extends RecordBase {
  t: "output";
  taskId: string;
  /** Position in the task's output list. */
  index: number;
  /** Relative to the output directory, POSIX separators. */
  file: string;
  bytes: number;
  sha256: string;
  /** The file's header checked against the request (absent in records written before checks existed). */
  checks?: OutputCheck[];
}

export interface CancelRecord extends RecordBase {
  t: "cancel";
  taskId: string;
}

export interface LostRecord extends RecordBase {
  t: "lost";
  taskId: string;
  message: string;
}

export type JournalRecord =
  | IntentRecord
  | CreatedRecord
  | NotCreatedRecord
  | AmbiguousRecord
  | TerminalRecord
  | OutputRecord
  | CancelRecord
  | LostRecord;

export type JournalRecordType = JournalRecord["t"];

/** A record as the runner builds it: `at` is filled in when it is appended. */
export type NewJournalRecord = JournalRecord extends infer R
  ? R extends JournalRecord
    ? Omit<R, "at">
    : never
  : never;

const RECORD_TYPES: ReadonlySet<string> = new Set<JournalRecordType>([
  "intent",
  "created",
  "not-created",
  "ambiguous",
  "terminal",
  "output",
  "cancel",
  "lost",
]);

export class JournalCorruptError extends Error {
  override readonly name = "JournalCorruptError";
  constructor(
    readonly line: number,
    detail: string,
  ) {
    super(`journal line ${line}: ${detail}`);
  }
}

const CRC_FIELD = ',"crc":"';

/** One journal line (without its newline): the record's JSON with a CRC-32 of that JSON appended as a field. */
export function encodeRecord(record: JournalRecord): string {
  const json = JSON.stringify(record);
  return `${json.slice(0, -1)}${CRC_FIELD}${crc32Hex(json)}"}`;
}

/**
 * Decodes one line. Returns null when the line is not a whole, intact record (caller decides whether
 * that is a torn tail, which is expected after kill -9, or corruption in the middle, which is not).
 */
export function decodeRecord(line: string): JournalRecord | null {
  const at = line.lastIndexOf(CRC_FIELD);
  if (at < 0 || !line.endsWith('"}')) return null;
  const crc = line.slice(at + CRC_FIELD.length, -2);
  const json = `${line.slice(0, at)}}`;
  if (crc32Hex(json) !== crc) return null;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return null;
  }
  return isRecord(value) ? value : null;
}

function isRecord(value: unknown): value is JournalRecord {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.t === "string" &&
    RECORD_TYPES.has(v.t) &&
    typeof v.key === "string" &&
    typeof v.attempt === "number" &&
    Number.isInteger(v.attempt) &&
    v.attempt >= 1
  );
}

function crc32Hex(text: string): string {
  return crc32(text).toString(16).padStart(8, "0");
}
