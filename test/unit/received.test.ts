import { describe, expect, it } from 'vitest';
import { ReceivedTokens } from '../../src/stream/received.js';

describe('ReceivedTokens', () => {
  it('keeps ids, texts and logprobs in order and rebuilds the events', () => {
    const received = new ReceivedTokens();
    expect(received.lastText()).toBeUndefined();
    expect(received.idArray()).toEqual([]);
    expect(received.text()).toBe('');
    received.record(5, 'a', undefined);
    received.record(undefined, 'bc', -0.5);
    received.record(7, '', undefined);
    expect(received.length).toBe(3);
    expect(received.missingIds).toBe(1);
    expect(received.idArray()).toEqual([5, undefined, 7]);
    expect(received.text()).toBe('abc');
    expect(received.lastText()).toBe('');
    expect(received.textTail(2)).toBe('bc');
    expect(received.textTail(3)).toBe('abc');
    expect(received.textTail(0)).toBe('');
    expect(received.events()).toEqual([
      { type: 'token', id: 5, text: 'a' },
      { type: 'token', id: undefined, text: 'bc', logprob: -0.5 },
      { type: 'token', id: 7, text: '' },
    ]);
  });

  it('grows past the expected count (a server sending more than maxTokens loses nothing)', () => {
    const received = new ReceivedTokens(3);
    const ids: number[] = [];
    let text = '';
    for (let i = 0; i < 1000; i++) {
      const id = (i * 7919) % 150_000;
      received.record(id, `t${i} `, undefined);
      ids.push(id);
      text += `t${i} `;
    }
    expect(received.length).toBe(1000);
    expect(received.idArray()).toEqual(ids);
    expect(received.text()).toBe(text);
    expect(received.lastText()).toBe('t999 ');
  });

  it('keeps ids that do not fit 32 bits exactly as they came, before and after', () => {
    const received = new ReceivedTokens(2);
    received.record(1, 'a', undefined);
    received.record(2 ** 40, 'b', undefined);
    received.record(undefined, 'c', undefined);
    received.record(2_147_483_647, 'd', undefined);
    received.record(-3, 'e', undefined);
    received.record(1.5, 'f', undefined);
    expect(received.idArray()).toEqual([1, 2 ** 40, undefined, 2_147_483_647, -3, 1.5]);
    expect(received.missingIds).toBe(1);
    expect(received.events().map((event) => event.id)).toEqual([
      1,
      2 ** 40,
      undefined,
      2_147_483_647,
      -3,
      1.5,
    ]);
  });

  it('returns a new id array each call (callers may keep or change it)', () => {
    const received = new ReceivedTokens(4);
    received.record(9, 'x', undefined);
    const first = received.idArray();
    first.push(10);
    expect(received.idArray()).toEqual([9]);
  });
});
