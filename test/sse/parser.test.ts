import { describe, expect, it } from 'vitest';
import { SseParser } from '../../src/sse/parser.js';
import { bytewise, ev, type Logged, parseChunks } from './collect.js';

/** A chunk given as a string is UTF-8; `raw(...)` gives exact bytes. */
type Chunk = string | Uint8Array;
const raw = (...bytes: number[]): Uint8Array => Uint8Array.from(bytes);
const encode = (chunks: readonly Chunk[]): Uint8Array[] =>
  chunks.map((chunk) => (typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk));

interface Case {
  name: string;
  chunks: Chunk[];
  expected: Logged[];
}

function table(cases: Case[]): void {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(parseChunks(encode(c.chunks))).toEqual(c.expected);
  });
}

describe('line endings', () => {
  table([
    { name: 'LF', chunks: ['data: a\n\ndata: b\n\n'], expected: [ev({ data: 'a' }), ev({ data: 'b' })] },
    {
      name: 'CRLF',
      chunks: ['data: a\r\n\r\ndata: b\r\n\r\n'],
      expected: [ev({ data: 'a' }), ev({ data: 'b' })],
    },
    { name: 'bare CR', chunks: ['data: a\r\rdata: b\r\r'], expected: [ev({ data: 'a' }), ev({ data: 'b' })] },
    {
      name: 'mixed endings in one event',
      chunks: ['data: a\rdata: b\r\ndata: c\ndata: d\n\r\n'],
      expected: [ev({ data: 'a\nb\nc\nd' })],
    },
    {
      name: 'CR then LF is one line ending, LF then CR is two',
      chunks: ['data: a\r\ndata: b\n\rdata: c\n\n'],
      expected: [ev({ data: 'a\nb' }), ev({ data: 'c' })],
    },
    {
      name: 'CRLF split across chunks is one line ending',
      chunks: ['data: a\r', '\ndata: b\r', '\n\r', '\n'],
      expected: [ev({ data: 'a\nb' })],
    },
    {
      name: 'CR ending a chunk, then a chunk not starting with LF',
      chunks: ['data: a\r', 'data: b\r', '\r'],
      expected: [ev({ data: 'a\nb' })],
    },
    {
      name: 'empty chunks between CR and LF keep the pair together',
      chunks: ['data: a\r', '', '', '\ndata: b\n\n'],
      expected: [ev({ data: 'a\nb' })],
    },
    {
      name: 'CRLF CRLF split after each CR',
      chunks: ['data: a\r', '\n\r', '\ndata: b\r', '\n\r', '\n'],
      expected: [ev({ data: 'a' }), ev({ data: 'b' })],
    },
    {
      name: 'a line split over many chunks',
      chunks: ['da', 'ta', ': hel', 'lo wo', 'rld', '\n', '\n'],
      expected: [ev({ data: 'hello world' })],
    },
  ]);
});

describe('byte order mark', () => {
  const BOM = [0xef, 0xbb, 0xbf];
  table([
    { name: 'BOM at start is skipped', chunks: [raw(...BOM), 'data: a\n\n'], expected: [ev({ data: 'a' })] },
    {
      name: 'BOM in the same chunk as the first line',
      chunks: [Buffer.concat([raw(...BOM), Buffer.from('data: a\n\n')])],
      expected: [ev({ data: 'a' })],
    },
    {
      name: 'BOM split 1|2',
      chunks: [raw(0xef), raw(0xbb, 0xbf), 'data: a\n\n'],
      expected: [ev({ data: 'a' })],
    },
    {
      name: 'BOM split 2|1 with the first line',
      chunks: [raw(0xef, 0xbb), Buffer.concat([raw(0xbf), Buffer.from('data: a\n\n')])],
      expected: [ev({ data: 'a' })],
    },
    {
      name: 'BOM split 1|1|1',
      chunks: [raw(0xef), raw(0xbb), raw(0xbf), ': hi\n'],
      expected: [{ type: 'comment', comment: 'hi' }],
    },
    {
      // The first line's field name is then "\uFEFFdata", an unknown field.
      name: 'a second BOM is content',
      chunks: [raw(...BOM, ...BOM), 'data: a\n\ndata: b\n\n'],
      expected: [ev({ data: 'b' })],
    },
    {
      name: 'a BOM after the start is content',
      chunks: ['data: a\n\n', raw(...BOM), 'data: b\n\ndata: c\n\n'],
      expected: [ev({ data: 'a' }), ev({ data: 'c' })],
    },
    {
      // The held EF BB are the start of the first line, so that line is not `data`.
      name: 'a BOM prefix that turns out not to be a BOM is content',
      chunks: [raw(0xef), raw(0xbb), 'data: a\n\ndata: b\n\n'],
      expected: [ev({ data: 'b' })],
    },
    {
      name: 'a BOM prefix that is not a BOM, in one chunk with what follows',
      chunks: [raw(0xef), Buffer.concat([raw(0xbb), Buffer.from('data: a\n\ndata: b\n\n')])],
      expected: [ev({ data: 'b' })],
    },
    {
      name: 'a BOM prefix before a line ending is a line of its own',
      chunks: [raw(0xef), '\ndata: a\n\n'],
      expected: [ev({ data: 'a' })],
    },
    { name: 'a stream that is only a BOM prefix', chunks: [raw(0xef, 0xbb)], expected: [] },
    { name: 'no BOM at all', chunks: ['data: a\n\n'], expected: [ev({ data: 'a' })] },
  ]);
});

