import { describe, expect, it } from "vitest";
import { interruptAction } from "../../src/cli/interrupts.js";

describe("what a Ctrl-C does to a run", () => {
  it("stops first, cancels on the second while the engine works, leaves on the third", () => {
    expect(interruptAction("SIGINT", 1, false)).toEqual({ kind: "stop" });
    expect(interruptAction("SIGINT", 2, false)).toEqual({ kind: "cancel" });
    expect(interruptAction("SIGINT", 3, false)).toEqual({ kind: "exit", code: 130 });
    expect(interruptAction("SIGTERM", 3, true)).toEqual({ kind: "exit", code: 143 });
  });

  it("tells a second signal after the engine ended that nothing is cancelled, naming it", () => {
    expect(interruptAction("SIGTERM", 2, true)).toEqual({
      kind: "already-ended",
      message:
        "SIGTERM again: the job's run has already ended, so nothing is cancelled; tasks still in flight stay resumable",
    });
    // The first signal stops, whenever it comes: a run between two jobs does not start the next.
    expect(interruptAction("SIGINT", 1, true)).toEqual({ kind: "stop" });
  });
});
