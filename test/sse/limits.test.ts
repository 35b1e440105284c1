import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_EVENT_BYTES,
  DEFAULT_MAX_LINE_BYTES,
  SseLimitError,
  SseParser,
} from '../../src/sse/parser.js';
import { bytewise, ev, parseChunks } from './collect.js';

const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');

describe('defaults', () => {
  it('are 16 MiB per line and 32 MiB per event', () => {
    expect(DEFAULT_MAX_LINE_BYTES).toBe(16 * 1024 * 1024);
    expect(DEFAULT_MAX_EVENT_BYTES).toBe(32 * 1024 * 1024);
  });

  it('accept a line of exactly the default limit and reject one byte more', () => {
    const prefix = bytes('data:');
    const line = Buffer.alloc(DEFAULT_MAX_LINE_BYTES, 0x61);
    prefix.copy(line);
    let data = '';
    const parser = new SseParser({ onEvent: (event) => (data = event.data) });
    parser.push(line);
    parser.push(bytes('\n\n'));
    expect(data.length).toBe(DEFAULT_MAX_LINE_BYTES - prefix.length);

    const tooLong = new SseParser({ onEvent: () => {} });
    expect(() => tooLong.push(Buffer.concat([line, bytes('a')]))).toThrow(SseLimitError);
  });
});

describe('line limit', () => {
  // "data: " + 10 bytes = 16 bytes.
  const line16 = 'data: 0123456789';

  it.each([
    ['whole', (b: Buffer) => [b]],
    ['bytewise', (b: Buffer) => bytewise(b)],
  ])('a line of exactly maxLineBytes is accepted (%s)', (_name, split) => {
    expect(parseChunks(split(bytes(`${line16}\n\n`)), { maxLineBytes: 16 })).toEqual([
      ev({ data: '0123456789' }),
    ]);
  });

  it.each([
    ['whole', (b: Buffer) => [b]],
    ['bytewise', (b: Buffer) => bytewise(b)],
    ['CR-terminated', (b: Buffer) => [Buffer.from(b.toString().replace(/\n/g, '\r'))]],
  ])('a line one byte longer throws after the events before it (%s)', (_name, split) => {
    const stream = bytes(`data: first\n\n${line16}x\n\ndata: never\n\n`);
    expect(parseChunks(split(stream), { maxLineBytes: 16 })).toEqual([
      ev({ data: 'first' }),
      { type: 'limit', limit: 'line', limitBytes: 16 },
    ]);
  });

  it('throws before the line ends, so an endless line is not buffered', () => {
    const parser = new SseParser({ onEvent: () => {} }, { maxLineBytes: 100 });
    parser.push(Buffer.alloc(60, 0x61));
    parser.push(Buffer.alloc(40, 0x61));
    expect(() => parser.push(Buffer.alloc(1, 0x61))).toThrow(SseLimitError);
  });

  it('throws for an over-long unterminated line in a single chunk', () => {
    const parser = new SseParser({ onEvent: () => {} }, { maxLineBytes: 100 });
    expect(() => parser.push(Buffer.alloc(101, 0x61))).toThrow(SseLimitError);
  });

  it('counts the line ending out of the limit, also for a CR/LF split across chunks', () => {
    expect(parseChunks([bytes(`${line16}\r`), bytes('\n\r'), bytes('\n')], { maxLineBytes: 16 })).toEqual([
      ev({ data: '0123456789' }),
    ]);
  });

  it('a held BOM prefix counts toward the first line', () => {
    // EF + "data: 0123456789" is 17 bytes: one more than the limit, whatever the split.
    const stream = Buffer.concat([Uint8Array.of(0xef), bytes(`${line16}\n`)]);
    expect(parseChunks([stream.subarray(0, 1), stream.subarray(1)], { maxLineBytes: 16 })).toEqual([
      { type: 'limit', limit: 'line', limitBytes: 16 },
    ]);
    expect(parseChunks([stream], { maxLineBytes: 16 })).toEqual([
      { type: 'limit', limit: 'line', limitBytes: 16 },
    ]);
  });

  it('a stream that is only a BOM prefix is a line of that length', () => {
    const prefix = Uint8Array.of(0xef, 0xbb);
    expect(parseChunks([prefix], { maxLineBytes: 2 })).toEqual([]);
    expect(parseChunks([prefix.subarray(0, 1), prefix.subarray(1)], { maxLineBytes: 1 })).toEqual([
      { type: 'limit', limit: 'line', limitBytes: 1 },
    ]);
  });

  it('maxLineBytes 0 accepts only blank lines', () => {
    expect(parseChunks([bytes('\n\r\n\r')], { maxLineBytes: 0 })).toEqual([]);
    expect(parseChunks([bytes('\n:')], { maxLineBytes: 0 })).toEqual([
      { type: 'limit', limit: 'line', limitBytes: 0 },
    ]);
  });
});

