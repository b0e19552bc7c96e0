import { describe, expect, it } from "vitest";
import { limitHeapGrowth } from "../../src/run/memory.js";

describe("limitHeapGrowth", () => {
  it("refuses a growth that is not a positive whole percentage", () => {
    expect(() => limitHeapGrowth(0)).toThrow(RangeError);
    expect(() => limitHeapGrowth(12.5)).toThrow(RangeError);
  });
});
