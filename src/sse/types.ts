/**
 * What the SSE parser (parser.ts) gives and takes: the events it dispatches, the
 * callbacks it calls and its bounds.
 */

/** One dispatched event. */
export interface SseEvent {
  /** The `event:` field value, '' when absent. */
  event: string;
  /** The `data:` lines joined with '\n' ('' when there were none but an `error:` field was seen). */
  data: string;
  /** The non-standard `error:` field lines (llama.cpp sends `error: {...}` instead of `data:`), joined with '\n'; undefined when absent. */
  error: string | undefined;
  /** The last `id:` field value seen in this event (since the previous dispatch), undefined if none. */
  id: string | undefined;
}

/** Callbacks of an `SseParser`; all are called synchronously from `push()`/`end()`. */
export interface SseHandlers {
  /** A complete event: its blank line arrived, or input ended with it pending. */
  onEvent(event: SseEvent): void;
  /** A comment line (starts with ':'), text after the colon with one leading space stripped. Keepalives. */
  onComment?(comment: string): void;
  /** A valid `retry:` field (digits only). */
  onRetry?(ms: number): void;
  /**
   * Optional fast path, tried before {@link onEvent} for the commonest event: exactly
   * one `data:` line, no `event:` and no `error:` field, whose bytes lie inside one
   * pushed chunk. Gets the raw value bytes `line[start, end)` (not decoded) at dispatch
   * time; returning true means the event was handled, and `onEvent` is not called.
   * Returning false falls back to `onEvent` with the event decoded as usual. The
   * bytes are only valid during the call (the caller may reuse its chunks).
   */
  onEventBytes?(line: Buffer, start: number, end: number): boolean;
}

/** Bounds of an `SseParser`. */
export interface SseParserOptions {
  /** Longest line accepted, in bytes, without its line ending. Default `DEFAULT_MAX_LINE_BYTES` (limits.ts). */
  maxLineBytes?: number;
  /** Largest event (sum of its data/error lines' bytes, names and line endings included). Default `DEFAULT_MAX_EVENT_BYTES` (limits.ts). */
  maxEventBytes?: number;
}
