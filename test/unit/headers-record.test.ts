import { describe, expect, it } from 'vitest';
import { headersRecord } from '../../src/transport/dispatch.js';

describe('headersRecord (raw response headers → one record)', () => {
  it('lower-cases names and decodes values as latin1', () => {
    const raw = [
      Buffer.from('Content-Type'),
      Buffer.from('text/event-stream'),
      Buffer.from('X-Caf'),
      Buffer.from([0x63, 0x61, 0x66, 0xe9]),
    ];
    expect(headersRecord(raw)).toEqual({ 'content-type': 'text/event-stream', 'x-caf': 'café' });
  });

  it('joins a repeated header with ", " in arrival order', () => {
    const raw = ['Set-Cookie', 'a=1', 'x-n', '1', 'set-cookie', 'b=2', 'SET-COOKIE', 'c=3'];
    expect(headersRecord(raw)).toEqual({ 'set-cookie': 'a=1, b=2, c=3', 'x-n': '1' });
  });

  it('is not fooled by names that exist on Object.prototype', () => {
    // Names are lower-cased, so of Object.prototype's only these two can collide.
    const record = headersRecord(['constructor', 'x', 'Constructor', 'y', '__proto__', 'z']);
    expect(record.constructor).toBe('x, y');
    expect(Object.getPrototypeOf(record)).toBe(Object.prototype);
  });

  it('gives an empty record for no headers, and ignores a dangling name', () => {
    expect(headersRecord(null)).toEqual({});
    expect(headersRecord(['x-only'])).toEqual({});
  });
});