describe('fields', () => {
  table([
    { name: 'one space after the colon is stripped', chunks: ['data: a\n\n'], expected: [ev({ data: 'a' })] },
    { name: 'no space after the colon', chunks: ['data:a\n\n'], expected: [ev({ data: 'a' })] },
    { name: 'only one space is stripped', chunks: ['data:  a \n\n'], expected: [ev({ data: ' a ' })] },
    { name: 'a tab is not stripped', chunks: ['data:\ta\n\n'], expected: [ev({ data: '\ta' })] },
    {
      name: 'a later colon is part of the value',
      chunks: ['data: a: b:c\n\n'],
      expected: [ev({ data: 'a: b:c' })],
    },
    {
      name: 'data lines are joined with LF',
      chunks: ['data: a\ndata:\ndata: c\n\n'],
      expected: [ev({ data: 'a\n\nc' })],
    },
    { name: 'an empty data line dispatches', chunks: ['data:\n\n'], expected: [ev({ data: '' })] },
    { name: 'a colon-less data line dispatches', chunks: ['data\n\n'], expected: [ev({ data: '' })] },
    { name: 'two empty data lines give one LF', chunks: ['data\ndata\n\n'], expected: [ev({ data: '\n' })] },
    {
      name: 'event field',
      chunks: ['event: delta\ndata: x\n\n'],
      expected: [ev({ event: 'delta', data: 'x' })],
    },
    {
      name: 'event is reset after dispatch',
      chunks: ['event: a\ndata: x\n\ndata: y\n\n'],
      expected: [ev({ event: 'a', data: 'x' }), ev({ data: 'y' })],
    },
    {
      name: 'a blank line without data resets event',
      chunks: ['event: a\n\ndata: y\n\n'],
      expected: [ev({ data: 'y' })],
    },
    {
      name: 'the last event field wins',
      chunks: ['event: a\nevent: b\ndata\n\n'],
      expected: [ev({ event: 'b' })],
    },
    {
      name: 'a colon-less event line sets it empty',
      chunks: ['event: a\nevent\ndata\n\n'],
      expected: [ev({})],
    },
    { name: 'id field', chunks: ['id: 7\ndata: x\n\n'], expected: [ev({ id: '7', data: 'x' })] },
    { name: 'the last id wins', chunks: ['id: 1\nid: 2\ndata\n\n'], expected: [ev({ id: '2' })] },
    { name: 'an empty id is a value', chunks: ['id\ndata\n\n'], expected: [ev({ id: '' })] },
    {
      name: 'an id with NUL is ignored',
      chunks: ['id: 1\nid: a\0b\ndata\n\n'],
      expected: [ev({ id: '1' })],
    },
    {
      name: 'id is reset after dispatch (not kept as last-event-id)',
      chunks: ['id: 1\ndata: a\n\ndata: b\n\n'],
      expected: [ev({ id: '1', data: 'a' }), ev({ data: 'b' })],
    },
    {
      name: 'an id before a blank line without data carries to the next event',
      chunks: ['id: 1\n\ndata: b\n\n'],
      expected: [ev({ id: '1', data: 'b' })],
    },
    {
      name: 'unknown fields are ignored',
      chunks: ['foo: bar\nData: x\ndatax: y\nids: 1\nevents: e\nerrors: z\nretryx: 5\nr\nd\ne\ni\n\n'],
      expected: [],
    },
    {
      name: 'field names are not prefixes of longer lines',
      chunks: ['dat\nid:1\neven: x\nerro: y\ndata: ok\n\n'],
      expected: [ev({ id: '1', data: 'ok' })],
    },
    { name: 'a blank line alone does nothing', chunks: ['\n\n\r\n\r'], expected: [] },
  ]);
});

