import { createHash } from "node:crypto";

/**
 * A uniform draw in [0, 1) that depends only on its labels. Per-task draws use the simulator seed,
 * the task key and the attempt number, so a task behaves the same whatever order a client submits
 * it in, and a resubmitted task gets a fresh draw.
 */
export function hashUnit(...labels: (string | number)[]): number {
  const digest = createHash("sha256").update(labels.join("\u0000")).digest();
  // 48 bits is plenty of resolution and stays exact in a double.
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

/** A fast seeded stream (sfc32) for per-request draws, where hashing on every request would cost. */
export function seededStream(...labels: (string | number)[]): () => number {
  const digest = createHash("sha256").update(labels.join("\u0000")).digest();
  let a = digest.readUInt32BE(0);
  let b = digest.readUInt32BE(4);
  let c = digest.readUInt32BE(8);
  let d = digest.readUInt32BE(12);
  return () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}

/**
 * Lognormal draw with the given mean, from two uniforms (Box-Muller). sigma 0.35 puts about 90% of
 * renders of a 90 s mean between 50 s and 160 s, the spread third-party timings report for Act-Two.
 */
export function lognormal(mean: number, sigma: number, u1: number, u2: number): number {
  const z = Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
  const mu = Math.log(mean) - (sigma * sigma) / 2;
  return Math.exp(mu + sigma * z);
}
