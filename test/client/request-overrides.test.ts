/**
 * A request's own `headers` and `timeouts`, laid over the client's for that request only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../src/index.js';
import { type Simulator, startSimulator } from '../../src/sim/index.js';
import { caught, testClient } from '../helpers/client.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ dialect: 'vllm' });
});
afterAll(() => sim.close());

function lastHeaders(): Record<string, unknown> {
  return sim.report().requests.at(-1)!.headers;
}

describe('per-request headers', () => {
  it('override the client headers by name (any case) for that request only', async () => {
    const { client } = testClient(sim.url, {
      dialect: 'vllm',
      headers: { 'x-a': 'client-a', 'X-B': 'client-b' },
    });
    try {
      await client
        .streamCompletion({ prompt: [1], maxTokens: 2, headers: { 'x-b': 'request-b', 'X-C': 'request-c' } })
        .final();
      expect(lastHeaders()).toMatchObject({ 'x-a': 'client-a', 'x-b': 'request-b', 'x-c': 'request-c' });
      await client.streamCompletion({ prompt: [1], maxTokens: 2 }).final();
      expect(lastHeaders()).toMatchObject({ 'x-a': 'client-a', 'x-b': 'client-b' });
      expect(lastHeaders()['x-c']).toBeUndefined();
      await client
        .streamChat({ messages: [{ role: 'user', content: 'hi' }], headers: { 'x-c': 'chat' } })
        .final();
      expect(lastHeaders()).toMatchObject({ 'x-a': 'client-a', 'x-c': 'chat' });
    } finally {
      await client.close();
    }
  });

  it('reach the server: a fault asked for by one request only', async () => {
    const { client } = testClient(sim.url, { dialect: 'vllm' });
    try {
      const error = await caught(() =>
        client
          .streamCompletion({ prompt: [1], maxTokens: 8, headers: { 'x-sim-fault': 'truncate-after:3' } })
          .final(),
      );
      expect(error.code).toBe('stream_truncated');
      expect((error.partial as unknown[]).length).toBe(3);
      const result = await client.streamCompletion({ prompt: [1], maxTokens: 8 }).final();
      expect(result.ids.length).toBe(8);
    } finally {
      await client.close();
    }
  });

  it('are checked like the client headers', () => {
    const { client } = testClient(sim.url, { dialect: 'vllm' });
    expect(() => client.streamCompletion({ prompt: [1], headers: { 'x-a': 'a\nb' } })).toThrow(
      InvalidOptionError,
    );
    expect(() => client.streamCompletion({ prompt: [1], headers: { 'bad name': 'x' } })).toThrow(
      InvalidOptionError,
    );
    void client.close();
  });
});

describe('per-request timeouts', () => {
  it('a shorter idle deadline than the client has fires for that request', async () => {
    const { client } = testClient(sim.url, { dialect: 'vllm', timeouts: { idleMs: 60_000 } });
    try {
      const error = await caught(() =>
        client
          .streamCompletion({
            prompt: [1],
            maxTokens: 8,
            headers: { 'x-sim-fault': 'stall-after:2:5000' },
            timeouts: { idleMs: 150 },
          })
          .final(),
      );
      expect(error.code).toBe('idle_timeout');
      expect(error.message).toContain('no data for 150 ms after 2 tokens');
    } finally {
      await client.close();
    }
  });

  it('a longer (or disabled) deadline than the client has lets that request finish', async () => {
    const { client } = testClient(sim.url, { dialect: 'vllm', timeouts: { idleMs: 100, firstTokenMs: 100 } });
    try {
      const stalled = { prompt: [1], maxTokens: 4, headers: { 'x-sim-fault': 'stall-after:2:400' } };
      expect((await caught(() => client.streamCompletion(stalled).final())).code).toBe('idle_timeout');
      const result = await client.streamCompletion({ ...stalled, timeouts: { idleMs: 0 } }).final();
      expect(result.ids.length).toBe(4);
      const late = { prompt: [1], maxTokens: 2, headers: { 'x-sim-fault': 'stall-first-token:300' } };
      expect((await caught(() => client.streamCompletion(late).final())).code).toBe('first_token_timeout');
      const ok = await client.streamCompletion({ ...late, timeouts: { firstTokenMs: 5_000 } }).final();
      expect(ok.ids.length).toBe(2);
    } finally {
      await client.close();
    }
  });

  it('are checked like the client timeouts, with a suggestion for a misspelled one', () => {
    const { client } = testClient(sim.url, { dialect: 'vllm' });
    expect(() => client.streamCompletion({ prompt: [1], timeouts: { idleMs: -1 } })).toThrow(
      'invalid option timeouts.idleMs: -1 (expected a non-negative number)',
    );
    expect(() => client.streamCompletion({ prompt: [1], timeouts: { idle: 5 } as never })).toThrow(
      'invalid timeouts.idle: unknown request field (did you mean timeouts.idleMs?)',
    );
    void client.close();
  });
});
