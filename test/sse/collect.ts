/** Test helpers: run an SseParser over chunks and record every callback in order. */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type SseEvent, SseLimitError, SseParser, type SseParserOptions } from '../../src/sse/parser.js';

export type Logged =
  | ({ type: 'event' } & SseEvent)
  | { type: 'comment'; comment: string }
  | { type: 'retry'; ms: number }
  | { type: 'limit'; limit: 'line' | 'event'; limitBytes: number };

/** Feeds `chunks` then calls `end()`; a limit error is recorded as the last entry. */
export function parseChunks(chunks: readonly Uint8Array[], options?: SseParserOptions): Logged[] {
  const log: Logged[] = [];
  const parser = new SseParser(
    {
      onEvent: (event) => log.push({ type: 'event', ...event }),
      onComment: (comment) => log.push({ type: 'comment', comment }),
      onRetry: (ms) => log.push({ type: 'retry', ms }),
    },
    options,
  );
  try {
    for (const chunk of chunks) parser.push(chunk);
    parser.end();
  } catch (error) {
    if (!(error instanceof SseLimitError)) throw error;
    log.push({ type: 'limit', limit: error.limit, limitBytes: error.limitBytes });
  }
  return log;
}

/** Only the events of a log, for tests about dispatch. */
export function eventsOf(log: readonly Logged[]): SseEvent[] {
  const events: SseEvent[] = [];
  for (const entry of log) {
    if (entry.type === 'event')
      events.push({ event: entry.event, data: entry.data, error: entry.error, id: entry.id });
  }
  return events;
}

/** An event with the defaults filled in. */
export function ev(fields: Partial<SseEvent>): Logged {
  return { type: 'event', event: '', data: '', error: undefined, id: undefined, ...fields };
}

/** Splits `bytes` at the given (unsorted, possibly repeated) offsets; repeated offsets give empty chunks. */
export function splitAt(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const sorted = [...cuts].map((cut) => Math.min(Math.max(cut, 0), bytes.length)).sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const cut of sorted) {
    chunks.push(bytes.subarray(start, cut));
    start = cut;
  }
  chunks.push(bytes.subarray(start));
  return chunks;
}

/** Every byte its own chunk. */
export function bytewise(bytes: Uint8Array): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i++) chunks.push(bytes.subarray(i, i + 1));
  return chunks;
}

export const FIXTURES_DIR = fileURLToPath(new URL('../fixtures/llamacpp/', import.meta.url));

/** The recorded llama.cpp `.sse` bodies of this repository, by file name. */
export function recordedStreams(): Array<[name: string, bytes: Buffer]> {
  return readdirSync(FIXTURES_DIR)
    .filter((name) => name.endsWith('.sse'))
    .sort()
    .map((name) => [name, readFileSync(FIXTURES_DIR + name)]);
}
