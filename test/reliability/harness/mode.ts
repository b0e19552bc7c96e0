// Quick mode (inside `npm test`) or full mode (ACTBATCH_RELIABILITY=full, `npm run test:reliability`),
// the seed of every random choice (ACTBATCH_SEED replays a run), and the figures line each property prints.
import { randomBytes } from "node:crypto";

export const FULL = process.env.ACTBATCH_RELIABILITY === "full";

/** The count for this mode. */
export function count(quick: number, full: number): number {
  return FULL ? full : quick;
}

/** The suite's base seed: ACTBATCH_SEED if set, else a fresh one (always printed for replay). */
export const SEED: number = ((): number => {
  const raw = process.env.ACTBATCH_SEED;
  if (raw !== undefined && raw.trim() !== "") {
    const value = Number(raw);
    if (!Number.isSafeInteger(value) || value < 0)
      throw new Error(`ACTBATCH_SEED must be a whole number, got "${raw}"`);
    return value;
  }
  return randomBytes(4).readUInt32BE(0);
})();

/** A seeded uniform [0, 1) stream (mulberry32): the same seed gives the same kill schedule. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** A seed for one test, derived from the suite's seed and the test's name. */
export function seedFor(name: string): number {
  let hash = SEED >>> 0;
  for (const char of name) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
  return hash;
}

export function uniform(random: () => number, min: number, max: number): number {
  return min + (max - min) * random();
}

export function pick<T>(random: () => number, items: readonly T[]): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new Error("pick from an empty list");
  return item;
}

/** A fresh canary key for a run: found anywhere in output or on disk, it is a leak. */
export function canaryKey(): string {
  return `sk-canary-${randomBytes(16).toString("hex")}`;
}

/** Prints the figures line of a property (the README's Guarantees quote these) and returns it. */
export function figures(property: string, text: string): string {
  const line = `${property} [${FULL ? "full" : "quick"} mode, seed ${SEED}]: ${text}`;
  process.stdout.write(`\n${line}\n`);
  return line;
}

/** How to replay a failing iteration. */
export function replayHint(extra = ""): string {
  return `replay: ACTBATCH_SEED=${SEED}${FULL ? " ACTBATCH_RELIABILITY=full" : ""} npx vitest run test/reliability${extra ? ` (${extra})` : ""}`;
}
