import { describe, expect, it } from 'vitest';
import { ReceivedTokens } from '../../src/stream/received.js';

describe('ReceivedTokens', () => {
  it('keeps ids, texts and logprobs in order and rebuilds the events', () => {
    const received = new ReceivedTokens();
    received.record(5, 'a', undefined);
    received.record(undefined, 'bc', -0.5);
    received.record(7, '', undefined);
    expect(received.length).toBe(3);
    expect(received.missingIds).toBe(1);
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
});
