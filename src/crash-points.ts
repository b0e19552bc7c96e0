// Test-only fault injection for the crash suites: ACTBATCH_CRASH_AT=<point>[@<n>] makes the process
// SIGKILL itself the n-th time (default 1st) it reaches the named point, so a test can prove that a
// kill at that exact moment loses nothing. Unset in normal use: the check is one comparison.

/** The named points, in the order a task passes them. */
export const CRASH_POINTS = [
  "after-intent", // the intent to create is on disk; the POST has not left
  "after-create-response", // the service answered with a task id; it is not on disk yet
  "after-created-record", // the task id is on disk
  "mid-download", // part of an output is in the temporary file
  "before-rename", // an output is complete and verified in its temporary file
  "mid-manifest", // the manifest's temporary file is half written
] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

const hits = new Map<CrashPoint, number>();

/** Read once: a test sets it in the environment of the process it starts, and it is on every hot path. */
const setting = process.env.ACTBATCH_CRASH_AT;
const [name, nth] = setting ? setting.split("@") : [];

export function crashPoint(point: CrashPoint): void {
  if (!setting || name !== point) return;
  const count = (hits.get(point) ?? 0) + 1;
  hits.set(point, count);
  if (count === Number(nth ?? "1")) process.kill(process.pid, "SIGKILL");
}
