/**
 * The pure rules of held text (held-text.ts) and of where a stop string across a resume
 * ends the text (stop-strings.ts, resume-text.ts), at their boundaries.
 */
import { describe, expect, it } from 'vitest';
import { dialectByName } from '../../src/dialects/index.js';
import { codePoints, heldText, holdbackModel } from '../../src/stream/held-text.js';
import { cutChatText, cutHeldText } from '../../src/stream/resume-text.js';
import { chooseStop, ResumeStopCheck, type StopMatch } from '../../src/stream/stop-strings.js';

const vllm = dialectByName('vllm')!;
const llama = dialectByName('llamacpp')!;
const sglang = dialectByName('sglang')!;

describe('holdbackModel (from the wire facts)', () => {
  it('vLLM holds longest − 1 code points; nothing with one-character stop strings or include_stop_str_in_output', () => {
    expect(holdbackModel(vllm, ['ab', '🙂🙂🙂'], undefined)).toMatchObject({
      kind: 'held',
      mode: 'suffix',
      buffer: 2,
    });
    expect(holdbackModel(vllm, ['a', 'b'], undefined)).toEqual({ kind: 'none' });
    expect(holdbackModel(vllm, undefined, undefined)).toEqual({ kind: 'none' });
    expect(holdbackModel(vllm, 'abc', { include_stop_str_in_output: true })).toEqual({ kind: 'none' });
    expect(holdbackModel(vllm, 'abc', { include_stop_str_in_output: false }).kind).toBe('held');
  });

  it('llama.cpp is asked even with one-character stop strings (its finish comes apart); SGLang never', () => {
    expect(holdbackModel(llama, ['a'], undefined)).toMatchObject({
      kind: 'held',
      mode: 'partial',
      buffer: 0,
    });
    expect(holdbackModel(llama, undefined, undefined)).toEqual({ kind: 'none' });
    expect(holdbackModel(sglang, ['abcdef'], undefined)).toEqual({ kind: 'none' });
  });

  it('a server whose holdback is not known is unknown', () => {
    expect(holdbackModel(dialectByName('together')!, ['abc'], undefined)).toEqual({ kind: 'unknown' });
  });
});

describe('heldText', () => {
  const suffix = holdbackModel(vllm, ['QQQQ'], undefined) as Extract<
    ReturnType<typeof holdbackModel>,
    { kind: 'held' }
  >;
  const partial = holdbackModel(llama, ['xyz'], undefined) as typeof suffix;

  it('vLLM: exactly buffer characters once the attempt streamed text (k−1, k, k+1)', () => {
    expect(heldText(suffix, 'ab', 'abcde', 2)).toEqual({ held: 'cde' });
    expect(heldText(suffix, 'ab', 'abcd', 2)).toHaveProperty('reason');
    expect(heldText(suffix, 'ab', 'abcdef', 2)).toHaveProperty('reason');
  });

  it('vLLM: at most buffer characters before the attempt streamed any (0, 1, k, k+1)', () => {
    expect(heldText(suffix, '', '', 0)).toEqual({ held: '' });
    expect(heldText(suffix, '', 'a', 0)).toEqual({ held: 'a' });
    expect(heldText(suffix, '', 'abc', 0)).toEqual({ held: 'abc' });
    expect(heldText(suffix, '', 'abcd', 0)).toHaveProperty('reason');
  });

  it('counts code points as Python does, not UTF-16 units', () => {
    expect(codePoints('🙂a')).toBe(2);
    expect(heldText(suffix, 'ab', 'ab🙂🙂🙂', 2)).toEqual({ held: '🙂🙂🙂' });
  });

  it('refuses text that does not begin with what was streamed, or ends inside a character', () => {
    expect(heldText(suffix, 'ab', 'Xbcde', 2)).toHaveProperty('reason');
    expect(heldText(suffix, 'ab', 'abcd\uFFFD', 2)).toHaveProperty('reason');
  });

  it('llama.cpp: held text ends with a stop string’s beginning, or there is none', () => {
    expect(heldText(partial, 'ab', 'ab', 2)).toEqual({ held: '' });
    expect(heldText(partial, 'ab', 'abqqx', 2)).toEqual({ held: 'qqx' });
    expect(heldText(partial, 'ab', 'abqqxy', 2)).toEqual({ held: 'qqxy' });
    expect(heldText(partial, 'ab', 'abqq', 2)).toHaveProperty('reason');
  });

  it('ids that complete a stop string mean the server had stopped (its finish lost)', () => {
    const outcome = heldText(partial, 'ab', 'abxyz', 2);
    expect(outcome).toHaveProperty('reason');
    expect((outcome as { reason: string }).reason).toMatch(/had stopped/);
  });
});

