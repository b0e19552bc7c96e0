// Manifest records normalised: copies with their fields in file order and their lists in a stable
// order, so that the same records give the same bytes whatever order they were built in.
import {
  ATTEMPT_FIELDS,
  CHECK_FIELDS,
  CONTENT_MODERATION_FIELDS,
  ERROR_FIELDS,
  MEDIA_REF_FIELDS,
  OUTPUT_FIELDS,
  REQUEST_FIELDS,
  TASK_FIELDS,
  pickFields,
} from "./fields.js";
import type { ManifestAttempt, ManifestError, ManifestOutput, ManifestTask } from "./types.js";

export function normaliseTask(task: ManifestTask): ManifestTask {
  const ordered = orderTask(task);
  // orderTask's lists are its own copies: sorted in place.
  ordered.outputs.sort((a, b) => compareStrings(a.file, b.file));
  ordered.history.sort((a, b) => a.attempt - b.attempt);
  return ordered;
}

export function orderTask(task: ManifestTask): ManifestTask {
  return {
    ...pickFields(task, TASK_FIELDS),
    params: Object.fromEntries(Object.entries(task.params).toSorted(([a], [b]) => compareStrings(a, b))),
    request: {
      ...pickFields(task.request, REQUEST_FIELDS),
      character: pickFields(task.request.character, MEDIA_REF_FIELDS),
      reference: pickFields(task.request.reference, MEDIA_REF_FIELDS),
      contentModeration: pickFields(task.request.contentModeration, CONTENT_MODERATION_FIELDS),
    },
    outputs: task.outputs.map(orderOutput),
    error: orderError(task.error),
    history: task.history.map(orderAttempt),
  };
}

function orderOutput(output: ManifestOutput): ManifestOutput {
  const ordered = pickFields(output, OUTPUT_FIELDS);
  if (output.checks) ordered.checks = output.checks.map((check) => pickFields(check, CHECK_FIELDS));
  return ordered;
}

function orderAttempt(attempt: ManifestAttempt): ManifestAttempt {
  return { ...pickFields(attempt, ATTEMPT_FIELDS), error: orderError(attempt.error) };
}

function orderError(error: ManifestError | null): ManifestError | null {
  return error === null ? null : pickFields(error, ERROR_FIELDS);
}

/** Code-unit order, independent of the locale the run happens to use. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
