/**
 * The byte-level Server-Sent Events parser: HTTP body bytes in, {@link SseEvent}s
 * out. It knows nothing of HTTP or JSON.
 *
 * It follows the WHATWG EventSource parsing rules with these deliberate
 * differences, each because real LLM servers need it:
 * - an `error:` field is collected like `data:` (llama.cpp sends in-stream
 *   errors as `error: {...}` lines) and an event with only `error:` lines is
 *   dispatched;
 * - an event still pending at end of input is dispatched by `end()` (servers
 *   close the stream without the final blank line);
 * - `id` is the last `id:` seen since the previous dispatch, not the
 *   stream-wide "last event ID" (nothing here reconnects with it);
 * - the `event` field defaults to `''`, not `'message'`.
 *
 * This is the per-token hot path: bytes stay bytes until a line is complete,
 * line endings are found with `Buffer#indexOf` (memchr), a complete line's value
 * is decoded straight from the chunk, and only a line split across chunks is
 * copied (into one reused, bounded tail buffer).
 */

import { decodeUtf8 } from '../utf8.js';
import { INITIAL_TAIL_BYTES, JoinedLines } from './joined-lines.js';
import {
  checkLimitOption,
  DEFAULT_MAX_EVENT_BYTES,
  DEFAULT_MAX_LINE_BYTES,
  SseLimitError,
} from './limits.js';

import type { SseEvent, SseHandlers, SseParserOptions } from './types.js';

export { DEFAULT_MAX_EVENT_BYTES, DEFAULT_MAX_LINE_BYTES, type SseLimit, SseLimitError } from './limits.js';
export type { SseEvent, SseHandlers, SseParserOptions } from './types.js';

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const SPACE = 0x20;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const LETTER_D = 0x64;
const LETTER_E = 0x65;
const LETTER_I = 0x69;
const LETTER_R = 0x72;
/** Any 15-digit decimal is below 2^53, so summing digit by digit stays exact. */
const MAX_EXACT_RETRY_DIGITS = 15;
const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

const FIELD_DATA = Buffer.from('data');
const FIELD_EVENT = Buffer.from('event');
const FIELD_ERROR = Buffer.from('error');
const FIELD_ID = Buffer.from('id');
const FIELD_RETRY = Buffer.from('retry');

/** The tail of a parser holding no partial line (shared: a Buffer per parser costs ~200 bytes). */
const NO_TAIL = Buffer.alloc(0);

/**
 * Where the value of field `name` starts in the line `[start, end)`, or -1 if the
 * line is not that field. The first byte was already matched by the caller.
 * A known field needs no search for the colon: it is the exact name followed by
 * ':' or by the end of the line (a colon-less line is a field with empty value).
 */
function fieldValueStart(line: Buffer, start: number, end: number, name: Buffer): number {
  const nameEnd = start + name.length;
  if (nameEnd > end) return -1;
  for (let i = 1; i < name.length; i++) {
    if (line[start + i] !== name[i]) return -1;
  }
  if (nameEnd === end) return end;
  // `dataX: ...` is an unknown field `dataX`, ignored.
  if (line[nameEnd] !== COLON) return -1;
  const valueStart = nameEnd + 1;
  // The spec strips exactly one space after the colon, no more.
  return valueStart < end && line[valueStart] === SPACE ? valueStart + 1 : valueStart;
}

/**
 * Incremental SSE parser over raw body bytes.
 *
 * @example
 * const parser = new SseParser({ onEvent: (e) => console.log(e.event, e.data) });
 * for await (const chunk of body) parser.push(chunk);
 * parser.end();
 */
export class SseParser {
  private readonly handlers: SseHandlers;
  private readonly maxLineBytes: number;
  private readonly maxEventBytes: number;

  /** Holds the start of a line whose end has not arrived yet; only `[0, tailLength)` is live. */
  private tail: Buffer = NO_TAIL;
  private tailLength = 0;
  /** The previous chunk ended with CR: a LF starting the next chunk completes that CRLF, not a new line. */
  private skipLeadingLf = false;
  /** Still inside the first bytes of the stream, where a BOM may be (possibly split across chunks). */
  private atStreamStart = true;
  /** How many bytes of a BOM matched so far at the stream start. */
  private bomMatched = 0;

