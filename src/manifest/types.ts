// The manifest (DESIGN.md section 5): what a run produced, deterministic so it can be committed and diffed.
// Contract between the run engine (which fills ManifestTask values) and src/manifest (which orders,
// summarises, validates against schemas/manifest.schema.json and writes it atomically).
import type { OutputCheck, TaskError } from "../journal/records.js";
import type { ParamValue, RequestBody } from "../job/types.js";

/** A task's error: the provider's failure code where there is one (the journal records it as is). */
export type ManifestError = TaskError;

/** One check of a rendered file against its request (the journal records it with the output). */
export type ManifestOutputCheck = OutputCheck;

export const MANIFEST_VERSION = 1;

/**
 * A task's status in the manifest. Provider statuses where the service gave one; two of our own:
 * NOT_SUBMITTED (never sent: stopped, interrupted or held) and AMBIGUOUS (a create whose outcome is
 * unknown and that was held by --no-resubmit-ambiguous).
 */
export type ManifestTaskStatus =
  "SUCCEEDED" | "FAILED" | "CANCELLED" | "PENDING" | "THROTTLED" | "RUNNING" | "NOT_SUBMITTED" | "AMBIGUOUS";

export interface ManifestOutput {
  /** Path relative to the output directory, POSIX separators. */
  file: string;
  bytes: number;
  sha256: string;
  /** What the file's header was checked against (absent when no check ran, e.g. an older record). */
  checks?: ManifestOutputCheck[];
}

/** One earlier attempt of a task (a resubmission after a retryable failure, or an ambiguous create). */
export interface ManifestAttempt {
  attempt: number;
  /** null when the create's outcome is unknown: a task may exist that no one has the id of. */
  taskId: string | null;
  status: ManifestTaskStatus;
  error: ManifestError | null;
}

export interface ManifestTask {
  key: string;
  pair: string;
  params: Record<string, ParamValue>;
  request: RequestBody;
  taskId: string | null;
  status: ManifestTaskStatus;
  /** Create attempts made for this key, over all runs (each one possibly paid). */
  attempts: number;
  outputs: ManifestOutput[];
  error: ManifestError | null;
  /** True when a create for this key had an unknown outcome and the key was submitted again. */
  possiblyChargedTwice: boolean;
  /** Earlier attempts, oldest first; empty when the first attempt is the current one. */
  history: ManifestAttempt[];
}

export interface ManifestSummary {
  total: number;
  succeeded: number;
  failed: number;
  /** Everything else: submitted and not finished, not submitted, cancelled, ambiguous and held. */
  pending: number;
  possiblyChargedTwice: number;
}

export interface Manifest {
  version: typeof MANIFEST_VERSION;
  job: string;
  spec: { file: string; sha256: string };
  summary: ManifestSummary;
  /** In plan order. */
  tasks: ManifestTask[];
  /**
   * Tasks this output folder paid for whose keys are no longer in the job file (the spec changed).
   * Kept so that no paid task is ever dropped from the record.
   */
  orphans: ManifestTask[];
}
