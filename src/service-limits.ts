// What the service accepts, in one place (DESIGN.md section 1): the job file's checks, the asset
// preflight and the sender of local files all read these numbers.

const MB = 1024 * 1024;

/** An asset sent inline as a data: URI. */
export const MAX_DATA_URI_BYTES = { image: 5 * MB, video: 16 * MB } as const;

/** An asset the service fetches by URL. */
export const MAX_URL_ASSET_BYTES = { image: 16 * MB, video: 32 * MB } as const;

/** The reference performance's length, in seconds. */
export const REFERENCE_SECONDS = { min: 3, max: 30 } as const;

/** A file uploaded through Runway's uploads API. */
export const UPLOAD_BYTES = { min: 512, max: 200 * MB } as const;

/** A size as these limits are said: "5 MB", "16.5 MB". */
export function formatMegabytes(bytes: number): string {
  return `${Number((bytes / MB).toFixed(1))} MB`;
}
