import { describe, expect, it } from "vitest";
import * as actbatch from "../../src/index.js";

describe("the public API", () => {
  it("exports exactly these values (everything else is types): load/validate, run, read, simulate", () => {
    expect(Object.keys(actbatch).toSorted()).toEqual([
      "SpecError",
      "UserError",
      "loadPlan",
      "readManifest",
      "runJob",
      "startSimulator",
      "taskKeyOf",
    ]);
  });
});
