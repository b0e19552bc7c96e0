// Progress on stderr. On a terminal: a live view (live-view.ts), the job's counts and one row per
// pair plus the last few notable events, never one line per task. In CI, when stderr is not a
// terminal, or on a terminal that cannot redraw (TERM=dumb): plain timestamped lines, one per state
// change, and a summary line at a fixed interval. `--progress live|plain|none` chooses; `--quiet`
// shows nothing but what went wrong. On a terminal no line is wider than it.
import type { Writable } from "node:stream";
import type { RunEvent, RunEventKind, RunEventOf, RunSnapshot } from "../run/events.js";
import { fitLines } from "./fit-lines.js";
import { formatEta } from "./live-text.js";
import { JobView } from "./live-view.js";
import { describeTask, formatDuration } from "./run-summary-text.js";
import { plural } from "./words.js";

export type ProgressMode = "live" | "plain" | "silent";

/** What `--progress` accepts. */
export const PROGRESS_CHOICES = ["live", "plain", "none"] as const;
export type ProgressChoice = (typeof PROGRESS_CHOICES)[number];

export interface ProgressReporter {
  handle(event: RunEvent): void;
  /** Ends the live view (the final summary is printed after it). */
  close(): Promise<void>;
  /**
   * Prints a job's summary after its progress: fitted to the terminal's width; under `quiet`, only
   * when the run did not succeed (exit code not 0).
   */
  summary(lines: readonly string[], exitCode: number): void;
}

export interface ProgressOptions {
  stream: Writable;
  mode: ProgressMode;
  /** Nothing but what went wrong: no progress, and a summary only when the run did not succeed. */
  quiet?: boolean;
  /** Colours in the live view (see `useColor`). */
  color?: boolean;
  /** Live mode: spinners, redrawn on a timer (default); false draws on events only (tests). */
  animate?: boolean;
  /** Plain mode: one summary line per interval (default 10 s). */
  summaryIntervalMs?: number;
  clock?: () => number;
}

/**
 * The flag's choice when given (none: silent); else live on a terminal that can redraw unless CI is
 * set, plain otherwise.
 */
export function chooseProgressMode(
  stream: Writable,
  env: NodeJS.ProcessEnv,
  choice?: ProgressChoice,
): ProgressMode {
  if (choice === "none") return "silent";
  if (choice !== undefined) return choice;
  const tty = (stream as Partial<NodeJS.WriteStream>).isTTY === true;
  return tty && !env.CI && env.TERM !== "dumb" ? "live" : "plain";
}

/** Colours on a terminal that has them, unless NO_COLOR is set (https://no-color.org). */
export function useColor(stream: Writable, env: NodeJS.ProcessEnv): boolean {
  const tty = (stream as Partial<NodeJS.WriteStream>).isTTY === true;
  return tty && env.TERM !== "dumb" && (env.NO_COLOR ?? "") === "";
}

export function createProgressReporter(options: ProgressOptions): ProgressReporter {
  const mode = options.quiet ? "silent" : options.mode;
  switch (mode) {
    case "silent":
      return {
        handle: () => undefined,
        close: async () => undefined,
        summary: (lines, exitCode) => {
          if (!options.quiet || exitCode !== 0) writeFitted(options.stream, lines);
        },
      };
    case "plain":
      return new PlainReporter(options);
    case "live":
      return new LiveReporter(options);
  }
}

type Formatter<K extends RunEventKind> = (event: RunEventOf<K>) => string | null;

