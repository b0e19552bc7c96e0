// --shard I/N: split one job's tasks across N machines (CI matrix jobs) by key, deterministically:
// the same key always lands in the same shard, whatever the order or number of tasks.
import { UsageError } from "../errors.js";

export interface Shard {
  /** 1-based. */
  index: number;
  count: number;
}

export function parseShard(raw: string, usage?: string): Shard {
  const match = /^([1-9][0-9]*)\/([1-9][0-9]*)$/.exec(raw.trim());
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || index > count)
    throw new UsageError(`--shard expects I/N with 1 <= I <= N (e.g. 2/4), got "${raw}"`, usage);
  return { index, count };
}

/** Whether a task key belongs to the shard: its first 32 bits, modulo the shard count. */
export function inShard(key: string, shard: Shard): boolean {
  const bucket = Number.parseInt(key.slice(0, 8), 16);
  if (!Number.isFinite(bucket)) return shard.index === 1;
  return bucket % shard.count === shard.index - 1;
}
