/**
 * Failure codes a FAILED task can carry, with the human text Runway sends in `failure`.
 * null stands for a FAILED task without any code (a gateway timeout, say).
 */
export const FAILURE_TEXTS: Record<string, string> = {
  "SAFETY.INPUT.IMAGE": "The input image was flagged by content moderation.",
  "SAFETY.INPUT.VIDEO": "The input video was flagged by content moderation.",
  "SAFETY.OUTPUT.VIDEO": "The generated video was flagged by content moderation.",
  "INPUT_PREPROCESSING.SAFETY.TEXT": "The input was rejected during content moderation preprocessing.",
  "INPUT_PREPROCESSING.INTERNAL": "There was a problem performing content moderation on the input.",
  "ASSET.INVALID": "An input asset is invalid or could not be processed.",
  "INTERNAL.BAD_OUTPUT.CODE01": "The generation was rejected for quality reasons.",
  INTERNAL: "An internal error occurred.",
  "THIRD_PARTY.UNAVAILABLE": "A third-party service needed for this task is unavailable.",
};

export const DEFAULT_FAILURE_CODES: (string | null)[] = [...Object.keys(FAILURE_TEXTS), null];

/** Text of a failure without a code. */
export const UNCODED_FAILURE_TEXT = "An unexpected error occurred.";

/** Input-side failures happen soon after the render starts; the others at the end of it. */
export function failsEarly(code: string | null): boolean {
  return (
    code !== null &&
    (code.startsWith("SAFETY.INPUT") || code.startsWith("INPUT_PREPROCESSING") || code === "ASSET.INVALID")
  );
}

export function failureTextOf(code: string | null): string {
  if (code === null) return UNCODED_FAILURE_TEXT;
  return FAILURE_TEXTS[code] ?? `The task failed (${code}).`;
}