/** One line per event (null: nothing to say in a log). Exhaustive: a new event kind must be given a line. */
const formatters: { [K in RunEventKind]: Formatter<K> } = {
  "run-started": (e) => {
    const parts = [
      e.inShard === e.total ? plural(e.total, "task") : `${e.inShard} of ${plural(e.total, "task")}`,
    ];
    if (e.skipped) parts.push(`${e.skipped} already done`);
    if (e.toSubmit) parts.push(`${e.toSubmit} to submit`);
    if (e.toPoll) parts.push(`${e.toPoll} in flight to poll`);
    if (e.toDownload) parts.push(`${e.toDownload} to download again`);
    if (e.held) parts.push(`${e.held} held`);
    if (e.orphans) parts.push(`${e.orphans} no longer in the job file`);
    const ambiguous = e.ambiguousResubmits
      ? `; ${plural(e.ambiguousResubmits, "ambiguous create")} will be submitted again (possibly charged twice)`
      : "";
    return `started: ${parts.join(", ")}; concurrency ${e.concurrency}; output ${e.outputDir}${ambiguous}`;
  },
  "task-submitted": (e) =>
    `submitted ${describeTask(e.task)} as ${e.taskId}${e.attempt > 1 ? ` (attempt ${e.attempt})` : ""}`,
  "task-not-created": (e) => `not created ${describeTask(e.task)}: ${e.outcome}: ${e.message}`,
  "task-ambiguous": (e) =>
    `ambiguous create ${describeTask(e.task)} (${e.message}): ${e.resubmitting ? "submitting again (possibly charged twice)" : "held"}`,
  "task-state": (e) =>
    `${e.status.toLowerCase()} ${describeTask(e.task)}${e.progress !== null ? ` ${Math.round(e.progress * 100)}%` : ""}`,
  "task-finished": (e) =>
    e.status === "FAILED"
      ? `failed ${describeTask(e.task)}: ${e.error?.code ?? "FAILED"}: ${e.error?.message ?? ""}${e.retrying ? " (submitting again)" : ""}`
      : `${e.status.toLowerCase()} ${describeTask(e.task)}`,
  "task-unanswered": (e) =>
    e.leftInFlight
      ? `left in flight ${describeTask(e.task)} (${e.taskId}): ${e.message}; a rerun polls it again`
      : `no valid answer for ${describeTask(e.task)} (${e.taskId}): ${e.message}; still polling`,
  "download-finished": (e) => `downloaded ${e.file} (${plural(e.bytes, "byte")})`,
  "download-failed": (e) => `download failed ${e.file}: ${e.message}`,
  "task-cancelled": (e) =>
    e.ok
      ? `cancelled ${describeTask(e.task)} (${e.taskId})`
      : `could not cancel ${e.taskId}: ${e.message ?? "unknown"}`,
  "submission-stopped": (e) => e.message,
  interrupted: (e) =>
    e.cancelling
      ? `${e.signal} again: cancelling the tasks in flight`
      : `${e.signal}: stopping; recording the tasks in flight (press Ctrl-C again to cancel them at the API)`,
  note: (e) => e.message,
  snapshot: () => null,
  "run-finished": () => null,
};

export function formatEvent(event: RunEvent): string | null {
  return (formatters[event.kind] as Formatter<typeof event.kind>)(event as never);
}

export function formatSnapshot(s: RunSnapshot): string {
  const p = s.phases;
  const parts = [
    `${p.queued} queued`,
    `${p.submitting + p.pending} submitted`,
    `${p.running} running`,
    `${p.downloading} downloading`,
    `${p.succeeded} done`,
    `${p.failed} failed`,
  ];
  if (p.held) parts.push(`${p.held} held`);
  if (p["not-submitted"]) parts.push(`${p["not-submitted"]} not submitted`);
  const gets = s.getsPerTask === null ? "" : ` · ${s.getsPerTask.toFixed(1)} GETs/task`;
  const left = formatEta(s.etaMs);
  const eta = left === null ? "" : ` · ETA ${left}`;
  return `${parts.join(" · ")}${gets} · ${formatDuration(s.elapsedMs)}${eta}`;
}

/** Plain mode: lines are written at most this long after their event (and at once on close or an interrupt). */
const PLAIN_FLUSH_MS = 100;
/** Plain mode: a buffer this big is written at once. */
const PLAIN_FLUSH_BYTES = 64 * 1024;

