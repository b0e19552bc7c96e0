// The live view on a terminal (listr2's default renderer, on stderr): the job's line with its counts
// and times, one row per pair with a bar and its counts (listr2 subtasks), and the latest notable
// events under the job's line. The job ends with a green ✔ when every task succeeded, a red ✖ when
// the run failed, a yellow ⚠ when it stopped or was interrupted (resumable); each row likewise.
// Every line is built to fit the terminal's width, so the terminal never breaks one.
import { stripVTControlCharacters, styleText } from "node:util";
import type { Writable } from "node:stream";
import {
  DefaultRenderer,
  Listr,
  ListrDefaultRendererLogLevels as Level,
  ListrLogger,
  ProcessOutput,
  type ListrTask,
  type ListrTaskWrapper,
  type LoggerFormat,
} from "listr2";
import type { PairPhases, RunSnapshot } from "../run/events.js";
import { fitLines } from "./fit-lines.js";
import {
  jobTitle,
  labelWidth,
  pairRow,
  pairSucceeded,
  rowEnd,
  startTitle,
  type RowEnd,
} from "./live-text.js";

export interface LiveViewOptions {
  stream: Writable;
  /** Colours on the terminal (off under NO_COLOR). */
  color: boolean;
  /** Spinners (a timer redraws the view); off in tests, which draw on events only. */
  animate?: boolean;
}

/** Rows at most: a longer list would push the job's line off the top of the terminal. */
const MAX_ROWS = 12;
/** Notable events kept under the job's line. */
const NOTE_LINES = 3;
/** listr2 draws each line as `<indent><icon> <text>` and keeps 2 columns spare. */
const ICON_AND_SPARE = 4;
const INDENT = 2;

type Wrapper = ListrTaskWrapper<unknown, typeof DefaultRenderer, typeof DefaultRenderer>;
type Task = ListrTask<unknown, typeof DefaultRenderer, typeof DefaultRenderer>;
/** How the job ended: ✔, ✖, or ⚠ (stopped, interrupted: resumable). */
type JobEnd = "succeeded" | "failed" | "stopped";

/**
 * ✔ for exit 0; ✖ when a task failed, the run failed (exit 1: a task failed or is unfinished) or the
 * view closed without the run's end (an error); ⚠ for a stop the user can resume from (interrupted,
 * an account or budget stop, a full disk).
 */
function jobEndOf(exitCode: number | null, snapshot: RunSnapshot | null): JobEnd {
  if (exitCode === 0) return "succeeded";
  if (exitCode === null || exitCode === 1 || (snapshot?.phases.failed ?? 0) > 0) return "failed";
  return "stopped";
}

/** What a run that did not succeed says first on its line, for a reader who sees no colour. */
const END_WORDS: Record<JobEnd, string> = { succeeded: "", failed: "failed: ", stopped: "stopped: " };

/** One job's view, from its run-started to its run-finished. */
export class JobView {
  /** Settles when listr2 has drawn the last frame. */
  readonly drawn: Promise<void>;
  private job: Wrapper | null = null;
  private readonly rows: Row[] = [];
  private snapshot: RunSnapshot | null = null;
  private end: JobEnd | null = null;
  private ended = false;
  /** Notes that came before listr2 ran the job's task. */
  private readonly earlyNotes: string[] = [];
  private resolvePairs!: (pairs: readonly PairPhases[]) => void;
  private readonly pairs = new Promise<readonly PairPhases[]>((resolve) => (this.resolvePairs = resolve));
  private resolveEnd!: () => void;
  private readonly endKnown = new Promise<void>((resolve) => (this.resolveEnd = resolve));

  constructor(
    private readonly name: string,
    firstLine: string,
    private readonly options: LiveViewOptions,
  ) {
    const tty = options.stream as NodeJS.WriteStream;
    const logger = new ListrLogger({ processOutput: new HeldLinesOutput(tty, () => this.columns()) });
    const style = rendererStyle(options.color);
    const rendererOptions = {
      logger,
      ...style,
      lazy: options.animate === false,
      // Rows stay on screen once the job ends: the final frame is the run at a glance.
      collapseSubtasks: false,
    };
    const listr = new Listr([this.jobTask(startTitle(name, firstLine, this.columns() - ICON_AND_SPARE))], {
      // Everything on stderr (stdout is for --json), and live whenever stderr is a terminal: listr2
      // would otherwise fall back to line output when only stdout is redirected.
      renderer: DefaultRenderer,
      rendererOptions,
      fallbackRenderer: DefaultRenderer,
      fallbackRendererOptions: rendererOptions,
      registerSignalListeners: false,
      exitOnError: false,
    });
    this.drawn = listr.run().then(
      () => undefined,
      () => undefined,
    );
  }