describe('event limit', () => {
  it('accepts data+error lines summing to exactly maxEventBytes (names and line endings count)', () => {
    // "data: abcd\n" 11 + "data: efg\n" 10 + "error: hij\n" 11 = 32 bytes.
    expect(parseChunks([bytes('data: abcd\ndata: efg\nerror: hij\n\n')], { maxEventBytes: 32 })).toEqual([
      ev({ data: 'abcd\nefg', error: 'hij' }),
    ]);
  });

  it('throws when the data and error lines of one event pass it by one byte', () => {
    expect(parseChunks([bytes('data: abcd\ndata: efg\nerror: hijk\n\n')], { maxEventBytes: 32 })).toEqual([
      { type: 'limit', limit: 'event', limitBytes: 32 },
    ]);
  });

  it('is per event: the count restarts after each dispatch', () => {
    expect(parseChunks([bytes('data: 12345678\n\ndata: 12345678\n\n')], { maxEventBytes: 15 })).toEqual([
      ev({ data: '12345678' }),
      ev({ data: '12345678' }),
    ]);
  });

  it.each([
    ['data:', 6],
    ['data', 5],
    ['error:', 7],
    ['data: ', 7],
  ])('counts lines with empty values (%s): k-1, k and k+1 lines against a limit of k lines', (line, size) => {
    const k = 100;
    const event = (n: number) => bytes(`${`${line}\n`.repeat(n)}\n`);
    const limit = k * size;
    expect(parseChunks([event(k - 1)], { maxEventBytes: limit })).toHaveLength(1);
    expect(parseChunks([event(k)], { maxEventBytes: limit })).toHaveLength(1);
    expect(parseChunks([event(k + 1)], { maxEventBytes: limit })).toEqual([
      { type: 'limit', limit: 'event', limitBytes: limit },
    ]);
  });

  it('keeps memory near what was received: 48 MiB of empty data lines without a blank line', () => {
    const line = Buffer.from('data:\n'.repeat(64 * 1024));
    const parser = new SseParser({ onEvent: () => {} }, { maxEventBytes: 64 * 1024 * 1024 });
    const before = process.memoryUsage();
    for (let sent = 0; sent < 48 * 1024 * 1024; sent += line.length) parser.push(line);
    const after = process.memoryUsage();
    const grown = after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers);
    // 8 M lines: as strings they held ~300 MiB; as bytes, one LF each (16 MiB with doubling).
    expect(grown).toBeLessThan(64 * 1024 * 1024);
    let data = '';
    parser.push(bytes('\n'));
    expect(() => parser.end()).not.toThrow();
    const p2 = new SseParser({ onEvent: (event) => (data = event.data) });
    p2.push(bytes('data:\ndata:\ndata: x\n\n'));
    expect(data).toBe('\n\nx');
  });

  it('ignores event, id and comment bytes', () => {
    const long = 'x'.repeat(50);
    expect(
      parseChunks([bytes(`event: ${long}\nid: ${long}\n: ${long}\ndata: a\n\n`)], { maxEventBytes: 8 }),
    ).toEqual([{ type: 'comment', comment: long }, ev({ event: long, id: long, data: 'a' })]);
  });

  it('counts bytes, not characters', () => {
    // "語" is 3 bytes in UTF-8: "data: 語語\n" is 13 bytes.
    expect(parseChunks([bytes('data: 語語\n\n')], { maxEventBytes: 12 })).toEqual([
      { type: 'limit', limit: 'event', limitBytes: 12 },
    ]);
  });
});

describe('after a limit error', () => {
  it('push() and end() throw the same error again', () => {
    const parser = new SseParser({ onEvent: () => {} }, { maxLineBytes: 4 });
    let first: unknown;
    try {
      parser.push(bytes('data: too long\n'));
    } catch (error) {
      first = error;
    }
    expect(first).toBeInstanceOf(SseLimitError);
    expect(() => parser.push(bytes('\n'))).toThrow(first as Error);
    expect(() => parser.end()).toThrow(first as Error);
  });

  it('names the limit and its size in the message', () => {
    const line = new SseLimitError('line', 1234);
    expect(line.message).toMatch(/line.*1234 bytes.*maxLineBytes/);
    expect(line.name).toBe('SseLimitError');
    expect(line).toBeInstanceOf(Error);
    expect(new SseLimitError('event', 99).message).toMatch(/event.*99 bytes.*maxEventBytes/);
  });

  it('end() throws when the pending last line passes the limit', () => {
    const parser = new SseParser({ onEvent: () => {} }, { maxEventBytes: 2 });
    parser.push(bytes('data: abc'));
    expect(() => parser.end()).toThrow(SseLimitError);
  });
});
