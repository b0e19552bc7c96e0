// Ctrl-C and SIGTERM through the injected process port, shared by the serving commands and a run.
import type { InterruptSignal } from "./interrupts.js";
import type { CliIo, ProcessPort } from "./io.js";

const STOP_SIGNALS: readonly InterruptSignal[] = ["SIGINT", "SIGTERM"];

/** Calls `listener` on every SIGINT and SIGTERM until the function it returns is called. */
export function onStopSignals(
  port: Pick<ProcessPort, "on" | "off">,
  listener: (signal: InterruptSignal) => void,
): () => void {
  const handlers = STOP_SIGNALS.map((signal) => [signal, () => listener(signal)] as const);
  for (const [signal, handler] of handlers) port.on(signal, handler);
  return () => {
    for (const [signal, handler] of handlers) port.off(signal, handler);
  };
}

/** Resolves with the first SIGINT or SIGTERM, and stops listening for either. */
export function firstStopSignal(port: Pick<ProcessPort, "on" | "off">): Promise<InterruptSignal> {
  return new Promise((resolve) => {
    const remove = onStopSignals(port, (signal) => {
      remove();
      resolve(signal);
    });
  });
}

/** The port a serving command waits on; checked before it starts serving, not once it listens. */
export function servingPort(io: CliIo, command: string): ProcessPort {
  // Without a port nothing could ever stop the server: an embedding bug, reported as one.
  if (io.process === undefined)
    throw new Error(`${command} serves until Ctrl-C: its CliIo needs a process port`);
  return io.process;
}
