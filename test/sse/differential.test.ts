/**
 * Differential test against eventsource-parser on spec-valid streams (see
 * `specStream` for what is left out: the places where tokenwire differs on purpose).
 */
import { createParser } from 'eventsource-parser';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { specStream } from './arbitraries.js';
import { type Logged, parseChunks } from './collect.js';

/**
 * eventsource-parser's callbacks in our log shape. It reports `event` as undefined
 * when absent (we say ''), and no `error` field; its `id` is, like ours, the id set
 * since the previous blank line and undefined when none was.
 */
function referenceParse(bytes: Uint8Array): Logged[] {
  const log: Logged[] = [];
  const parser = createParser({
    onEvent: (event) =>
      log.push({ type: 'event', event: event.event ?? '', data: event.data, error: undefined, id: event.id }),
    onComment: (comment) => log.push({ type: 'comment', comment }),
    onRetry: (ms) => log.push({ type: 'retry', ms }),
  });
  // Real uses decode with TextDecoder(Stream), which drops the BOM; eventsource-parser's own
  // BOM check looks for the three bytes as chars and never sees a decoded U+FEFF.
  parser.feed(new TextDecoder().decode(bytes));
  return log;
}

describe('differential against eventsource-parser', () => {
  it('the generator makes streams with events, ids, comments and retries', () => {
    const samples = fc.sample(specStream(), { numRuns: 200, seed: 42 }).flatMap(referenceParse);
    expect(samples.filter((entry) => entry.type === 'event').length).toBeGreaterThan(200);
    expect(samples.some((entry) => entry.type === 'event' && entry.id !== undefined)).toBe(true);
    expect(samples.some((entry) => entry.type === 'event' && entry.event !== '')).toBe(true);
    expect(samples.some((entry) => entry.type === 'event' && entry.data.includes('\n'))).toBe(true);
    expect(samples.some((entry) => entry.type === 'comment')).toBe(true);
    expect(samples.some((entry) => entry.type === 'retry')).toBe(true);
  });

  it('same events, comments and retries on random spec-valid streams', () => {
    fc.assert(
      fc.property(specStream(), (bytes) => {
        expect(parseChunks([bytes])).toEqual(referenceParse(bytes));
      }),
      { numRuns: 1000 },
    );
  });

  it('agrees on a hand-written stream with every kind of line', () => {
    const stream = Buffer.from(
      '\uFEFFretry: 3000\n: hello\r\nevent: a\r\nid: 1\ndata: x\ndata:y\n\n' +
        'data\rdata:  two\r\r' +
        'id: q\0\nid: 2\nevent\ndata: z\n\n' +
        'foo: bar\n\n',
      'utf8',
    );
    const ours = parseChunks([stream]);
    expect(ours).toEqual(referenceParse(stream));
    expect(ours).toHaveLength(5);
  });
});
