import { describe, expect, it } from 'vitest';
import { callUsage } from '../../src/stream/usage.js';

const base = {
  tokensBeforeAttempt: 0,
  resumed: false,
  promptTokens: 3,
  tokensReceived: 8,
  endIds: undefined,
};

describe('callUsage', () => {
  it("takes the server's numbers when it gave them", () => {
    expect(
      callUsage({ ...base, reported: { promptTokens: 3, completionTokens: 8, totalTokens: 11 } }),
    ).toEqual({
      promptTokens: 3,
      completionTokens: 8,
      totalTokens: 11,
      computed: false,
    });
  });

  it('after a resume counts the original prompt once and every completion token', () => {
    // The continuation's prompt was 3 + 5 received ids; it generated 3 more.
    const usage = callUsage({
      ...base,
      tokensBeforeAttempt: 5,
      resumed: true,
      reported: { promptTokens: 8, completionTokens: 3 },
    });
    expect(usage).toEqual({ promptTokens: 3, completionTokens: 8, totalTokens: 11, computed: false });
  });

  it('computes from the stream when the server sent none, preferring ids sent at the end', () => {
    expect(callUsage({ ...base, reported: undefined })).toEqual({
      promptTokens: 3,
      completionTokens: 8,
      totalTokens: 11,
      computed: true,
    });
    expect(callUsage({ ...base, reported: undefined, tokensReceived: 4, endIds: 9 }).completionTokens).toBe(
      9,
    );
    expect(callUsage({ ...base, reported: undefined, promptTokens: undefined }).totalTokens).toBeUndefined();
  });
});