  private eventType = '';
  private data = '';
  private dataLines = 0;
  /**
   * With an `onEventBytes` handler, the event's first data line when it lies inside the
   * chunk being parsed: kept as a byte range and decoded only if needed (a second data
   * line, the hook declining, or the chunk ending before the blank line). Undefined
   * when `data` holds the decoded value instead.
   */
  private rawData: Buffer | undefined = undefined;
  private rawStart = 0;
  private rawEnd = 0;
  /** The event's data lines once there are two or more (`data` and `rawData` are then unused). */
  private joinedData: JoinedLines | undefined = undefined;
  private errorLines: JoinedLines | undefined = undefined;
  private id: string | undefined = undefined;
  private eventBytes = 0;

  private seen = 0;
  private nonComment = 0;
  private ended = false;
  /** Set once a limit was passed or a handler threw: later calls fail with it. */
  private failure: Error | undefined = undefined;

  constructor(handlers: SseHandlers, options?: SseParserOptions) {
    this.handlers = handlers;
    this.maxLineBytes = checkLimitOption('maxLineBytes', options?.maxLineBytes, DEFAULT_MAX_LINE_BYTES);
    this.maxEventBytes = checkLimitOption('maxEventBytes', options?.maxEventBytes, DEFAULT_MAX_EVENT_BYTES);
  }

  /** Total bytes fed so far (including a skipped BOM). */
  get bytesSeen(): number {
    return this.seen;
  }

  /**
   * Complete field lines seen (neither comments nor blank lines). With
   * {@link pendingLineIsField}, lets a caller tell data arriving from keepalive comments.
   */
  get nonCommentLines(): number {
    return this.nonComment;
  }

  /** Whether an incomplete line is buffered and it is not a comment (data is trickling in). */
  get pendingLineIsField(): boolean {
    return this.tailLength > 0 && this.tail[0] !== COLON;
  }