describe('where a stop string across a resume ends the text', () => {
  it('undelivered text is a place a stop string may begin; kept is the text before it', () => {
    const check = new ResumeStopCheck(['cdef']);
    // "ab" delivered, "cd" undelivered (held by the server, recovered), "ef" new.
    expect(check.arm('ab', 'cd')).toBe(true);
    expect(check.feed('e')).toBe('hold');
    expect(check.feed('fg')).toBe('match');
    expect(check.matches).toEqual([{ kept: 0, completedAt: 2, order: 0, start: 2 }]);
  });

  it('not armed when nothing undelivered can begin one: the undelivered text passes', () => {
    const check = new ResumeStopCheck(['zzzz']);
    expect(check.arm('ab', 'cd')).toBe(false);
    expect(check.feed('e')).toBe('pass');
  });

  it('several complete at once: list order (vLLM, SGLang) or earliest start (llama.cpp), within reach', () => {
    const check = new ResumeStopCheck(['nu ', 'unu s']);
    check.arm('noh', 'unu');
    expect(check.feed(' su')).toBe('match');
    const matches = check.matches;
    expect(matches.map((m) => m.order)).toEqual([0, 1]);
    expect(chooseStop(matches, 'list-order').order).toBe(0);
    expect(chooseStop(matches, 'earliest-start').order).toBe(1);
    // Only the one completed within reach counts.
    const first = matches.reduce((a, b) => (a.completedAt < b.completedAt ? a : b));
    expect(chooseStop(matches, 'earliest-start', first.completedAt).order).toBe(first.order);
  });

  it('chooseStop with nothing within reach takes the one that completes first', () => {
    const matches: StopMatch[] = [
      { kept: 1, completedAt: 3, order: 0, start: 5 },
      { kept: 2, completedAt: 2, order: 1, start: 6 },
    ];
    expect(chooseStop(matches, 'list-order', 0).order).toBe(1);
  });

  it('cutHeldText keeps kept characters over the kept events, text of dropped ones added to the last (0, 1, all)', () => {
    expect(cutHeldText(['ab', 'cd', 'ef'], 0, 3)).toEqual(['', '', '']);
    expect(cutHeldText(['ab', 'cd', 'ef'], 1, 3)).toEqual(['a', '', '']);
    expect(cutHeldText(['ab', 'cd', 'ef'], 6, 3)).toEqual(['ab', 'cd', 'ef']);
    // Token 1 completed the stop string, but the server showed "e" only with token 2.
    expect(cutHeldText(['ab', 'cd', 'ef'], 5, 2)).toEqual(['ab', 'cde']);
  });

  it('cutChatText keeps the ids before the cut, one token for an event without ids', () => {
    const held: { text: string; ids?: number[] }[] = [
      { text: 'ab', ids: [1, 2] },
      { text: 'c' },
      { text: 'de', ids: [4, 5] },
    ];
    cutChatText(held, 10, 3, 14);
    expect(held).toEqual([{ text: 'ab', ids: [1, 2] }, { text: 'c' }, { text: '', ids: [4] }]);
  });
});
