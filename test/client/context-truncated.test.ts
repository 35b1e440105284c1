/**
 * A llama.cpp server that dropped tokens of the request's context never returns
 * what looks like a plain success: `done.stats.contextTruncated` is set and a
 * `context_truncated` warning is logged. The facts (wire-facts-llamacpp.ts, `context`):
 * builds of early 2025 cut an over-long prompt silently (context shift on by default;
 * `truncated: true` on the native final event, the cut size in `tokens_evaluated` and in
 * `/v1` usage), 2026 master refuses it with a 400 and sets `truncated: true` also when
 * generation merely filled the context (nothing dropped: no flag), or when
 * `--context-shift` discarded tokens (`tokens_cached` then falls short).
 */
import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogRecord } from '../../src/index.js';
import { startSimulator } from '../../src/sim/index.js';
import { caught, testClient } from '../helpers/client.js';
import { startServer } from '../helpers/http-server.js';

/** The simulated model's context (n_ctx). */
const N_CTX = 16;

function ids(count: number): number[] {
  return Array.from({ length: count }, (_, i) => 100 + i);
}

function cutLogs(logs: LogRecord[]): LogRecord[] {
  return logs.filter((record) => record.event === 'context_truncated');
}

describe('llama.cpp b4748 (over-long prompts cut silently)', () => {
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  beforeAll(async () => {
    sim = await startSimulator({ dialect: 'llamacpp@b4748', maxModelLen: N_CTX });
  });
  afterAll(async () => {
    await sim.close();
  });

  for (const native of [false, true]) {
    const where = native ? 'native /completion' : '/v1/completions';
    for (const length of [1, N_CTX - 1, N_CTX, N_CTX + 1, 3 * N_CTX]) {
      const cut = length >= N_CTX;
      it(`${where}, an id prompt of ${length} tokens (n_ctx ${N_CTX}): ${cut ? 'flagged' : 'not flagged'}`, async () => {
        const { client, logs } = testClient(sim.url, { dialect: 'auto' });
        try {
          // One token: a prompt that fits leaves room for it (no context shift needed).
          const result = await client.streamCompletion({ prompt: ids(length), maxTokens: 1, native }).final();
          expect(result.stats.contextTruncated).toBe(cut);
          expect(cutLogs(logs)).toHaveLength(cut ? 1 : 0);
          if (cut) {
            expect(result.usage.promptTokens).toBeLessThan(length);
            expect(cutLogs(logs)[0]).toMatchObject({ level: 'warn', url: expect.stringContaining(sim.url) });
            expect(String(cutLogs(logs)[0].note)).toMatch(/without part of its context/);
          } else {
            expect(result.usage.promptTokens).toBe(length);
          }
        } finally {
          await client.close();
        }
      });
    }
  }

  it('native /completion, a prompt that fits but an output that does not: flagged (b4748 shifts the context)', async () => {
    const { client, logs } = testClient(sim.url, { dialect: 'auto' });
    try {
      const result = await client.streamCompletion({ prompt: ids(10), maxTokens: 20, native: true }).final();
      expect(result.stats.contextTruncated).toBe(true);
      expect(cutLogs(logs)).toHaveLength(1);
    } finally {
      await client.close();
    }
  });

  it('native /completion, a text prompt too long for the context: flagged by the server`s truncated field', async () => {
    const { client, logs } = testClient(sim.url, { dialect: 'auto' });
    try {
      const prompt = 'the quick brown fox jumps over the lazy dog '.repeat(10);
      const result = await client.streamCompletion({ prompt, maxTokens: 2, native: true }).final();
      expect(result.stats.contextTruncated).toBe(true);
      expect(cutLogs(logs)).toHaveLength(1);
    } finally {
      await client.close();
    }
  });
});

describe('llama.cpp 2026 (over-long prompts refused)', () => {
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  beforeAll(async () => {
    sim = await startSimulator({ dialect: 'llamacpp@2026', maxModelLen: N_CTX });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('a prompt as long as the context is an HTTP 400 exceed_context_size_error', async () => {
    const { client } = testClient(sim.url, { dialect: 'auto' });
    try {
      const error = await caught(() => client.streamCompletion({ prompt: ids(N_CTX), maxTokens: 2 }).final());
      expect(error.code).toBe('http_error');
      expect(error.status).toBe(400);
      expect(error.serverCode).toBe(400);
      expect(error.message).toMatch(/exceeds the available context size/);
    } finally {
      await client.close();
    }
  });

  for (const native of [false, true]) {
    it(`${native ? 'native' : '/v1'}: generation that fills the context ends with length and is not flagged`, async () => {
      const { client, logs } = testClient(sim.url, { dialect: 'auto' });
      try {
        const result = await client.streamCompletion({ prompt: ids(3), maxTokens: 100, native }).final();
        expect(result.finishReason).toBe('length');
        expect(result.usage.completionTokens).toBe(N_CTX - 3);
        expect(result.stats.contextTruncated).toBe(false);
        expect(cutLogs(logs)).toHaveLength(0);
      } finally {
        await client.close();
      }
    });
  }
});

describe('a native final event with truncated: true (loopback server)', () => {
  /** One token event, then the final event with these fields (2026 master's native shape). */
  function nativeAnswer(res: ServerResponse, final: Record<string, unknown>): void {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(
      `data: ${JSON.stringify({ index: 0, content: 'a', tokens: [7], stop: false, id_slot: -1, tokens_predicted: 1, tokens_evaluated: 5 })}\n\n`,
    );
    res.end(
      `data: ${JSON.stringify({ index: 0, content: '', tokens: [], stop: true, tokens_evaluated: 5, tokens_predicted: 1, has_new_line: false, stopping_word: '', ...final })}\n\n`,
    );
  }

  const cases: [string, Record<string, unknown>, boolean][] = [
    // --context-shift discarded tokens: the cache holds fewer than prompt + output - 1.
    ['context shift, stopped on EOS', { truncated: true, stop_type: 'eos', tokens_cached: 2 }, true],
    ['context shift, stopped at n_predict', { truncated: true, stop_type: 'limit', tokens_cached: 4 }, true],
    // The context filled up: every token is still there (5 + 1 - 1 = 5 cached).
    ['context full, nothing dropped', { truncated: true, stop_type: 'limit', tokens_cached: 5 }, false],
    ['not truncated', { truncated: false, stop_type: 'eos', tokens_cached: 5 }, false],
  ];
  for (const [name, final, flagged] of cases) {
    it(`${name}: ${flagged ? 'flagged' : 'not flagged'}`, async () => {
      const server = await startServer((req, res) => {
        if (req.url === '/completion') nativeAnswer(res, final);
        else {
          res.writeHead(404, { 'content-type': 'application/json' });
          res.end('{"error":{"code":404,"message":"File Not Found","type":"not_found_error"}}');
        }
      });
      const { client, logs } = testClient(server.url, { dialect: 'llamacpp' });
      try {
        const result = await client.streamCompletion({ prompt: ids(5), maxTokens: 1, native: true }).final();
        expect(result.tokens.map((t) => t.id)).toEqual([7]);
        expect(result.stats.contextTruncated).toBe(flagged);
        expect(cutLogs(logs)).toHaveLength(flagged ? 1 : 0);
      } finally {
        await client.close();
        await server.close();
      }
    });
  }
});