class PlainReporter implements ProgressReporter {
  private lastSummaryAt: number;
  private lastSnapshot: RunSnapshot | null = null;
  private readonly clock: () => number;
  /**
   * Lines not yet written. A large job makes several lines per task, and each write to a pipe is a
   * system call: lines are collected for a moment and written together (each keeps its own time).
   */
  private pending = "";
  private flushTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: ProgressOptions) {
    this.clock = options.clock ?? Date.now;
    this.lastSummaryAt = this.clock();
  }

  handle(event: RunEvent): void {
    if (event.kind === "snapshot") {
      this.lastSnapshot = event.snapshot;
      if (this.clock() - this.lastSummaryAt >= (this.options.summaryIntervalMs ?? 10_000))
        this.progressLine();
      return;
    }
    if (event.kind === "run-finished" && this.lastSnapshot) this.progressLine();
    const line = formatEvent(event);
    if (line !== null) this.write(line);
    // A signal may be followed by a forced exit: what was said up to it must be out.
    if (event.kind === "interrupted" || event.kind === "run-finished") this.flush();
  }

  async close(): Promise<void> {
    this.flush();
  }

  summary(lines: readonly string[]): void {
    this.flush();
    writeFitted(this.options.stream, lines);
  }

  private progressLine(): void {
    this.lastSummaryAt = this.clock();
    if (this.lastSnapshot) this.write(`progress: ${formatSnapshot(this.lastSnapshot)}`);
  }

  private write(line: string): void {
    const time = new Date(this.clock()).toISOString().slice(11, 19);
    // On a terminal (TERM=dumb, --progress plain) long lines are wrapped here, not by the terminal.
    const columns = terminalColumns(this.options.stream);
    const stamped = `${time} ${line}`;
    this.pending += (columns === null ? [stamped] : fitLines([stamped], columns))
      .map((l) => `${l}\n`)
      .join("");
    if (this.pending.length >= PLAIN_FLUSH_BYTES) this.flush();
    else this.flushTimer ??= setTimeout(() => this.flush(), PLAIN_FLUSH_MS);
  }

  private flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (this.pending === "") return;
    const text = this.pending;
    this.pending = "";
    this.options.stream.write(text);
  }
}

/** Kinds worth keeping under the live counts (a few lines, the latest last). */
const NOTABLE = new Set<RunEventKind>([
  "task-finished",
  "task-not-created",
  "task-ambiguous",
  "task-unanswered",
  "download-failed",
  "task-cancelled",
  "submission-stopped",
  "interrupted",
  "note",
]);

class LiveReporter implements ProgressReporter {
  private view: JobView | null = null;

  constructor(private readonly options: ProgressOptions) {}

  handle(event: RunEvent): void {
    switch (event.kind) {
      case "run-started":
        this.view = new JobView(event.job, formatEvent(event) ?? "", {
          stream: this.options.stream,
          color: this.options.color ?? false,
          animate: this.options.animate,
        });
        return;
      case "snapshot":
        this.view?.update(event.snapshot);
        return;
      case "run-finished":
        this.view?.finish(event.exitCode);
        return;
      default:
        break;
    }
    if (!NOTABLE.has(event.kind)) return;
    if (event.kind === "task-finished" && event.status === "SUCCEEDED") return;
    const line = formatEvent(event);
    if (line === null) return;
    // Before the view starts (the cost, the preflight): lines that stay, fitted to the terminal.
    if (this.view) this.view.note(line);
    else writeFitted(this.options.stream, [line]);
  }

  async close(): Promise<void> {
    const view = this.view;
    this.view = null;
    view?.finish(null);
    await view?.drawn;
  }

  summary(lines: readonly string[], exitCode: number): void {
    if (this.options.quiet && exitCode === 0) return;
    writeFitted(this.options.stream, lines);
  }
}

/** Lines on the stream, fitted to its width when it is a terminal (log files keep them whole). */
function writeFitted(stream: Writable, lines: readonly string[]): void {
  const columns = terminalColumns(stream);
  const fitted = columns === null ? lines : fitLines(lines, columns);
  if (fitted.length > 0) stream.write(fitted.map((line) => `${line}\n`).join(""));
}

function terminalColumns(stream: Writable): number | null {
  const tty = stream as Partial<NodeJS.WriteStream>;
  return tty.isTTY === true && typeof tty.columns === "number" && tty.columns > 0 ? tty.columns : null;
}
