// The programmatic API. Kept small on purpose: every export here is a promise to users.
export type { Plan, TaskPlan, RequestBody } from "./spec/types.js";
export { taskKeyOf } from "./canonical.js";