  update(snapshot: RunSnapshot): void {
    this.snapshot = snapshot;
    if (snapshot.pairs) this.resolvePairs(snapshot.pairs);
    this.redraw();
  }

  note(line: string): void {
    if (this.job) this.job.output = line;
    else this.earlyNotes.push(line);
  }

  /** The run ended (exit code), or the view is closed without being told (null: it failed). */
  finish(exitCode: number | null): void {
    if (this.ended) return;
    this.ended = true;
    this.end = jobEndOf(exitCode, this.snapshot);
    this.resolvePairs(this.snapshot?.pairs ?? []);
    this.redraw();
    this.finishRows();
    this.resolveEnd();
  }

  private finishRows(): void {
    for (const row of this.rows) row.finish(row.phases ? rowEnd(row.phases) : "unfinished");
  }

  private columns(): number {
    return (this.options.stream as Partial<NodeJS.WriteStream>).columns ?? 80;
  }

  private redraw(): void {
    const s = this.snapshot;
    if (!s || !this.job) return;
    const width = this.columns() - ICON_AND_SPARE;
    const prefix = this.end === null ? "" : END_WORDS[this.end];
    // Once the run has ended, time left means nothing.
    this.job.title = jobTitle(this.name, this.end === null ? s : { ...s, etaMs: null }, width, prefix);
    const rowWidth = width - INDENT;
    const shown = visibleRows(s.pairs ?? [], this.rows.length);
    const nameWidth = labelWidth(
      shown.map((row) => row.pair),
      rowWidth,
    );
    shown.forEach((row, index) => this.rows[index]?.update(row.phases, pairRow(row, rowWidth, nameWidth)));
  }

  private jobTask(title: string): Task {
    return {
      title,
      task: async (_ctx, job) => {
        this.job = job;
        for (const line of this.earlyNotes.splice(0)) this.job.output = line;
        const pairs = await this.pairs;
        const rows = visibleRows(pairs, Math.min(pairs.length, MAX_ROWS, rowsFor(this.options.stream)));
        for (const row of rows) this.rows.push(new Row(row.pair));
        this.redraw();
        if (this.ended) this.finishRows();
        // The rows run side by side, in an untitled group (drawn at the job's subtask level); the
        // finisher, after them, gives the job its end: a failure marks it ✖, a failure that does
        // not stop the list leaves it "completed with failed subtasks", which listr2 draws ⚠.
        return job.newListr(
          [
            {
              task: (_c, group) =>
                group.newListr(
                  this.rows.map((row) => row.task()),
                  { concurrent: true, exitOnError: false },
                ),
            },
            {
              task: async () => {
                // Every row may be done (all their tasks succeeded) while the run still works.
                await this.endKnown;
                if (this.end !== "succeeded") throw new Error(this.end ?? "failed");
              },
              exitOnError: () => this.end === "failed",
            },
          ],
          { exitOnError: true },
        );
      },
      rendererOptions: { outputBar: NOTE_LINES, persistentOutput: false },
      fallbackRendererOptions: { outputBar: NOTE_LINES, persistentOutput: false },
    };
  }
}

/** A pair's row: pending until its pair is done (early, when all its tasks succeeded) or the run ends. */
class Row {
  phases: PairPhases["phases"] | null = null;
  private wrapper: Wrapper | null = null;
  private title: string;
  private settle!: (end: RowEnd) => void;
  private readonly ended = new Promise<RowEnd>((resolve) => (this.settle = resolve));

  constructor(pair: string) {
    this.title = pair;
  }

  update(phases: PairPhases["phases"], title: string): void {
    this.phases = phases;
    this.title = title;
    if (this.wrapper) this.wrapper.title = title;
    if (pairSucceeded(phases)) this.settle("succeeded");
  }