  /**
   * Feeds the next body chunk (split anywhere). Calls the handlers synchronously.
   * Throws {@link SseLimitError} when a limit is passed; if a handler throws, that
   * error propagates. Either way the parser is unusable afterwards.
   */
  push(chunk: Uint8Array): void {
    this.checkUsable('push');
    const length = chunk.length;
    this.seen += length;
    if (length === 0) return;
    // One zero-copy view per chunk so the scan can use Buffer#indexOf (memchr), several
    // times faster than Uint8Array#indexOf.
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, length);
    try {
      this.parse(bytes);
    } catch (error) {
      this.fail(error);
    }
  }

  /**
   * Ends the input: a last line without its line ending is processed, and an event
   * that lacks its blank line is dispatched (servers do that; unlike the spec we do
   * not discard it). Later calls to `end()` do nothing.
   */
  end(): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.ended) return;
    this.ended = true;
    try {
      // A stream that is only a BOM prefix (EF or EF BB): those bytes were content.
      if (this.atStreamStart && this.bomMatched > 0) this.appendTail(UTF8_BOM, 0, this.bomMatched);
      if (this.tailLength > 0) this.takeTailLine();
      this.dispatch();
    } catch (error) {
      this.fail(error);
    } finally {
      this.tail = NO_TAIL;
    }
  }

  private checkUsable(method: string): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.ended) throw new Error(`SseParser.${method}() called after end()`);
  }

  private fail(error: unknown): never {
    this.failure =
      error instanceof SseLimitError
        ? error
        : new Error('SseParser is unusable: a handler threw while parsing', { cause: error });
    this.tail = NO_TAIL;
    this.tailLength = 0;
    this.rawData = undefined;
    this.joinedData = undefined;
    this.errorLines = undefined;
    throw error;
  }

  private parse(bytes: Buffer): void {
    this.scan(bytes);
    // The event's blank line is in a later chunk. Decode the pending data line now
    // rather than keep a reference to this chunk: a caller may reuse its buffer for the
    // next read (Node's sockets do not, but a Uint8Array producer may), and holding it
    // would also pin the whole chunk. This is the rare case (an event split across reads).
    if (this.rawData !== undefined) this.decodeRawData();
  }

  private decodeRawData(): void {
    this.data = decodeUtf8(this.rawData!, this.rawStart, this.rawEnd);
    this.rawData = undefined;
  }

  private scan(bytes: Buffer): void {
    const length = bytes.length;
    let pos = 0;
    if (this.atStreamStart) {
      pos = this.skipBom(bytes);
      if (pos === length) return;
    } else if (this.skipLeadingLf) {
      this.skipLeadingLf = false;
      if (bytes[0] === LF) pos = 1;
    }

    let lf = bytes.indexOf(LF, pos);
    // Most servers never send CR: after one miss per chunk the scan is LF-only.
    let cr = bytes.indexOf(CR, pos);
    for (;;) {
      let lineEnd: number;
      if (lf !== -1 && (cr === -1 || lf < cr)) lineEnd = lf;
      else if (cr !== -1) lineEnd = cr;
      else break;

      if (this.tailLength === 0) {
        if (lineEnd - pos > this.maxLineBytes) throw new SseLimitError('line', this.maxLineBytes);
        this.processLine(bytes, pos, lineEnd);
      } else {
        // The line began in an earlier chunk: complete it in the tail buffer.
        this.appendTail(bytes, pos, lineEnd);
        this.takeTailLine();
      }

      pos = lineEnd + 1;
      if (lineEnd === cr) {
        if (pos === length) {
          // A CR ending the chunk may be the first half of a CRLF split across chunks.
          this.skipLeadingLf = true;
        } else if (bytes[pos] === LF) {
          pos++;
        }
        cr = bytes.indexOf(CR, pos);
        if (lf !== -1 && lf < pos) lf = bytes.indexOf(LF, pos);
      } else {
        lf = bytes.indexOf(LF, pos);
      }
    }
    // The chunk ends inside a line: keep only that tail.
    if (pos < length) this.appendTail(bytes, pos, length);
  }

  /**
   * Skips a UTF-8 BOM at the very start of the stream, which may arrive split across
   * chunks. Returns where parsing of `bytes` starts.
   */
  private skipBom(bytes: Buffer): number {
    const heldBefore = this.bomMatched;
    let i = 0;
    while (i < bytes.length && this.bomMatched < UTF8_BOM.length && bytes[i] === UTF8_BOM[this.bomMatched]) {
      i++;
      this.bomMatched++;
    }
    if (this.bomMatched === UTF8_BOM.length) {
      this.atStreamStart = false;
      return i;
    }
    // The whole chunk is a BOM prefix so far: undecided until more bytes come.
    if (i === bytes.length) return i;
    // Not a BOM after all: the bytes matched in earlier chunks were the start of the first
    // line (they contain no line ending, so they belong in the tail); this chunk's are
    // parsed in place.
    this.atStreamStart = false;
    if (heldBefore > 0) this.appendTail(UTF8_BOM, 0, heldBefore);
    return 0;
  }

  private appendTail(bytes: Buffer, start: number, end: number): void {
    const needed = this.tailLength + (end - start);
    // Checked before copying, so a line that never ends cannot grow memory past the limit.
    if (needed > this.maxLineBytes) throw new SseLimitError('line', this.maxLineBytes);
    if (needed > this.tail.length) {
      const doubled = Math.min(Math.max(this.tail.length * 2, INITIAL_TAIL_BYTES), this.maxLineBytes);
      const grown = Buffer.allocUnsafe(Math.max(needed, doubled));
      this.tail.copy(grown, 0, 0, this.tailLength);
      this.tail = grown;
    }
    bytes.copy(this.tail, this.tailLength, start, end);
    this.tailLength = needed;
  }

  /** Processes the complete line held in the tail buffer and empties it. */
  private takeTailLine(): void {
    const line = this.tail;
    const lineLength = this.tailLength;
    this.tailLength = 0;
    // Processed before the buffer is dropped, so processLine can tell it is the tail.
    this.processLine(line, 0, lineLength);
    // Dropped once its line is done: a stream splits about one line per socket read, and
    // thousands of concurrent streams each holding a buffer between reads add up (RSS).
    if (this.tail === line) this.tail = NO_TAIL;
  }

  /** Interprets one complete line `[start, end)` of `line` (line ending excluded). */
  private processLine(line: Buffer, start: number, end: number): void {
    // Blank lines after keepalive comments are not data; field lines are.
    if (start !== end && line[start] !== COLON) this.nonComment++;
    if (start === end) {
      this.dispatch();
      return;
    }
    let valueStart: number;
    switch (line[start]) {
      case LETTER_D:
        valueStart = fieldValueStart(line, start, end, FIELD_DATA);
        if (valueStart !== -1) {
          // The whole line counts, name and line ending too: `data:` lines with empty
          // values must pass the limit as surely as long ones.
          this.countEventBytes(end - start + 1);
          if (this.dataLines === 0) {
            // The tail buffer is overwritten by the next split line: only a line inside
            // the pushed chunk can wait undecoded.
            if (this.handlers.onEventBytes !== undefined && line !== this.tail) {
              this.rawData = line;
              this.rawStart = valueStart;
              this.rawEnd = end;
            } else {
              this.data = decodeUtf8(line, valueStart, end);
            }
          } else {
            let joined = this.joinedData;
            if (joined === undefined) {
              joined =
                this.rawData !== undefined
                  ? new JoinedLines(this.rawData, this.rawStart, this.rawEnd)
                  : JoinedLines.ofText(this.data);
              this.joinedData = joined;
              this.rawData = undefined;
              this.data = '';
            }
            joined.append(line, valueStart, end);
          }
          this.dataLines++;
        }
        return;
      case LETTER_E:
        valueStart = fieldValueStart(line, start, end, FIELD_EVENT);
        if (valueStart !== -1) {
          this.eventType = decodeUtf8(line, valueStart, end);
          return;
        }
        valueStart = fieldValueStart(line, start, end, FIELD_ERROR);
        if (valueStart !== -1) {
          this.countEventBytes(end - start + 1);
          if (this.errorLines === undefined) this.errorLines = new JoinedLines(line, valueStart, end);
          else this.errorLines.append(line, valueStart, end);
        }
        return;
      case LETTER_I:
        valueStart = fieldValueStart(line, start, end, FIELD_ID);
        if (valueStart !== -1) {
          const value = decodeUtf8(line, valueStart, end);
          // The spec ignores an id containing NUL (it could not be sent back in a header).
          if (!value.includes('\0')) this.id = value;
        }
        return;
      case LETTER_R:
        valueStart = fieldValueStart(line, start, end, FIELD_RETRY);
        if (valueStart !== -1 && this.handlers.onRetry !== undefined) this.retry(line, valueStart, end);
        return;
      case COLON:
        if (this.handlers.onComment !== undefined) {
          const textStart = start + 1 < end && line[start + 1] === SPACE ? start + 2 : start + 1;
          this.handlers.onComment(decodeUtf8(line, textStart, end));
        }
        return;
      default:
        // Unknown field: ignored, as the spec says.
        return;
    }
  }

  private retry(line: Buffer, start: number, end: number): void {
    // `retry:` with no digits, or any non-digit, is ignored per spec.
    if (start === end) return;
    let ms = 0;
    for (let i = start; i < end; i++) {
      const byte = line[i];
      if (byte < DIGIT_0 || byte > DIGIT_9) return;
      ms = ms * 10 + (byte - DIGIT_0);
    }
    // Past 15 digits the running sum can round differently from a correctly rounded parse.
    if (end - start > MAX_EXACT_RETRY_DIGITS) ms = Number(line.toString('latin1', start, end));
    this.handlers.onRetry!(ms);
  }

  private countEventBytes(valueBytes: number): void {
    this.eventBytes += valueBytes;
    if (this.eventBytes > this.maxEventBytes) throw new SseLimitError('event', this.maxEventBytes);
  }

  /** A blank line (or end of input): dispatch the pending event, if it has any data or error line. */
  private dispatch(): void {
    if (this.dataLines === 0 && this.errorLines === undefined) {
      // Spec: a blank line with no data only resets the event type (id stays pending).
      this.eventType = '';
      return;
    }
    const raw = this.rawData;
    if (raw !== undefined) {
      // Only a lone data line is ever raw (a second one decodes it), and an `error:`
      // or `event:` field changes what the event means: those go the full way.
      if (this.errorLines === undefined && this.eventType === '') {
        const start = this.rawStart;
        const end = this.rawEnd;
        const id = this.id;
        // Reset before calling out, so a throwing handler cannot leave the event half-pending.
        this.rawData = undefined;
        this.dataLines = 0;
        this.id = undefined;
        this.eventBytes = 0;
        if (this.handlers.onEventBytes!(raw, start, end)) return;
        this.handlers.onEvent({ event: '', data: decodeUtf8(raw, start, end), error: undefined, id });
        return;
      }
      this.decodeRawData();
    }
    const event: SseEvent = {
      event: this.eventType,
      data: this.joinedData === undefined ? this.data : this.joinedData.text(),
      error: this.errorLines?.text(),
      id: this.id,
    };
    // Reset before calling out, so a throwing handler cannot leave the event half-pending.
    this.eventType = '';
    this.data = '';
    this.dataLines = 0;
    this.joinedData = undefined;
    this.errorLines = undefined;
    this.id = undefined;
    this.eventBytes = 0;
    this.handlers.onEvent(event);
  }
}
