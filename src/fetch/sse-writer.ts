/**
 * Re-frames the events the engine accepted as SSE bytes for the SDK reading the
 * relayed body: `event:` (when named) and `data:` lines, a blank line after each.
 * Events are written into one growing buffer and taken out once per socket read,
 * so the SDK gets about as many chunks as the server sent.
 */

const DATA_PREFIX = Buffer.from('data: ');
const EVENT_PREFIX = Buffer.from('event: ');
const LF = 0x0a;
/** First size of the buffer; it doubles as needed (a socket read is at most 64 KiB). */
const INITIAL_BYTES = 16 * 1024;
/**
 * Kept between reads up to this size; a larger one (after a huge event) is dropped
 * so that a stream does not hold it for its whole life.
 */
const RETAINED_BYTES = 256 * 1024;

/** What the SDK sees as the end of a stream (written by tokenwire after the engine says complete). */
export const DONE_EVENT = 'data: [DONE]\n\n';

export class SseWriter {
  private buffer = Buffer.allocUnsafe(INITIAL_BYTES);
  private length = 0;

  /** Whether anything is waiting to be taken. */
  get pending(): boolean {
    return this.length > 0;
  }

  /** A one-line data event from its raw value bytes `line[start, end)`. */
  dataBytes(line: Buffer, start: number, end: number): void {
    this.reserve(DATA_PREFIX.length + (end - start) + 2);
    const buffer = this.buffer;
    let at = this.length;
    at += DATA_PREFIX.copy(buffer, at);
    at += line.copy(buffer, at, start, end);
    buffer[at++] = LF;
    buffer[at++] = LF;
    this.length = at;
  }

  /** An event from its decoded fields (`data` may hold several lines, joined with `\n`). */
  event(name: string, data: string): void {
    if (name !== '') this.field(EVENT_PREFIX, name);
    let from = 0;
    for (;;) {
      const newline = data.indexOf('\n', from);
      this.field(DATA_PREFIX, newline === -1 ? data.slice(from) : data.slice(from, newline));
      if (newline === -1) break;
      from = newline + 1;
    }
    this.reserve(1);
    this.buffer[this.length++] = LF;
  }

  /** The bytes written since the last take, as a new array the reader may keep. */
  take(): Uint8Array {
    const out = new Uint8Array(this.length);
    out.set(this.buffer.subarray(0, this.length));
    this.length = 0;
    if (this.buffer.length > RETAINED_BYTES) this.buffer = Buffer.allocUnsafe(INITIAL_BYTES);
    return out;
  }

  private field(prefix: Buffer, value: string): void {
    this.reserve(prefix.length + Buffer.byteLength(value) + 1);
    let at = this.length;
    at += prefix.copy(this.buffer, at);
    at += this.buffer.write(value, at, 'utf8');
    this.buffer[at++] = LF;
    this.length = at;
  }

  private reserve(bytes: number): void {
    const needed = this.length + bytes;
    if (needed <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < needed) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }
}