describe('llama.cpp error field', () => {
  table([
    {
      name: 'an error line alone dispatches with data ""',
      chunks: ['error: {"code":500}\n\n'],
      expected: [ev({ error: '{"code":500}' })],
    },
    {
      name: 'error lines are joined with LF',
      chunks: ['error: a\nerror:\nerror: c\n\n'],
      expected: [ev({ error: 'a\n\nc' })],
    },
    {
      name: 'a colon-less error line is an empty error',
      chunks: ['error\n\n'],
      expected: [ev({ error: '' })],
    },
    {
      name: 'error and data in one event',
      chunks: ['data: d\nerror: e\nevent: x\n\n'],
      expected: [ev({ event: 'x', data: 'd', error: 'e' })],
    },
    {
      name: 'error is reset after dispatch',
      chunks: ['error: e\n\ndata: [DONE]\n\n'],
      expected: [ev({ error: 'e' }), ev({ data: '[DONE]' })],
    },
  ]);
});

describe('retry and comments', () => {
  table([
    { name: 'retry digits', chunks: ['retry: 1500\n'], expected: [{ type: 'retry', ms: 1500 }] },
    { name: 'retry 0', chunks: ['retry:0\n'], expected: [{ type: 'retry', ms: 0 }] },
    {
      name: 'retry with a non-digit is ignored',
      chunks: ['retry: 15a\nretry: -1\nretry: 1.5\n'],
      expected: [],
    },
    { name: 'empty retry is ignored', chunks: ['retry:\nretry\nretry: \n'], expected: [] },
    { name: 'retry with two spaces is ignored', chunks: ['retry:  5\n'], expected: [] },
    {
      // Digit-by-digit summing would give 994077576748215700000 here.
      name: 'retry with more than 15 digits is parsed exactly',
      chunks: ['retry: 994077576748215559491\n'],
      expected: [{ type: 'retry', ms: Number('994077576748215559491') }],
    },
    { name: 'retry does not make an event', chunks: ['retry: 5\n\n'], expected: [{ type: 'retry', ms: 5 }] },
    {
      name: 'a comment with one space stripped',
      chunks: [': OPENROUTER PROCESSING\n'],
      expected: [{ type: 'comment', comment: 'OPENROUTER PROCESSING' }],
    },
    {
      name: 'a comment without a space',
      chunks: [':ping\n'],
      expected: [{ type: 'comment', comment: 'ping' }],
    },
    { name: 'an empty comment', chunks: [':\r\n'], expected: [{ type: 'comment', comment: '' }] },
    {
      name: 'only one space is stripped',
      chunks: [':  x\n'],
      expected: [{ type: 'comment', comment: ' x' }],
    },
    {
      name: 'comments do not end or make events',
      chunks: ['data: a\n: keepalive\ndata: b\n\n'],
      expected: [{ type: 'comment', comment: 'keepalive' }, ev({ data: 'a\nb' })],
    },
  ]);
});

describe('end of input', () => {
  table([
    { name: 'a pending event is dispatched', chunks: ['data: a\n'], expected: [ev({ data: 'a' })] },
    {
      name: 'a last line without its ending is processed',
      chunks: ['data: a'],
      expected: [ev({ data: 'a' })],
    },
    { name: 'a last line ending in CR', chunks: ['data: a\r'], expected: [ev({ data: 'a' })] },
    { name: 'a pending error event is dispatched', chunks: ['error: e'], expected: [ev({ error: 'e' })] },
    {
      name: 'a pending comment line is processed',
      chunks: [': bye'],
      expected: [{ type: 'comment', comment: 'bye' }],
    },
    { name: 'pending event fields without data give nothing', chunks: ['event: x\nid: 1\n'], expected: [] },
    { name: 'empty input', chunks: [], expected: [] },
  ]);

  it('end() twice dispatches once', () => {
    const events: unknown[] = [];
    const parser = new SseParser({ onEvent: (event) => events.push(event) });
    parser.push(Buffer.from('data: a'));
    parser.end();
    parser.end();
    expect(events).toHaveLength(1);
  });

  it('push() after end() throws', () => {
    const parser = new SseParser({ onEvent: () => {} });
    parser.end();
    expect(() => parser.push(Buffer.from('data: a\n\n'))).toThrow(/after end\(\)/);
  });
});

describe('UTF-8', () => {
  const text = 'é語😀 ok';
  const stream = Buffer.from(`data: ${text}\n\n`, 'utf8');

  it('a character split across chunks at every byte decodes correctly', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      expect(parseChunks([stream.subarray(0, cut), stream.subarray(cut)]), `cut at ${cut}`).toEqual([
        ev({ data: text }),
      ]);
    }
    expect(parseChunks(bytewise(stream))).toEqual([ev({ data: text })]);
  });

  it('invalid UTF-8 decodes with U+FFFD like TextDecoder', () => {
    const value = raw(0x61, 0x93, 0x62, 0xe3, 0x81, 0x63, 0xf0, 0x9f, 0x98, 0xc0, 0x80, 0xed, 0xa0, 0x80);
    const expected = new TextDecoder().decode(value);
    expect(expected).toContain('\uFFFD');
    const bytes = Buffer.concat([
      Buffer.from('data: '),
      value,
      Buffer.from('\nid: '),
      value,
      Buffer.from('\n\n'),
    ]);
    expect(parseChunks([bytes])).toEqual([ev({ data: expected, id: expected })]);
    expect(parseChunks(bytewise(bytes))).toEqual([ev({ data: expected, id: expected })]);
  });

  it('a truncated character at end of input decodes with U+FFFD', () => {
    expect(parseChunks([Buffer.from('data: a'), raw(0xe8, 0xaa)])).toEqual([ev({ data: 'a\uFFFD' })]);
  });
});

