// Children of a benchmark run in their own process groups (so a timeout can kill a command together
// with the process it wraps, e.g. /usr/bin/time and node). They are tracked here so that a benchmark
// that stops early, by an exception or Ctrl-C, leaves no simulator or runner behind.

const groups = new Set<number>();
let hooked = false;

export function trackGroup(pid: number): void {
  groups.add(pid);
  if (hooked) return;
  hooked = true;
  process.on("exit", killAllGroups);
  for (const signal of ["SIGINT", "SIGTERM"] as const)
    process.once(signal, () => {
      killAllGroups();
      process.exit(signal === "SIGINT" ? 130 : 143);
    });
}

export function untrackGroup(pid: number): void {
  groups.delete(pid);
}

export function killGroup(pid: number, signal: NodeJS.Signals = "SIGKILL"): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

function killAllGroups(): void {
  for (const pid of groups) killGroup(pid);
  groups.clear();
}
