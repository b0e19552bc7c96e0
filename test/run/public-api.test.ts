import { describe, expect, it } from "vitest";
import * as actbatch from "../../src/index.js";

describe("the public API", () => {
  it("exports exactly runJob and taskKeyOf as values (everything else is types)", () => {
    expect(Object.keys(actbatch).toSorted()).toEqual(["runJob", "taskKeyOf"]);
  });
});
