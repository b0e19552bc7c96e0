// The job-file layer's public face: load a job file into a plan, and the types around it.
export { loadPlan, planFromBytes, type LoadPlanOptions } from "./load.js";
export { SpecError, diagnosticJson, formatDiagnostic } from "./diagnostics.js";
export { DEFAULT_MAX_TASKS } from "./count.js";
export { requestBodyProblems, jobSchema, JOB_SCHEMA_URL } from "./schema.js";
export { isLoopbackHost, MAX_URL_LENGTH } from "./uris.js";
export type {
  BudgetSpec,
  Diagnostic,
  PlanAsset,
  ExcludeEffect,
  IncludeEffect,
  JobFile,
  LoadedPlan,
  ParamValue,
  Plan,
  PlanReport,
  RequestBody,
  SourceLocation,
  TaskPlan,
} from "./types.js";
