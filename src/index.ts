// The programmatic API. Kept small on purpose: every export here is a promise to users.
export type { Plan, TaskPlan, RequestBody, LoadedPlan, PlanReport, Diagnostic } from "./job/types.js";
export { loadPlan, SpecError } from "./job/index.js";
export { UserError } from "./errors.js";
export { taskKeyOf } from "./canonical.js";
export { runJob, type RunJobOptions, type RunJobResult, type SimulateSettings } from "./simulated-run.js";
export type { Shard } from "./run/shard.js";
export type { RunSummary } from "./run/run-summary.js";
export type { RunEvent } from "./run/events.js";
export type { Manifest, ManifestTask } from "./manifest/types.js";
export { readManifest } from "./manifest/manifest.js";
export { startSimulator, type Simulator, type SimulatorOptions, type SimStats } from "./sim/index.js";
