// Asset preflight: everything the service would check about an asset, checked before any task is paid for.
export {
  assertPreflightPassed,
  preflightPlan,
  probeCachePath,
  probedDurations,
  type PreflightOptions,
  type PreflightReport,
} from "./preflight.js";
export { MAX_URL_ASSET_BYTES, REFERENCE_SECONDS, type AssetProbe } from "./check-asset.js";
export { formatPreflightSummary } from "./preflight-summary-text.js";
export { gateRun, outputCheckOptions, type RunGate, type RunGateOptions } from "./gate.js";
export {
  assessOrganization,
  parseOrganization,
  type OrganizationAssessment,
  type OrganizationInfo,
} from "./organization.js";
export {
  uploadEphemeral,
  uploadOnce,
  UploadError,
  UPLOAD_LIFETIME_MS,
  type UploadFile,
  type UploadOptions,
} from "./upload-cache.js";
export {
  checkLocalFile,
  routeLocalFile,
  sniffMediaType,
  toDataUri,
  MAX_DATA_URI_FILE_BYTES,
  UPLOAD_BYTES,
  type LocalFileCheck,
  type LocalRoute,
} from "./check-local-files.js";
