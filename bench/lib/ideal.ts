// The makespan of a perfect scheduler, computed from the render times the simulator actually drew.
//
// "Perfect" means: the renders are packed onto the account's C slots with no gap between one render
// and the next and zero detection lag. Finding the optimal packing is NP-hard (P||Cmax), so two
// numbers are kept:
//   - lowerBound = max(sum / C, longest render): no schedule can beat it;
//   - lpt: the makespan of Longest-Processing-Time-first list scheduling, an achievable schedule
//     (within 4/3 of optimal in theory, within a fraction of a percent of lowerBound for
//     hundreds of lognormal renders on 16 slots).
// The benchmarks use `lpt` as "ideal": it is a schedule that exists, so makespan / ideal >= 1 is a
// fair bar, and it differs from the bound only when a few long renders dominate a small N.

import { max, sum } from "./stats.ts";

export interface IdealMakespan {
  lowerBound: number;
  lpt: number;
  slots: number;
  tasks: number;
}

export function idealMakespan(renderTimes: readonly number[], slots: number): IdealMakespan {
  if (!Number.isInteger(slots) || slots < 1)
    throw new RangeError(`slots must be a positive integer, got ${slots}`);
  if (renderTimes.length === 0) return { lowerBound: 0, lpt: 0, slots, tasks: 0 };
  const lowerBound = Math.max(sum(renderTimes) / slots, max(renderTimes));
  return { lowerBound, lpt: lptMakespan(renderTimes, slots), slots, tasks: renderTimes.length };
}

function lptMakespan(renderTimes: readonly number[], slots: number): number {
  const loads = new SlotHeap(Math.min(slots, renderTimes.length));
  for (const render of renderTimes.toSorted((a, b) => b - a)) loads.addToLightest(render);
  return loads.heaviest();
}

/** A binary min-heap of slot loads: the next render goes to the slot that frees first. */
class SlotHeap {
  private readonly loads: number[];

  constructor(slots: number) {
    this.loads = Array.from({ length: slots }, () => 0);
  }

  addToLightest(duration: number): void {
    const loads = this.loads;
    loads[0] = (loads[0] ?? 0) + duration;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      const right = left + 1;
      let smallest = index;
      if (left < loads.length && (loads[left] ?? 0) < (loads[smallest] ?? 0)) smallest = left;
      if (right < loads.length && (loads[right] ?? 0) < (loads[smallest] ?? 0)) smallest = right;
      if (smallest === index) return;
      const swap = loads[index] ?? 0;
      loads[index] = loads[smallest] ?? 0;
      loads[smallest] = swap;
      index = smallest;
    }
  }

  heaviest(): number {
    return max(this.loads);
  }
}
