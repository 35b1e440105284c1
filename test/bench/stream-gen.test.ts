import { createParser } from 'eventsource-parser';
import { describe, expect, it } from 'vitest';
import { encodeStream, generateTokens, VOCAB } from '../../bench/stream-gen.mjs';

/** Parses an encoded stream back, feeding it in awkward slices (mid-UTF-8, mid-escape). */
function parseBack(bytes: Buffer, sliceBytes: number) {
  const ids: number[] = [];
  let text = '';
  let finishReason: string | undefined;
  let usage: { completion_tokens: number } | undefined;
  let done = false;
  const parser = createParser({
    onEvent(event) {
      if (event.data === '[DONE]') {
        done = true;
        return;
      }
      const json = JSON.parse(event.data);
      if (json.usage) usage = json.usage;
      const choice = json.choices[0];
      if (!choice) return;
      ids.push(...(choice.token_ids ?? []));
      text += choice.text ?? choice.delta?.content ?? '';
      if (choice.finish_reason) finishReason = choice.finish_reason;
    },
  });
  const decoder = new TextDecoder();
  for (let offset = 0; offset < bytes.length; offset += sliceBytes) {
    parser.feed(decoder.decode(bytes.subarray(offset, offset + sliceBytes), { stream: true }));
  }
  parser.feed(decoder.decode());
  return { ids, text, finishReason, usage, done };
}

describe('bench stream generator', () => {
  it('is deterministic per seed and differs across seeds', () => {
    expect(generateTokens(7, 500)).toEqual(generateTokens(7, 500));
    expect(encodeStream(7, 500).equals(encodeStream(7, 500))).toBe(true);
    expect(generateTokens(8, 500).ids).not.toEqual(generateTokens(7, 500).ids);
    // A longer stream starts with the shorter one.
    expect(generateTokens(7, 1000).ids.slice(0, 500)).toEqual(generateTokens(7, 500).ids);
  });

  it('uses the whole vocabulary, multi-byte and escaped pieces included', () => {
    const { ids } = generateTokens(1, 2000);
    expect(new Set(ids).size).toBe(VOCAB.length);
    const bytes = encodeStream(1, 2000);
    expect(bytes.includes('\\u00e9')).toBe(true);
    expect(bytes.includes('\\ud83d\\ude42')).toBe(true);
    expect(bytes.includes('🙂')).toBe(true);
    expect(bytes.includes('\\"')).toBe(true);
  });

  it.each([1, 3, 7, 4096])('parses back to the generated tokens in %i-byte slices', (sliceBytes) => {
    for (const kind of ['completion', 'chat'] as const) {
      const expected = generateTokens(42, 300);
      const back = parseBack(encodeStream(42, 300, { kind, promptTokens: 3 }), sliceBytes);
      expect(back.ids).toEqual(expected.ids);
      expect(back.text).toBe(expected.text);
      expect(back.finishReason).toBe('length');
      expect(back.usage?.completion_tokens).toBe(300);
      expect(back.done).toBe(true);
    }
  });
});
