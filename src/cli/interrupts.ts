// What a Ctrl-C (or SIGTERM) does to a run, as a pure step: the first stops submitting, the second
// cancels the tasks in flight at the API (or, once the job's work has ended, is told that nothing is
// cancelled), a third leaves at once. signal-wiring.ts carries it out (tested here as data).

export type InterruptSignal = "SIGINT" | "SIGTERM";

export type InterruptAction =
  /** Stop submitting; keep every id; write the manifest. */
  | { kind: "stop" }
  /** Also cancel (DELETE) the tasks in flight. */
  | { kind: "cancel" }
  /** A second signal after the job's engine ended: nothing left to cancel, say so. */
  | { kind: "already-ended"; message: string }
  /** A third: leave now (the journal is consistent at every moment, as after kill -9). */
  | { kind: "exit"; code: 130 | 143 };

/**
 * @param count signals received so far, this one included
 * @param ended no job's engine is running (its summary and reports are being written, or all are done)
 */
export function interruptAction(signal: InterruptSignal, count: number, ended: boolean): InterruptAction {
  if (count === 1) return { kind: "stop" };
  if (count === 2)
    return ended
      ? {
          kind: "already-ended",
          message: `${signal} again: the job's run has already ended, so nothing is cancelled; tasks still in flight stay resumable`,
        }
      : { kind: "cancel" };
  return { kind: "exit", code: signal === "SIGTERM" ? 143 : 130 };
}