  finish(end: RowEnd): void {
    this.settle(end);
  }

  task(): Task {
    return {
      title: this.title,
      task: async (_ctx, wrapper) => {
        this.wrapper = wrapper;
        this.wrapper.title = this.title;
        const end = await this.ended;
        if (end === "failed") throw new Error(this.title);
        if (end === "unfinished") this.wrapper.skip(this.title);
      },
    };
  }
}

/**
 * The rows shown: every pair when they fit, else the first ones and one more row for the rest
 * (their counts summed), so the job's line stays on screen.
 */
function visibleRows(pairs: readonly PairPhases[], limit: number): PairPhases[] {
  if (pairs.length <= limit || limit < 1) return pairs.slice(0, Math.max(0, limit));
  const shown = pairs.slice(0, limit - 1);
  const rest = pairs.slice(limit - 1);
  const phases = { ...rest[0]!.phases };
  for (const other of rest.slice(1))
    for (const [phase, n] of Object.entries(other.phases)) phases[phase as keyof typeof phases] += n;
  return [...shown, { pair: `${rest.length} more pairs`, phases }];
}

/** Rows that fit under the job's line and its notes on this terminal. */
function rowsFor(stream: Writable): number {
  const height = (stream as Partial<NodeJS.WriteStream>).rows ?? 24;
  return Math.max(1, height - NOTE_LINES - 3);
}

/** listr2's icons and colours for our states; no colour at all under NO_COLOR. */
function rendererStyle(color: boolean): {
  icon: Partial<Record<Level, string>>;
  color: Partial<Record<Level, LoggerFormat>>;
} {
  const paint =
    (format: Parameters<typeof styleText>[0]): LoggerFormat =>
    (text?: string) =>
      color ? styleText(format, String(text ?? ""), { validateStream: false }) : String(text ?? "");
  return {
    icon: {
      [Level.COMPLETED]: "✔",
      [Level.FAILED]: "✖",
      // The job: failed (its finisher stopped the list), or stopped (the finisher failed quietly).
      [Level.FAILED_WITH_FAILED_SUBTASKS]: "✖",
      [Level.COMPLETED_WITH_FAILED_SUBTASKS]: "⚠",
      // A row whose pair did not finish (skipped, in listr2's words).
      [Level.SKIPPED_WITH_COLLAPSE]: "⚠",
      [Level.SKIPPED_WITHOUT_COLLAPSE]: "⚠",
    },
    color: {
      [Level.PENDING]: paint("yellow"),
      [Level.COMPLETED]: paint("green"),
      [Level.FAILED]: paint("red"),
      [Level.FAILED_WITH_FAILED_SUBTASKS]: paint("red"),
      [Level.COMPLETED_WITH_FAILED_SUBTASKS]: paint("yellow"),
      [Level.SKIPPED_WITH_COLLAPSE]: paint("yellow"),
      [Level.SKIPPED_WITHOUT_COLLAPSE]: paint("yellow"),
      [Level.COMPLETED_WITH_FAILED_SISTER_TASKS]: paint("red"),
      [Level.RETRY]: paint("yellow"),
      [Level.ROLLING_BACK]: paint("red"),
      [Level.ROLLED_BACK]: paint("red"),
      [Level.WAITING]: paint("dim"),
      [Level.PAUSED]: paint("yellow"),
      [Level.CANCELLED]: paint("red"),
    },
  };
}

/**
 * listr2 holds what others write to the stream while it draws (a Ctrl-C's hints, say) and writes it
 * out after the last frame; here those lines are fitted to the terminal too. Cursor controls (the
 * redraws hide the cursor) are dropped, as listr2 does.
 */
class HeldLinesOutput extends ProcessOutput {
  constructor(
    private readonly tty: NodeJS.WriteStream,
    private readonly columns: () => number,
  ) {
    super(tty, tty, { dump: [] });
  }

  override release(): void {
    const held = [...this.stream.stdout.release(), ...this.stream.stderr.release()]
      .toSorted((a, b) => a.time - b.time)
      .flatMap((entry) => stripVTControlCharacters(entry.entry).replace(/\n$/, "").split("\n"))
      .filter((line) => line.trim() !== "");
    super.release();
    for (const line of fitLines(held, this.columns())) this.tty.write(`${line}\n`);
  }
}
