import { describe, expect, it } from 'vitest';
import { ResumeStopCheck } from '../../src/stream/stop-strings.js';

describe('ResumeStopCheck', () => {
  it.each([
    ['straddling in one piece', 'hello wo', ['rld!'], ['wor'], true],
    ['straddling over several pieces', 'abc', ['d', 'e', 'f'], ['cdef'], true],
    ['entirely after the resume point (the server sees it)', 'abc', ['xyz'], ['xy'], false],
    ['entirely before (already handled by the server)', 'abxy', ['z'], ['xy'], false],
    ['a later straddling occurrence after an earlier one before', 'xy..x', ['y'], ['xy'], true],
    ['no stop strings', 'abc', ['def'], [], false],
    ['single-character stop strings cannot straddle', 'abc', ['d'], ['c', 'd'], false],
  ])('%s', (_name, before, pieces, stops, expected) => {
    const check = new ResumeStopCheck(stops);
    check.arm(before);
    const hit = pieces.some((piece) => check.check(piece));
    expect(hit).toBe(expected);
  });

  it('stops checking once the new text is longer than any stop string', () => {
    const check = new ResumeStopCheck(['abcd']);
    check.arm('xxab');
    expect(check.check('zzz')).toBe(false);
    expect(check.check('cd')).toBe(false);
  });

  it('asks only for as much delivered text as the longest stop string needs', () => {
    expect(new ResumeStopCheck(['a', 'abcd']).tailLength).toBe(3);
    expect(new ResumeStopCheck(undefined).tailLength).toBe(0);
  });
});
