// The order in which the manifest's fields are written (DESIGN.md section 5). Each list is checked
// at compile time to name every field of its type, so a field added to src/manifest/types.ts
// without being added here fails the typecheck instead of silently vanishing from the file.
import type { MediaRef, RequestBody } from "../job/types.js";
import type {
  Manifest,
  ManifestAttempt,
  ManifestError,
  ManifestOutput,
  ManifestOutputCheck,
  ManifestSummary,
  ManifestTask,
  ManifestTaskStatus,
} from "./types.js";

type MissingKeys<T, K extends readonly PropertyKey[]> = Exclude<keyof T, K[number]>;

/** Accepts a key list only when it names every key of T (and nothing else). */
function fieldsOf<T>() {
  return <const K extends readonly (keyof T)[]>(
    keys: K & ([MissingKeys<T, K>] extends [never] ? unknown : { missing: MissingKeys<T, K> }),
  ): K => keys;
}

export const MANIFEST_FIELDS = fieldsOf<Manifest>()([
  "version",
  "job",
  "spec",
  "summary",
  "tasks",
  "orphans",
]);
export const SPEC_FIELDS = fieldsOf<Manifest["spec"]>()(["file", "sha256"]);
export const SUMMARY_FIELDS = fieldsOf<ManifestSummary>()([
  "total",
  "succeeded",
  "failed",
  "pending",
  "possiblyChargedTwice",
]);
export const TASK_FIELDS = fieldsOf<ManifestTask>()([
  "key",
  "pair",
  "params",
  "request",
  "taskId",
  "status",
  "attempts",
  "outputs",
  "error",
  "possiblyChargedTwice",
  "history",
]);
export const ATTEMPT_FIELDS = fieldsOf<ManifestAttempt>()(["attempt", "taskId", "status", "error"]);
export const ERROR_FIELDS = fieldsOf<ManifestError>()(["code", "message", "retryable"]);
export const OUTPUT_FIELDS = fieldsOf<ManifestOutput>()(["file", "bytes", "sha256", "checks"]);
export const CHECK_FIELDS = fieldsOf<ManifestOutputCheck>()(["name", "ok", "expected", "actual", "message"]);
export const REQUEST_FIELDS = fieldsOf<RequestBody>()([
  "model",
  "character",
  "reference",
  "ratio",
  "bodyControl",
  "expressionIntensity",
  "seed",
  "contentModeration",
]);
export const MEDIA_REF_FIELDS = fieldsOf<MediaRef>()(["type", "uri"]);
export const CONTENT_MODERATION_FIELDS = fieldsOf<RequestBody["contentModeration"]>()([
  "publicFigureThreshold",
]);

/** Every task status, in the order the status command lists them. */
export const MANIFEST_TASK_STATUSES = [
  "SUCCEEDED",
  "FAILED",
  "CANCELLED",
  "PENDING",
  "THROTTLED",
  "RUNNING",
  "NOT_SUBMITTED",
  "AMBIGUOUS",
] as const satisfies readonly ManifestTaskStatus[];

// Compile-time proof that the list above names every status.
const allStatusesListed: [Exclude<ManifestTaskStatus, (typeof MANIFEST_TASK_STATUSES)[number]>] extends [
  never,
]
  ? true
  : never = true;
void allStatusesListed;

/** A copy of `value` holding exactly `fields`, in that order; an optional field that is absent stays absent. */
export function pickFields<T extends object, const K extends readonly (keyof T)[]>(
  value: T,
  fields: K,
): Pick<T, K[number]> {
  const picked = {} as Pick<T, K[number]>;
  for (const field of fields) if (value[field] !== undefined) picked[field] = value[field];
  return picked;
}
