// actbatch's own codes in a manifest task's `error` (the provider's failure codes are kept as they are),
// shared by the engine that writes them and the commands that read them.

/** The render succeeded and its output is not on disk (yet): a rerun downloads it from the task (no new render). */
export const OUTPUT_MISSING = "OUTPUT_MISSING";

/** The render succeeded and the download failed: a rerun downloads it from the task (no new render). */
export const DOWNLOAD_FAILED = "DOWNLOAD_FAILED";

/**
 * The render succeeded and its output is larger than the run's --max-output-mb: the download stopped at
 * the limit and kept nothing. A rerun with a higher limit downloads it from the task (no new render).
 */
export const OUTPUT_TOO_LARGE = "OUTPUT_TOO_LARGE";

/**
 * The task answered SUCCEEDED with more output URLs than an Act-Two task has (more than 4): an answer
 * actbatch does not act on. Nothing was downloaded; a final failure (a resubmission is paid again).
 */
export const TOO_MANY_OUTPUTS = "TOO_MANY_OUTPUTS";

/** The render succeeded, its output was lost and the provider no longer has the task: rendered (and paid) again. */
export const OUTPUT_LOST = "OUTPUT_LOST";

/**
 * The task is still in flight (PENDING), but its GETs gave no valid answer for too long in the last run
 * (not JSON, an unknown status, no usable output URL, no answer): the message says which. A rerun polls it.
 */
export const NO_VALID_ANSWER = "NO_VALID_ANSWER";

/**
 * The create was answered with a task id this folder already records for another key: the answer is
 * not taken (the file would be the other key's render), the task fails, and the create may have been paid.
 */
export const DUPLICATE_TASK_ID = "DUPLICATE_TASK_ID";

/** Codes of a task whose create was answered, the answer refused: a final failure that may have been paid. */
export const REFUSED_ANSWER_CODES: ReadonlySet<string> = new Set([DUPLICATE_TASK_ID]);

/** The render succeeded and its download stopped on a full disk: a rerun with space downloads it from the task. */
export const DISK_FULL = "DISK_FULL";

/** Codes of a task that succeeded at the provider and whose output is to be fetched from it again. */
export const FETCH_AGAIN_CODES: ReadonlySet<string> = new Set([
  OUTPUT_MISSING,
  DOWNLOAD_FAILED,
  OUTPUT_TOO_LARGE,
  DISK_FULL,
]);
