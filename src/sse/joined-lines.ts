/**
 * The bytes an event's fields collect: one reusable, growing byte buffer per
 * multi-line field, never a string per line.
 */
import { decodeUtf8 } from '../utf8.js';

const LF = 0x0a;

/**
 * First size of the partial-line buffer; most split lines are one token chunk
 * (< 1 KiB). Below Node's pool threshold, so it is a slice of a shared slab.
 */
export const INITIAL_TAIL_BYTES = 512;

/**
 * The lines of one field of one event joined by LF, as bytes. A string per line
 * would cost a heap object each (~32 bytes even for an empty `data:` line, so a
 * server sending millions of them without a blank line grew RSS ~6x what it
 * sent); bytes cost what was received. Only events of several data lines (or
 * any `error:` line) come here: the one-line event stays on the fast path.
 */
export class JoinedLines {
  private bytes: Buffer;
  private length: number;

  constructor(first: Buffer, start: number, end: number) {
    this.bytes = Buffer.allocUnsafe(Math.max(INITIAL_TAIL_BYTES, (end - start) * 2));
    this.length = first.copy(this.bytes, 0, start, end);
  }

  /** Starts from a line already decoded (the event's first data line, kept as a string). */
  static ofText(text: string): JoinedLines {
    const bytes = Buffer.from(text, 'utf8');
    return new JoinedLines(bytes, 0, bytes.length);
  }

  /** Adds a LF and the line `[start, end)`. The caller bounds the total (maxEventBytes). */
  append(line: Buffer, start: number, end: number): void {
    const needed = this.length + 1 + (end - start);
    if (needed > this.bytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, this.bytes.length * 2));
      this.bytes.copy(grown, 0, 0, this.length);
      this.bytes = grown;
    }
    this.bytes[this.length] = LF;
    line.copy(this.bytes, this.length + 1, start, end);
    this.length = needed;
  }

  /** The joined lines as text. */
  text(): string {
    return decodeUtf8(this.bytes, 0, this.length);
  }
}
