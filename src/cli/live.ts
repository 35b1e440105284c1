/**
 * The live display: streamed content on stdout (and reasoning on stderr), a
 * status line on a terminal stderr, and notes (warnings) that never break
 * either.
 *
 * When content is written to the same terminal as the status line, the status
 * sits on the line below the content's last line: before each content write it
 * is erased (`ESC[J` from the content's end), and redrawn after with relative
 * cursor moves (relative, because the screen scrolls under absolute positions).
 * That needs the content's column, tracked here.
 */

const ESC = '\x1b[';
const CLEAR_BELOW = `${ESC}J`;
/** Status redraws on their own, for the elapsed clock while nothing arrives. */
const TICK_MS = 100;

export type Style = 'dim' | 'bold' | 'cyan' | 'yellow' | 'red' | 'green';
const STYLES: Record<Style, [string, string]> = {
  dim: ['2', '22'],
  bold: ['1', '22'],
  cyan: ['36', '39'],
  yellow: ['33', '39'],
  red: ['31', '39'],
  green: ['32', '39'],
};

/** Whether ANSI colours may be written to `stream`. */
export function colorOn(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && !env.NO_COLOR && env.TERM !== 'dumb';
}

export function paint(text: string, style: Style | undefined, on: boolean): string {
  if (!on || style === undefined || text === '') return text;
  const [open, close] = STYLES[style];
  return `${ESC}${open}m${text}${ESC}${close}m`;
}

/** Display width of one code point: 0 for combining marks and controls, 2 for wide ones. */
function charWidth(code: number): number {
  if (code < 0x20 || (code >= 0x7f && code < 0xa0)) return 0;
  if (code >= 0x300 && code < 0x370) return 0;
  if (code >= 0x200b && code <= 0x200f) return 0;
  if (code >= 0xfe00 && code <= 0xfe0f) return 0;
  if (
    (code >= 0x1100 && code <= 0x115f) ||
    (code >= 0x2e80 && code <= 0xa4cf) ||
    (code >= 0xac00 && code <= 0xd7a3) ||
    (code >= 0xf900 && code <= 0xfaff) ||
    (code >= 0xfe30 && code <= 0xfe4f) ||
    (code >= 0xff00 && code <= 0xff60) ||
    (code >= 0xffe0 && code <= 0xffe6) ||
    (code >= 0x1f300 && code <= 0x1faff) ||
    (code >= 0x20000 && code <= 0x3fffd)
  ) {
    return 2;
  }
  return 1;
}

export interface LiveOptions {
  /** Show a status line (stderr is a terminal and not --quiet). */
  status: boolean;
  /** Print notes (warnings); false with --quiet. */
  notes: boolean;
  stdout?: NodeJS.WriteStream;
  stderr?: NodeJS.WriteStream;
}

export class LiveOutput {
  private readonly stdout: NodeJS.WriteStream;
  private readonly stderr: NodeJS.WriteStream;
  private readonly statusOn: boolean;
  private readonly notesOn: boolean;
  private render: (() => string) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private shown = false;
  /** Column of the cursor after the last content written to the terminal. */
  private column = 0;
  private pendingNotes: string[] = [];
  /** Whether stdout content written to the terminal ended without a newline. */
  private stdoutMidLine = false;

  constructor(options: LiveOptions) {
    this.stdout = options.stdout ?? process.stdout;
    this.stderr = options.stderr ?? process.stderr;
    this.statusOn = options.status && this.stderr.isTTY === true;
    this.notesOn = options.notes;
  }

  /** Starts redrawing the status line from `render` (no-op without a terminal). */
  startStatus(render: () => string): void {
    if (!this.statusOn) return;
    this.render = render;
    this.draw();
    this.timer = setInterval(() => this.draw(), TICK_MS);
    this.timer.unref();
  }

  /** Writes streamed content (answer text to stdout, reasoning to stderr). */
  write(target: 'stdout' | 'stderr', text: string, style?: Style): void {
    if (text === '') return;
    const stream = target === 'stdout' ? this.stdout : this.stderr;
    const onTerminal = this.statusOn && stream.isTTY === true;
    if (!onTerminal) {
      stream.write(paint(text, style, colorOn(stream)));
      if (target === 'stdout' && stream.isTTY) this.stdoutMidLine = !text.endsWith('\n');
      return;
    }
    this.erase();
    stream.write(paint(text, style, colorOn(stream)));
    this.advance(text);
    if (target === 'stdout') this.stdoutMidLine = !text.endsWith('\n');
    this.draw();
  }

  /** A meta line on stderr (a warning, a debug record). Held back while content is mid-line. */
  note(line: string): void {
    if (!this.notesOn) return;
    if (!this.statusOn) {
      this.stderr.write(`${line}\n`);
      return;
    }
    if (this.column !== 0) {
      this.pendingNotes.push(line);
      return;
    }
    this.erase();
    this.stderr.write(`${line}\n`);
    this.draw();
  }

  /** Stops the status line and leaves the cursor at the start of a fresh line. */
  finish(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.render = undefined;
    this.erase();
    if (this.stdoutMidLine) {
      this.stdout.write('\n');
      this.stdoutMidLine = false;
      this.column = 0;
    } else if (this.column !== 0) {
      this.stderr.write('\n');
      this.column = 0;
    }
    for (const line of this.pendingNotes) this.stderr.write(`${line}\n`);
    this.pendingNotes = [];
  }

  private width(): number {
    return Math.max(20, this.stderr.columns || 80);
  }

  private advance(text: string): void {
    const width = this.width();
    for (const char of text) {
      const code = char.codePointAt(0)!;
      if (code === 0x0a || code === 0x0d) this.column = 0;
      else if (code === 0x09) this.column += 8 - (this.column % 8);
      else this.column += charWidth(code);
      // Past the right edge the terminal wrapped; only the column on the last row matters.
      if (this.column > width) this.column -= width;
    }
  }

  private erase(): void {
    if (!this.shown) return;
    this.stderr.write(this.column === 0 ? `\r${CLEAR_BELOW}` : CLEAR_BELOW);
    this.shown = false;
  }

  private draw(): void {
    if (!this.render) return;
    // At exactly the right edge the cursor waits to wrap; moving it would misplace the next character.
    if (this.column === this.width()) return;
    const line = this.render().slice(0, this.width() - 1);
    const styled = paint(line, 'dim', colorOn(this.stderr));
    if (this.column === 0) {
      this.stderr.write(`\r${CLEAR_BELOW}${styled}\r`);
    } else {
      this.stderr.write(`${CLEAR_BELOW}\n${styled}${ESC}1A${ESC}${this.column + 1}G`);
    }
    this.shown = true;
  }
}
