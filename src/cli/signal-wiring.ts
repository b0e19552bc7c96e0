// A run's Ctrl-C and SIGTERM carried out on an injected process port, so tests can drive them with a fake.
import type { Writable } from "node:stream";
import type { Plan } from "../job/index.js";
import { quoteArg } from "../report/run-summary-text.js";
import type { RunEvent } from "../run/events.js";
import { interruptAction, type InterruptSignal } from "./interrupts.js";
import { writeLine, type ProcessPort } from "./io.js";
import { onStopSignals } from "./stop-signal.js";

export interface RunInterruptOptions {
  stderr: Writable;
  /** Where run events go on (the progress reporter); the wiring counts tasks in flight on the way. */
  report(event: RunEvent): void;
  /** --simulate, --provider and --base-url as given: a first signal's resume line repeats them. */
  connectionFlags: string[];
  /** --shard, --only and --last-failed as given, for the same line. */
  shardFlags: string[];
  /** The CLI owns the process: handlers stay until it exits (see dispose). */
  keepInstalled: boolean;
}

export interface RunInterrupts {
  /** Aborted (with the signal's name as reason) by the first signal: stop submitting. */
  readonly stop: AbortSignal;
  /** Aborted by a second signal while a job's engine runs: cancel the tasks in flight. */
  readonly cancel: AbortSignal;
  /** Every run event goes through here, on to `report`. */
  emit(event: RunEvent): void;
  /** A job's engine starts: a first signal now names its tasks still rendering. */
  jobStarted(plan: Plan): void;
  /** No job's engine runs (its summary and reports are being written, or all are done). */
  jobEnded(): void;
  /** Removes the handlers, unless the CLI owns the process. */
  dispose(): void;
}

/** Answers SIGINT and SIGTERM on `port` from now on, each as interruptAction says (no port: none). */
export function wireRunInterrupts(
  port: ProcessPort | undefined,
  options: RunInterruptOptions,
): RunInterrupts {
  const stop = new AbortController();
  const cancel = new AbortController();
  // The job running now and its tasks at the service: what a first Ctrl-C says is still rendering.
  let current: { plan: Plan; inFlight: number } | null = null;
  let signals = 0;
  // Set while no job's engine runs: a second Ctrl-C is then told that nothing is cancelled, rather
  // than promised a cancel no one will carry out.
  let ended = false;
  const emit = (event: RunEvent): void => {
    if (current) current.inFlight += inFlightChange(event);
    options.report(event);
  };
  const onSignal = (signal: InterruptSignal): void => {
    const action = interruptAction(signal, ++signals, ended);
    switch (action.kind) {
      case "stop":
        emit({ kind: "interrupted", signal, cancelling: false });
        if (current)
          for (const line of stopHints(
            current.plan,
            current.inFlight,
            options.connectionFlags,
            options.shardFlags,
          ))
            writeLine(options.stderr, line);
        stop.abort(signal);
        return;
      case "cancel":
        emit({ kind: "interrupted", signal, cancelling: true });
        cancel.abort(signal);
        return;
      case "already-ended":
        writeLine(options.stderr, action.message);
        return;
      case "exit":
        port?.exit(action.code);
    }
  };
  const remove = port === undefined ? () => {} : onStopSignals(port, onSignal);
  return {
    stop: stop.signal,
    cancel: cancel.signal,
    emit,
    jobStarted(plan) {
      ended = false;
      current = { plan, inFlight: 0 };
    },
    jobEnded() {
      ended = true;
    },
    dispose() {
      // Removed, a handler leaves a signal to its default action, which would kill the process on
      // its way out (a second Ctrl-C just after the first): the CLI keeps answering until it exits.
      if (!options.keepInstalled) remove();
    },
  };
}

/** Flags as a shell would take them, each after a space. */
function asFlags(list: string[]): string {
  return list.map((flag) => ` ${quoteArg(flag)}`).join("");
}

/** What a first Ctrl-C says: what is still rendering (and paid for), and the two ways on from here. */
export function stopHints(
  plan: Plan,
  rendering: number,
  connectionFlags: string[],
  shardFlags: string[],
): string[] {
  const out = quoteArg(plan.outputDir);
  return [
    `${rendering} ${rendering === 1 ? "task is" : "tasks are"} still rendering at the service (and paid for); their ids are recorded`,
    `  to collect them later: actbatch run ${quoteArg(plan.spec.file)} --out ${out}${asFlags([...connectionFlags, ...shardFlags])}`,
    `  to cancel them at the API: press Ctrl-C again now, or later: actbatch cancel ${out}${connectionFlags.includes("--simulate") ? " --simulate" : ""}`,
  ];
}

/** How an event changes the count of this job's tasks rendering at the service (orphans included). */
function inFlightChange(event: RunEvent): number {
  switch (event.kind) {
    case "run-started":
      return event.toPoll;
    case "task-submitted":
      return 1;
    case "task-finished":
      return -1;
    case "task-cancelled":
      return event.ok ? -1 : 0;
    default:
      return 0;
  }
}
