// A terminal of a set size for tests of what a person sees: it is a TTY stream (isTTY, columns,
// rows) that plays the cursor movements and erasures a live view writes onto a screen, and records
// every line that ran past the right edge (a real terminal would break it there, mid-word).
import { Writable } from "node:stream";

export class FakeTerminal extends Writable {
  readonly isTTY = true;
  /** Everything written, escapes and all. */
  raw = "";
  /** The lines as they stand, scrollback included (the view's earlier frames are erased from it). */
  private lines: string[] = [""];
  private row = 0;
  private col = 0;
  /** Lines written past the right edge, as they were when they overflowed. */
  readonly overflows: string[] = [];

  constructor(
    readonly columns = 80,
    readonly rows = 30,
  ) {
    super({ decodeStrings: false });
  }

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: () => void): void {
    const text = chunk.toString();
    this.raw += text;
    this.play(text);
    done();
  }

  /** The screen and scrollback as plain text, trailing blank lines dropped. */
  screen(): string[] {
    const lines = this.lines.map((line) => line.trimEnd());
    while (lines.length > 0 && lines.at(-1) === "") lines.pop();
    return lines;
  }

  /** Whether any colour (SGR) code was written. */
  hasColour(): boolean {
    // oxlint-disable-next-line no-control-regex -- the escape character is what is looked for
    return /\u001b\[[0-9;]*m/.test(this.raw);
  }

  private play(text: string): void {
    // oxlint-disable-next-line no-control-regex -- terminal escapes
    const tokens = text.match(/\u001b\[[?]?[0-9;]*[A-Za-z]|[\s\S]/gu) ?? [];
    for (const token of tokens) {
      if (token.startsWith("\u001b[")) this.escape(token);
      else if (token === "\n") this.move(this.row + 1, 0);
      else if (token === "\r") this.col = 0;
      else this.put(token);
    }
  }

  private escape(token: string): void {
    const kind = token.at(-1);
    const n = Number(/\d+/.exec(token)?.[0] ?? "1");
    if (token.startsWith("\u001b[?") || kind === "m") return;
    if (kind === "A") this.move(Math.max(0, this.row - n), this.col);
    else if (kind === "B") this.move(this.row + n, this.col);
    else if (kind === "G") this.col = Math.max(0, n - 1);
    else if (kind === "K") {
      const line = [...(this.lines[this.row] ?? "")];
      this.lines[this.row] = token === "\u001b[2K" ? "" : line.slice(0, this.col).join("");
    }
  }

  private move(row: number, col: number): void {
    while (this.lines.length <= row) this.lines.push("");
    this.row = row;
    this.col = col;
  }

  private put(char: string): void {
    const line = [...(this.lines[this.row] ?? "")];
    while (line.length < this.col) line.push(" ");
    line[this.col] = char;
    this.lines[this.row] = line.join("");
    this.col++;
    if (this.col === this.columns + 1) this.overflows.push(this.lines[this.row] ?? "");
  }
}
