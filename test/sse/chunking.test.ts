/**
 * Properties of the parser over random chunking: however the bytes are split,
 * the callbacks are the same as for one chunk; and the result matches a naive
 * string-based model of the rules.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { anyStream, cuts } from './arbitraries.js';
import { bytewise, type Logged, parseChunks, recordedStreams, splitAt } from './collect.js';

/**
 * The rules, written the slow obvious way: decode the whole stream, split it into
 * lines with a regex, interpret each line with string methods.
 */
function modelParse(bytes: Uint8Array): Logged[] {
  const log: Logged[] = [];
  // TextDecoder drops one BOM at the start only, as the parser must.
  const lines = new TextDecoder().decode(bytes).split(/\r\n|\r|\n/);
  let data: string[] = [];
  let errors: string[] = [];
  let event = '';
  let id: string | undefined;
  const dispatch = (): void => {
    if (data.length > 0 || errors.length > 0) {
      log.push({
        type: 'event',
        event,
        data: data.join('\n'),
        error: errors.length > 0 ? errors.join('\n') : undefined,
        id,
      });
      data = [];
      errors = [];
      id = undefined;
    }
    event = '';
  };
  lines.forEach((line, index) => {
    const isPartialLast = index === lines.length - 1;
    if (line === '') {
      // The text after the last line ending is empty when the stream ended with one.
      if (!isPartialLast) dispatch();
      return;
    }
    if (line.startsWith(':')) {
      log.push({ type: 'comment', comment: line.slice(line.startsWith(': ') ? 2 : 1) });
      return;
    }
    const colon = line.indexOf(':');
    const name = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (name === 'data') data.push(value);
    else if (name === 'error') errors.push(value);
    else if (name === 'event') event = value;
    else if (name === 'id' && !value.includes('\0')) id = value;
    else if (name === 'retry' && /^[0-9]+$/.test(value)) log.push({ type: 'retry', ms: Number(value) });
  });
  dispatch();
  return log;
}

const fixtures = recordedStreams();

describe('recorded llama.cpp streams', () => {
  it('there are recorded streams to test', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(10);
  });

  it.each(fixtures)('%s: any split gives the same events as one chunk', (_name, bytes) => {
    const whole = parseChunks([bytes]);
    expect(whole.length).toBeGreaterThan(0);
    expect(whole).toEqual(modelParse(bytes));
    expect(parseChunks(bytewise(bytes))).toEqual(whole);
    fc.assert(
      fc.property(cuts(bytes.length), (offsets) => {
        expect(parseChunks(splitAt(bytes, offsets))).toEqual(whole);
      }),
      { numRuns: 40 },
    );
  });

  it.each(fixtures)('%s: the same with CRLF and with bare CR line endings', (_name, bytes) => {
    const whole = parseChunks([bytes]);
    for (const ending of ['\r\n', '\r']) {
      const converted = Buffer.from(bytes.toString('latin1').replace(/\n/g, ending), 'latin1');
      expect(parseChunks([converted])).toEqual(whole);
      fc.assert(
        fc.property(cuts(converted.length), (offsets) => {
          expect(parseChunks(splitAt(converted, offsets))).toEqual(whole);
        }),
        { numRuns: 20 },
      );
    }
  });
});

describe('random streams', () => {
  it('match the naive model of the rules', () => {
    fc.assert(
      fc.property(anyStream(), (bytes) => {
        expect(parseChunks([bytes])).toEqual(modelParse(bytes));
      }),
      { numRuns: 500 },
    );
  });

  it('any split, including 1-byte chunks, gives the same callbacks as one chunk', () => {
    fc.assert(
      fc.property(
        anyStream().chain((bytes) => fc.tuple(fc.constant(bytes), cuts(bytes.length))),
        ([bytes, offsets]) => {
          const whole = parseChunks([bytes]);
          expect(parseChunks(splitAt(bytes, offsets))).toEqual(whole);
          expect(parseChunks(bytewise(bytes))).toEqual(whole);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('with small limits, any split passes the same limit after the same callbacks', () => {
    fc.assert(
      fc.property(
        anyStream().chain((bytes) =>
          fc.tuple(
            fc.constant(bytes),
            cuts(bytes.length),
            fc.integer({ min: 0, max: 24 }),
            fc.integer({ min: 0, max: 40 }),
          ),
        ),
        ([bytes, offsets, maxLineBytes, maxEventBytes]) => {
          const options = { maxLineBytes, maxEventBytes };
          const whole = parseChunks([bytes], options);
          expect(parseChunks(splitAt(bytes, offsets), options)).toEqual(whole);
          expect(parseChunks(bytewise(bytes), options)).toEqual(whole);
        },
      ),
      { numRuns: 300 },
    );
  });
});
