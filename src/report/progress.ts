// Progress on stderr. On a terminal: a listr2 live view, one line of counts per job (queued / submitted /
// running / downloading / done / failed, GETs per task, ETA) plus the last few notable events, never one
// line per task. In CI or when stderr is not a terminal: plain timestamped lines, one per state change,
// and a summary line at a fixed interval.
import type { Writable } from "node:stream";
import { Listr, ListrLogger, ProcessOutput, type ListrTaskWrapper } from "listr2";
import type { RunEvent, RunEventKind, RunEventOf, RunSnapshot } from "../run/events.js";
import { describeTask, formatDuration } from "./run-summary-text.js";

export type ProgressMode = "live" | "plain" | "silent";

export interface ProgressReporter {
  handle(event: RunEvent): void;
  /** Ends the live view (the final summary is printed after it). */
  close(): Promise<void>;
}

export interface ProgressOptions {
  stream: Writable;
  mode: ProgressMode;
  /** Plain mode: one summary line per interval (default 10 s). */
  summaryIntervalMs?: number;
  clock?: () => number;
}

/** Live on a terminal unless CI is set; plain otherwise. */
export function chooseProgressMode(stream: Writable, env: NodeJS.ProcessEnv): ProgressMode {
  const tty = (stream as Partial<NodeJS.WriteStream>).isTTY === true;
  return tty && !env.CI ? "live" : "plain";
}

export function createProgressReporter(options: ProgressOptions): ProgressReporter {
  switch (options.mode) {
    case "silent":
      return { handle: () => undefined, close: async () => undefined };
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
    const parts = [`${e.inShard === e.total ? e.total : `${e.inShard} of ${e.total}`} tasks`];
    if (e.skipped) parts.push(`${e.skipped} already done`);
    if (e.toSubmit) parts.push(`${e.toSubmit} to submit`);
    if (e.toPoll) parts.push(`${e.toPoll} in flight to poll`);
    if (e.toDownload) parts.push(`${e.toDownload} to download again`);
    if (e.held) parts.push(`${e.held} held`);
    if (e.orphans) parts.push(`${e.orphans} no longer in the job file`);
    const ambiguous = e.ambiguousResubmits
      ? `; ${e.ambiguousResubmits} ambiguous creates will be submitted again (possibly charged twice)`
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
  "download-finished": (e) => `downloaded ${e.file} (${e.bytes} bytes)`,
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
  const eta = s.etaMs === null ? "" : ` · ETA ${formatDuration(s.etaMs)}`;
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
      if (this.clock() - this.lastSummaryAt >= (this.options.summaryIntervalMs ?? 10_000)) this.summary();
      return;
    }
    if (event.kind === "run-finished" && this.lastSnapshot) this.summary();
    const line = formatEvent(event);
    if (line !== null) this.write(line);
    // A signal may be followed by a forced exit: what was said up to it must be out.
    if (event.kind === "interrupted" || event.kind === "run-finished") this.flush();
  }

  async close(): Promise<void> {
    this.flush();
  }

  private summary(): void {
    this.lastSummaryAt = this.clock();
    if (this.lastSnapshot) this.write(`progress: ${formatSnapshot(this.lastSnapshot)}`);
  }

  private write(line: string): void {
    const time = new Date(this.clock()).toISOString().slice(11, 19);
    this.pending += `${time} ${line}\n`;
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
  private running: Promise<void> | null = null;
  private task: ListrTaskWrapper<unknown, never, never> | null = null;
  private finish: (() => void) | null = null;
  private job = "";

  constructor(private readonly options: ProgressOptions) {}

  handle(event: RunEvent): void {
    if (event.kind === "run-started") {
      this.job = event.job;
      this.start(`${event.job}: ${formatEvent(event) ?? ""}`);
      return;
    }
    if (event.kind === "snapshot") {
      if (this.task) this.task.title = `${this.job}: ${formatSnapshot(event.snapshot)}`;
      return;
    }
    if (event.kind === "run-finished") {
      this.finish?.();
      return;
    }
    if (!NOTABLE.has(event.kind)) return;
    if (event.kind === "task-finished" && event.status === "SUCCEEDED") return;
    const line = formatEvent(event);
    if (line !== null && this.task) this.task.output = line;
    else if (line !== null) this.options.stream.write(line + "\n");
  }

  async close(): Promise<void> {
    this.finish?.();
    await this.running;
    this.running = null;
    this.task = null;
  }

  private start(title: string): void {
    const stream = this.options.stream as NodeJS.WriteStream;
    const done = new Promise<void>((resolve) => (this.finish = resolve));
    const logger = new ListrLogger({ processOutput: new ProcessOutput(stream, stream) });
    const listr = new Listr(
      [
        {
          title,
          task: async (_ctx, task): Promise<void> => {
            this.task = task as unknown as ListrTaskWrapper<unknown, never, never>;
            await done;
          },
          rendererOptions: { outputBar: 5, persistentOutput: true },
        },
      ],
      {
        // Everything on stderr (stdout is for --json), and live whenever stderr is a terminal: listr2
        // would otherwise fall back to line output when only stdout is redirected.
        renderer: "default",
        rendererOptions: { logger },
        fallbackRenderer: "default",
        fallbackRendererOptions: { logger },
        registerSignalListeners: false,
        exitOnError: false,
      },
    );
    this.running = listr.run().then(
      () => undefined,
      () => undefined,
    );
  }
}
