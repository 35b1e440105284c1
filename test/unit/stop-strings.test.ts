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
    const hit = pieces.some((piece) => check.feed(piece) === 'match');
    expect(hit).toBe(expected);
  });

  it('stops checking once no stop string can straddle any more', () => {
    const check = new ResumeStopCheck(['abcd']);
    expect(check.arm('xxab')).toBe(true);
    expect(check.feed('zzz')).toBe('release');
    expect(check.feed('cd')).toBe('pass');
  });

  it.each([
    // before, pieces, stops, verdicts
    ['the issue\'s case: "a" before, "b" then "c"', 'xa', ['b', 'c'], ['abc'], ['hold', 'match']],
    [
      'held, then released when it stops matching',
      'xa',
      ['b', 'd', 'e'],
      ['abc'],
      ['hold', 'release', 'pass'],
    ],
    ['nothing to hold when no stop string can begin before the break', 'xy', ['a'], ['abc'], ['pass']],
    ['an empty piece keeps holding', 'xa', ['', 'b', 'c'], ['abc'], ['hold', 'hold', 'match']],
    ['held while either of two stop strings may match', 'qxy', ['z', 'w'], ['yzv', 'yzw'], ['hold', 'match']],
    ['a piece that completes one and goes on', 'ab', ['cdef'], ['bcd'], ['match']],
  ])('%s', (_name, before, pieces, stops, verdicts) => {
    const check = new ResumeStopCheck(stops);
    check.arm(before);
    expect(pieces.map((piece) => check.feed(piece))).toEqual(verdicts);
  });

  it('asks only for as much delivered text as the longest stop string needs', () => {
    expect(new ResumeStopCheck(['a', 'abcd']).tailLength).toBe(3);
    expect(new ResumeStopCheck(undefined).tailLength).toBe(0);
  });
});
