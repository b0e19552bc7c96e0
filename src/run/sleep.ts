/**
 * The sleeps under way per signal: one abort listener per signal wakes them all, rather than a listener
 * added and removed on the signal for each of a run's tens of thousands of poll waits.
 */
const sleepers = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Waits `ms`, or less if `signal` aborts first. Resolves either way (callers check `signal.aborted`):
 * an interrupted wait is an ordinary outcome here, not an error.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const waking = signal ? sleepersOf(signal) : null;
    const done = (): void => {
      clearTimeout(timer);
      waking?.delete(done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    waking?.add(done);
  });
}

function sleepersOf(signal: AbortSignal): Set<() => void> {
  let waiting = sleepers.get(signal);
  if (waiting === undefined) {
    const all = new Set<() => void>();
    signal.addEventListener(
      "abort",
      () => {
        // Each wake removes itself; a Set's iteration goes on past deleted entries.
        for (const wake of all) wake();
      },
      { once: true },
    );
    sleepers.set(signal, all);
    waiting = all;
  }
  return waiting;
}
