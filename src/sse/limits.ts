/**
 * The bounds of the SSE parser and the error it throws when one is passed.
 *
 * The parser buffers at most one partial line and one pending event; these
 * limits make both finite, so a misbehaving server (or a proxy that never sends
 * a line ending) cannot make the client grow without end.
 */

const MIB = 1024 * 1024;

/**
 * Longest SSE line accepted, in bytes (without its line ending): 16 MiB.
 *
 * Why this large: a single completion chunk is one `data:` line, and with
 * `logprobs`/`top_logprobs` over a long prompt echo (or a big non-delta final
 * chunk) one line can legitimately be several MB. 16 MiB is far above anything
 * seen from real servers while still bounding memory per stream.
 */
export const DEFAULT_MAX_LINE_BYTES: number = 16 * MIB;

/**
 * Largest event accepted, in bytes: the sum of its `data:` and `error:` lines,
 * field names and line endings included (so a stream of empty `data:` lines
 * passes it too; memory follows what was received): 32 MiB.
 *
 * Why twice the line limit: an event may spread its payload over several
 * `data:` lines; two maximal lines is generous, and the bound still stops a
 * server that never sends the blank line that ends an event.
 */
export const DEFAULT_MAX_EVENT_BYTES: number = 32 * MIB;

/** Which bound an {@link SseLimitError} is about. */
export type SseLimit = 'line' | 'event';

/**
 * Thrown by `SseParser.push()`/`end()` when a line or an event is bigger than
 * the parser's limit. The parser is unusable afterwards: every later call
 * throws the same error again.
 */
export class SseLimitError extends Error {
  /** Which limit was passed. */
  readonly limit: SseLimit;
  /** The limit that was passed, in bytes. */
  readonly limitBytes: number;

  constructor(limit: SseLimit, limitBytes: number) {
    super(
      limit === 'line'
        ? `SSE line longer than the limit of ${limitBytes} bytes (maxLineBytes); raise maxLineBytes if the server legitimately sends such lines`
        : `SSE event larger than the limit of ${limitBytes} bytes of data/error lines (maxEventBytes); raise maxEventBytes if such events are legitimate`,
    );
    this.name = 'SseLimitError';
    this.limit = limit;
    this.limitBytes = limitBytes;
  }
}

/** A limit option as given (a non-negative integer of bytes), or `fallback` when not given. */
export function checkLimitOption(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(
      `SseParser option ${name} must be a non-negative integer of bytes, got ${String(value)}`,
    );
  }
  return value;
}