describe('chunks and handlers', () => {
  it('accepts plain Uint8Array chunks, including views with an offset', () => {
    const backing = new TextEncoder().encode('xxdata: a\ndata: b\n\nyy');
    const view = new Uint8Array(backing.buffer, 2, backing.length - 4);
    expect(Buffer.isBuffer(view)).toBe(false);
    expect(parseChunks([view.subarray(0, 5), view.subarray(5)])).toEqual([ev({ data: 'a\nb' })]);
  });

  it('long lines split over many chunks come out whole, one after another', () => {
    const first = 'é語😀 abc'.repeat(10_000);
    const second = 'xyz'.repeat(50_000);
    const stream = Buffer.from(`data: ${first}\ndata: ${second}\n\ndata: short\n\n: ${second}\n`);
    const expected = [
      ev({ data: `${first}\n${second}` }),
      ev({ data: 'short' }),
      { type: 'comment', comment: second },
    ];
    for (const size of [1000, 4097, 65_537]) {
      const chunks: Uint8Array[] = [];
      for (let at = 0; at < stream.length; at += size) chunks.push(stream.subarray(at, at + size));
      expect(parseChunks(chunks), `chunks of ${size} bytes`).toEqual(expected);
    }
  });

  it('counts bytesSeen, including a BOM and empty chunks', () => {
    const parser = new SseParser({ onEvent: () => {} });
    expect(parser.bytesSeen).toBe(0);
    parser.push(raw(0xef, 0xbb, 0xbf));
    parser.push(new Uint8Array(0));
    parser.push(Buffer.from('data: a\n\n'));
    expect(parser.bytesSeen).toBe(12);
  });

  it('works without onComment and onRetry', () => {
    const events: unknown[] = [];
    const parser = new SseParser({ onEvent: (event) => events.push(event) });
    parser.push(Buffer.from(': c\nretry: 5\ndata: a\n\n'));
    expect(events).toEqual([{ event: '', data: 'a', error: undefined, id: undefined }]);
  });

  it('calls handler methods with the handlers object as this', () => {
    class Collector {
      readonly data: string[] = [];
      onEvent(event: { data: string }): void {
        this.data.push(event.data);
      }
    }
    const collector = new Collector();
    const parser = new SseParser(collector);
    parser.push(Buffer.from('data: a\n\n'));
    expect(collector.data).toEqual(['a']);
  });

  it('a throwing handler propagates and leaves the parser unusable', () => {
    const boom = new Error('boom');
    const parser = new SseParser({
      onEvent: () => {
        throw boom;
      },
    });
    expect(() => parser.push(Buffer.from('data: a\n\ndata: b\n\n'))).toThrow(boom);
    expect(() => parser.push(Buffer.from('data: c\n\n'))).toThrow(/unusable/);
    expect(() => parser.end()).toThrow(/unusable/);
  });

  it.each([
    ['maxLineBytes', -1],
    ['maxLineBytes', 1.5],
    ['maxLineBytes', Number.NaN],
    ['maxEventBytes', -1],
    ['maxEventBytes', Number.POSITIVE_INFINITY],
  ])('rejects %s = %s', (name, value) => {
    expect(() => new SseParser({ onEvent: () => {} }, { [name]: value })).toThrow(
      new RegExp(`${name} must be a non-negative integer.*got ${String(value)}`),
    );
  });
});

describe('activity counters (for the idle clock)', () => {
  it('count field lines and trickling field bytes, not comments or blank lines', () => {
    const parser = new SseParser({ onEvent: () => {} });
    parser.push(Buffer.from(': ping\n\n: ping\n\n'));
    expect(parser.nonCommentLines).toBe(0);
    expect(parser.pendingLineIsField).toBe(false);
    parser.push(Buffer.from(': partial comm'));
    expect(parser.pendingLineIsField).toBe(false);
    parser.push(Buffer.from('ent\n\ndata: {"a"'));
    expect(parser.nonCommentLines).toBe(0);
    expect(parser.pendingLineIsField).toBe(true);
    parser.push(Buffer.from(':1}\n\n'));
    expect(parser.nonCommentLines).toBe(1);
    expect(parser.pendingLineIsField).toBe(false);
  });
});
