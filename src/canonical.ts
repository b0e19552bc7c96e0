import { createHash } from "node:crypto";

/**
 * Canonical JSON: object keys sorted at every depth, no whitespace. Two request bodies that mean
 * the same thing serialise to the same string, whatever order their YAML keys were written in.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).toSorted())
      sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
    return sorted;
  }
  return value;
}

/** Length of a task key in hex characters: 64 bits, collision-free for any realistic job. */
export const TASK_KEY_LENGTH = 16;

/** The task key: a short sha256 digest of the canonical request body. Shared by the planner and the simulator. */
export function taskKeyOf(requestBody: unknown): string {
  return sha256Hex(canonicalJson(requestBody)).slice(0, TASK_KEY_LENGTH);
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}
