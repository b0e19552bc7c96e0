// The programmatic API. Kept small on purpose: every export here is a promise to users.
export type { Plan, TaskPlan, RequestBody } from "./spec/types.js";
export { taskKeyOf } from "./canonical.js";
export { runJob, type RunJobOptions, type RunJobResult, type SimulateSettings } from "./run/run-job.js";
export type { Shard } from "./run/shard.js";
export type { RunSummary } from "./report/summary.js";
export type { RunEvent } from "./report/events.js";
export type { Manifest, ManifestTask } from "./manifest/types.js";
