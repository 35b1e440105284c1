import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { detokenize, generate, tokenize } from '../../src/sim/index.js';
import { BYTE_BASE, EOS_ID, VOCAB } from '../../src/sim/vocab.js';

const isWellFormed = (text: string): boolean => Buffer.from(text, 'utf8').toString('utf8') === text;

describe('sim tokenizer', () => {
  it('round-trips any well-formed string (fast-check)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
        fc.pre(isWellFormed(text));
        expect(detokenize(tokenize(text))).toBe(text);
      }),
      { numRuns: 200 },
    );
  });

  it('round-trips strings built from vocabulary pieces', () => {
    const pieces = VOCAB.generatable.map((id) => VOCAB.bytes[id].toString('utf8')).filter(isWellFormed);
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 40 }), (parts) => {
        const text = parts.join('');
        expect(detokenize(tokenize(text))).toBe(text);
      }),
    );
  });

  it('uses byte tokens (id = 3 + byte) only where no piece matches, and word pieces otherwise', () => {
    expect(tokenize('\u0000')).toEqual([BYTE_BASE]);
    expect(tokenize('\u00ff')).toHaveLength(2); // C3 BF: no piece, two byte tokens
    expect(tokenize('\u00ff')).toEqual([BYTE_BASE + 0xc3, BYTE_BASE + 0xbf]);
    const cafe = tokenize(' café');
    expect(cafe).toHaveLength(1);
    expect(cafe[0]).toBeGreaterThanOrEqual(259);
    expect(tokenize('🙂')).toHaveLength(1);
  });

  it('decodes invalid UTF-8 to U+FFFD and the special ids to nothing', () => {
    expect(detokenize([BYTE_BASE + 0xe3])).toBe('\uFFFD');
    expect(detokenize([1, 2, 0])).toBe('');
    expect(() => detokenize([VOCAB.size])).toThrow(RangeError);
  });

  it('has pieces that are only part of a UTF-8 character, completed by another id', () => {
    expect(VOCAB.completion.size).toBeGreaterThanOrEqual(3);
    for (const [first, second] of VOCAB.completion) {
      expect(VOCAB.bytes[first].toString('utf8')).toContain('\uFFFD');
      const whole = Buffer.concat([VOCAB.bytes[first], VOCAB.bytes[second]]).toString('utf8');
      expect(whole).not.toContain('\uFFFD');
    }
  });
});

describe('sim generator', () => {
  const prompts = fc.array(fc.integer({ min: 3, max: VOCAB.size - 1 }), { minLength: 1, maxLength: 20 });

  it('greedy continuation of prompt + first k ids yields exactly the remaining ids (fast-check)', () => {
    fc.assert(
      fc.property(prompts, fc.nat(40), fc.nat(40), fc.nat(1000), (prompt, n, kRaw, seed) => {
        const all = generate(prompt, n, { seed });
        const k = Math.min(kRaw, all.length);
        expect(generate([...prompt, ...all.slice(0, k)], n - k, { seed })).toEqual(all.slice(k));
      }),
      { numRuns: 300 },
    );
  });

  it('keeps the continuation property with eosAfter, and puts EOS at token N', () => {
    fc.assert(
      fc.property(prompts, fc.integer({ min: 1, max: 30 }), fc.nat(30), (prompt, eosAfter, kRaw) => {
        const all = generate(prompt, 40, { eosAfter });
        expect(all.at(-1)).toBe(EOS_ID);
        expect(all.length).toBeLessThanOrEqual(eosAfter);
        const k = Math.min(kRaw, all.length - 1);
        expect(generate([...prompt, ...all.slice(0, k)], 40 - k, { eosAfter })).toEqual(all.slice(k));
      }),
    );
    // Without an accidental greedy id at the end of the prompt, EOS is exactly token N.
    expect(generate([1, 2, 3], 40, { eosAfter: 5 })).toHaveLength(5);
  });

  it('is deterministic per seed, never emits BOS/pad, and keeps UTF-8 whole', () => {
    expect(generate([1, 2, 3], 50, { seed: 1 })).toEqual(generate([1, 2, 3], 50, { seed: 1 }));
    expect(generate([1, 2, 3], 50, { seed: 1 })).not.toEqual(generate([1, 2, 3], 50, { seed: 2 }));
    let sawSplit = false;
    for (let p = 3; p < 200; p++) {
      const ids = generate([1, p], 64);
      expect(ids).not.toContain(0);
      expect(ids).not.toContain(1);
      expect(ids).not.toContain(EOS_ID);
      const cut = VOCAB.completion.has(ids.at(-1)!) ? ids.slice(0, -1) : ids;
      expect(detokenize(cut)).not.toContain('\uFFFD');
      if (ids.some((id) => VOCAB.completion.has(id))) sawSplit = true;
    }
    expect(sawSplit).toBe(true);
  });
});
