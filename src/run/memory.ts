// The run engine's memory is mostly short-lived: every poll, journal record and checkpoint allocates
// and drops. V8 lets the heap grow to several times its live size before a full collection (up to 4x
// when collection is cheap), so a 10,000-task run whose live set is about 60 MB peaks above 400 MB
// of resident memory. A smaller growth factor collects sooner: measured on the scale bench (N =
// 10,000), peak RSS 419 -> 246 MB for about 5% more CPU.
import { setFlagsFromString } from "node:v8";

/** Heap growth after a full collection, in percent of the live size (V8's default is adaptive, 10-300). */
export const RUN_HEAP_GROWING_PERCENT = 30;

/**
 * Makes V8 collect sooner as the heap grows. Process-wide: for the CLI's own process, before a run;
 * a library embedding `runJob` should leave its host's collector alone.
 */
export function limitHeapGrowth(percent: number = RUN_HEAP_GROWING_PERCENT): void {
  if (!Number.isInteger(percent) || percent < 1)
    throw new RangeError(`percent must be a positive integer, got ${percent}`);
  setFlagsFromString(`--heap-growing-percent=${percent}`);
}
