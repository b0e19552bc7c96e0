// A second interrupt cancels the tasks in flight whenever it comes, not only if it came before the
// engine finished its work: DESIGN.md section 4, "a second Ctrl-C cancels the in-flight tasks at
// the API (DELETE) before exiting".
import { afterEach, describe, expect, it } from "vitest";
import { readJournal } from "../../src/journal/writer.js";
import { createWorkspace, type Workspace } from "../e2e/harness.js";

let ws: Workspace | null = null;
afterEach(async () => {
  await ws?.close();
  ws = null;
});

describe("second interrupt", () => {
  it("arriving once the work has ended (as the final manifest is written), it still cancels every task in flight and records it", async () => {
    ws = await createWorkspace({ pairs: 1, intensities: [1, 2], concurrency: 2 });
    const stop = new AbortController();
    const cancel = new AbortController();
    let submitted = 0;
    let stopped = false;
    let cancelled = 0;
    const result = await ws.run({
      concurrency: 2,
      signal: stop.signal,
      cancelSignal: cancel.signal,
      onEvent: (event) => {
        if (event.kind === "task-cancelled") cancelled++;
        if (event.kind === "task-submitted" && ++submitted === 2) stop.abort("SIGINT");
        if (event.kind === "submission-stopped") stopped = true;
        // The snapshot that follows the stop: the shutdown is under way (or done).
        if (event.kind === "snapshot" && stopped && !cancel.signal.aborted) cancel.abort("SIGINT");
      },
    });
    expect(cancel.signal.aborted).toBe(true);
    expect(result.exitCode).toBe(130);
    expect(ws.sim.stats().requests["DELETE /runwayml/v1/tasks/:id"]?.["204"]).toBe(2);
    const journal = await readJournal(ws.outDir);
    expect(journal.records.filter((r) => r.t === "cancel")).toHaveLength(2);
    expect(result.manifest.tasks.map((t) => t.status)).toEqual(["CANCELLED", "CANCELLED"]);
    expect(cancelled).toBe(2);
  });

  it("arriving while the tasks are being polled, it cancels them at once, each once", async () => {
    ws = await createWorkspace({ pairs: 1, intensities: [1, 2, 3], concurrency: 3 });
    const stop = new AbortController();
    const cancel = new AbortController();
    let submitted = 0;
    let cancelled = 0;
    const result = await ws.run({
      concurrency: 3,
      signal: stop.signal,
      cancelSignal: cancel.signal,
      onEvent: (event) => {
        if (event.kind === "task-cancelled") cancelled++;
        if (event.kind === "task-submitted" && ++submitted === 3) {
          stop.abort("SIGINT");
          cancel.abort("SIGINT");
        }
      },
    });
    expect(result.exitCode).toBe(130);
    expect(ws.sim.stats().requests["DELETE /runwayml/v1/tasks/:id"]?.["204"]).toBe(3);
    expect(cancelled).toBe(3);
  });

  it("arriving after the engine's work has ended, it is reported as not handled, and a run given both signals cancels what is in flight without submitting", async () => {
    ws = await createWorkspace({ pairs: 1, intensities: [1, 2, 3], concurrency: 3 });
    const stop = new AbortController();
    const cancel = new AbortController();
    let submitted = 0;
    const options = {
      concurrency: 3,
      signal: stop.signal,
      cancelSignal: cancel.signal,
      onEvent: (event: { kind: string }) => {
        if (event.kind === "task-submitted" && ++submitted === 3) stop.abort("SIGINT");
      },
    };
    const first = await ws.run(options);
    expect(first.exitCode).toBe(130);
    // The second Ctrl-C comes now, once that run has returned: it acted on nothing.
    cancel.abort("SIGINT");
    expect(first.cancelHandled).toBe(false);
    const creates = ws.sim.stats().creates;
    const again = await ws.run({ ...options, preflight: false });
    expect(again.cancelHandled).toBe(true);
    expect(ws.sim.stats().creates).toBe(creates);
    expect(ws.sim.stats().requests["DELETE /runwayml/v1/tasks/:id"]?.["204"]).toBe(3);
    expect(again.manifest.tasks.map((t) => t.status)).toEqual(["CANCELLED", "CANCELLED", "CANCELLED"]);
  });
});
