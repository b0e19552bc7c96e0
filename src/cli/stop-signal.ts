// The serving commands (simulate, review) run until the first Ctrl-C or SIGTERM, then close cleanly.

/** Resolves with the first SIGINT or SIGTERM, and stops listening for either. */
export function firstStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (received: NodeJS.Signals): void => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve(received);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}
