/**
 * What a server sends that cannot be taken at its word: ids that are not
 * non-negative integers, a stream with no choice 0, tokens after the finish reason,
 * usage that contradicts the ids received, and a continuation whose echoed prompt
 * is not the prompt that was sent. Each against a small loopback server.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ChatEvent, TokenEvent } from '../../src/index.js';
import { caught, testClient } from '../helpers/client.js';
import { sse, startServer, type TestServer } from '../helpers/http-server.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A completions chunk whose `token_ids` is written as given (any JSON). */
function rawChunk(text: string, ids: unknown, finish: string | null = null, extra = {}): string {
  return JSON.stringify({
    id: 'c',
    choices: [{ index: 0, text, token_ids: ids, finish_reason: finish, ...extra }],
  });
}
function usage(prompt: number, completion: number): string {
  return JSON.stringify({
    choices: [],
    usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
  });
}

describe('ids that are not non-negative integers', () => {
  it.each([
    ['a canonical integer string "5" is the id 5', ['5'], 5, false],
    ['"0" is the id 0', ['0'], 0, false],
    ['5.5 is no id', [5.5], undefined, true],
    ['-1 is no id', [-1], undefined, true],
    ['"05" (not canonical) is no id', ['05'], undefined, true],
    ['"5.0" is no id', ['5.0'], undefined, true],
    ['" 5" is no id', [' 5'], undefined, true],
    ['null is no id', [null], undefined, true],
    ['2^53 (not a safe integer) is no id', [2 ** 53], undefined, true],
    ['true is no id', [true], undefined, true],
  ])('%s', async (_name, ids, expected, incomplete) => {
    server = await startServer((_req, res) =>
      sse(res, [rawChunk('a', [10]), rawChunk('b', ids), rawChunk('c', [12], 'length'), '[DONE]']),
    );
    const { client, logs } = testClient(server.url, { dialect: 'vllm' });
    const result = await client.streamCompletion({ prompt: [1, 2], maxTokens: 3 }).final();
    await client.close();
    expect(result.ids).toEqual([10, expected, 12]);
    expect(result.stats.idsIncomplete).toBe(incomplete);
    expect(logs.some((r) => r.event === 'bad_token_id')).toBe(incomplete);
    if (incomplete) expect(result.tokens.map((t) => t.text).join('')).toBe('abc');
  });

  it('a stream with a bad id is never resumed from its ids', async () => {
    server = await startServer((_req, res) => sse(res, [rawChunk('a', [10]), rawChunk('b', [-1])], true));
    const { client, logs } = testClient(server.url, {
      dialect: 'vllm',
      retry: { maxAttempts: 3, baseDelayMs: 1 },
    });
    const error = await caught(() => client.streamCompletion({ prompt: [1, 2], maxTokens: 8 }).final());
    await client.close();
    expect(error.code).toBe('stream_truncated');
    expect((error.partial as TokenEvent[]).map((t) => t.id)).toEqual([10, undefined]);
    expect(server.requests).toHaveLength(1);
    expect(logs.some((r) => r.event === 'resume')).toBe(false);
  });

  it('chat: the same rule for the ids of text deltas', async () => {
    server = await startServer((_req, res) =>
      sse(res, [
        JSON.stringify({ choices: [{ index: 0, delta: { content: 'a' }, token_ids: ['7'] }] }),
        JSON.stringify({
          choices: [{ index: 0, delta: { content: 'b' }, token_ids: [7.5], finish_reason: 'stop' }],
        }),
        '[DONE]',
      ]),
    );
    const { client, logs } = testClient(server.url, { dialect: 'vllm' });
    const stream = client.streamChat({ messages: [{ role: 'user', content: 'x' }] });
    const events: ChatEvent[] = [];
    for await (const event of stream) events.push(event);
    await client.close();
    const done = events.at(-1);
    expect(done?.type === 'done' && done.stats.idsIncomplete).toBe(true);
    expect(done?.type === 'done' && done.tokenIds).toBeUndefined();
    // A delta whose id is not one carries no ids (as from a server that sends none).
    expect(events.filter((e) => e.type === 'text').map((e) => (e.type === 'text' ? e.ids : 0))).toEqual([
      [7],
      undefined,
    ]);
    expect(logs.some((r) => r.event === 'bad_token_id')).toBe(true);
  });

  it('prompt ids with a bad entry are not trusted (a text prompt then resumes approximately, and says so)', async () => {
    let n = 0;
    server = await startServer((_req, res) => {
      n++;
      if (n === 1) {
        sse(res, [rawChunk('a', [10], null, { prompt_token_ids: [1, 'x', 3] })], true);
      } else {
        sse(res, [rawChunk('b', [11], 'length'), '[DONE]']);
      }
    });
    const { client, logs } = testClient(server.url, {
      dialect: 'vllm',
      retry: { maxAttempts: 3, baseDelayMs: 1 },
    });
    const result = await client.streamCompletion({ prompt: 'hello', maxTokens: 2 }).final();
    await client.close();
    expect(result.ids).toEqual([10, 11]);
    expect(logs.some((r) => r.event === 'bad_token_id')).toBe(true);
    expect(logs.some((r) => r.event === 'resume_approximate')).toBe(true);
    expect((server.requests[1].json as { prompt: unknown }).prompt).toBe('helloa');
  });
});

describe('no choice 0, tokens after the finish reason, usage against the ids', () => {
  it('a stream without any choice 0 (only another choice, then [DONE]) is protocol_error, not an empty success', async () => {
    server = await startServer((_req, res) =>
      sse(res, [
        JSON.stringify({ choices: [{ index: 1, text: 'x', token_ids: [5], finish_reason: 'stop' }] }),
        '[DONE]',
      ]),
    );
    const { client } = testClient(server.url, { dialect: 'vllm' });
    const error = await caught(() => client.streamCompletion({ prompt: [1], maxTokens: 4 }).final());
    await client.close();
    expect(error.code).toBe('protocol_error');
    expect(error.message).toContain('choice 0');
  });

  it.each([
    ['only a usage chunk', [usage(1, 0), '[DONE]']],
    ['nothing but [DONE]', ['[DONE]']],
    [
      'a role chunk and [DONE] (chat)',
      [JSON.stringify({ choices: [{ index: 0, delta: { role: 'assistant' } }] }), '[DONE]'],
    ],
  ])('%s: protocol_error', async (_name, events) => {
    server = await startServer((_req, res) => sse(res, events));
    const { client } = testClient(server.url, { dialect: 'vllm' });
    const error = await caught(() =>
      client.streamChat({ messages: [{ role: 'user', content: 'x' }], maxTokens: 4 }).final(),
    );
    await client.close();
    expect(error.code).toBe('protocol_error');
  });

  it('output then [DONE] without any finish reason: complete, reported as stop, and the anomaly logged', async () => {
    server = await startServer((_req, res) => sse(res, [rawChunk('a', [10]), '[DONE]']));
    const { client, logs } = testClient(server.url, { dialect: 'vllm' });
    const result = await client.streamCompletion({ prompt: [1], maxTokens: 4 }).final();
    await client.close();
    expect(result.ids).toEqual([10]);
    expect(result.finishReason).toBe('stop');
    expect(logs.some((r) => r.event === 'no_finish_reason')).toBe(true);
  });

  it('tokens after the finish reason are kept and reported as an anomaly', async () => {
    server = await startServer((_req, res) =>
      sse(res, [rawChunk('a', [10], 'length'), rawChunk('b', [11]), '[DONE]']),
    );
    const { client, logs } = testClient(server.url, { dialect: 'vllm' });
    const result = await client.streamCompletion({ prompt: [1], maxTokens: 1 }).final();
    await client.close();
    expect(result.ids).toEqual([10, 11]);
    expect(result.finishReason).toBe('length');
    expect(logs.filter((r) => r.event === 'token_after_finish')).toHaveLength(1);
  });

  it('a usage chunk counting fewer completion tokens than ids received is not believed', async () => {
    server = await startServer((_req, res) =>
      sse(res, [
        rawChunk('a', [10]),
        rawChunk('b', [11]),
        rawChunk('c', [12], 'length'),
        usage(2, 2),
        '[DONE]',
      ]),
    );
    const { client, logs } = testClient(server.url, { dialect: 'vllm' });
    const result = await client.streamCompletion({ prompt: [1, 2], maxTokens: 3 }).final();
    await client.close();
    expect(result.usage).toEqual({ promptTokens: 2, completionTokens: 3, totalTokens: 5, computed: true });
    expect(logs.some((r) => r.event === 'usage_mismatch')).toBe(true);
  });

  it('a usage chunk whose prompt count contradicts the id prompt sent is reported', async () => {
    server = await startServer((_req, res) =>
      sse(res, [rawChunk('a', [10], 'length'), usage(7, 1), '[DONE]']),
    );
    const { client, logs } = testClient(server.url, { dialect: 'vllm' });
    const result = await client.streamCompletion({ prompt: [1, 2], maxTokens: 1 }).final();
    await client.close();
    expect(result.usage.completionTokens).toBe(1);
    expect(logs.some((r) => r.event === 'usage_mismatch')).toBe(true);
  });
});

describe('a continuation the server did not continue', () => {
  /** vLLM-style: prompt ids echoed on the first chunk; the first request breaks after 3 tokens. */
  function continuationServer(echo: (sent: number[]) => number[]) {
    let n = 0;
    return startServer((req, res) => {
      n++;
      const sent = (req.json as { prompt: number[] }).prompt;
      if (n === 1) {
        sse(
          res,
          [rawChunk('a', [10], null, { prompt_token_ids: sent }), rawChunk('b', [11]), rawChunk('c', [12])],
          true,
        );
        return;
      }
      // The server regenerates from what it says the prompt was.
      sse(res, [
        rawChunk('x', [20], null, { prompt_token_ids: echo(sent) }),
        rawChunk('y', [21], 'length'),
        '[DONE]',
      ]);
    });
  }

  it.each([
    ['restarted the generation (echoed the original prompt only)', (sent: number[]) => sent.slice(0, 2)],
    ['truncated the prompt (dropped its first id)', (sent: number[]) => sent.slice(1)],
    ['changed an id', (sent: number[]) => [...sent.slice(0, -1), 99]],
  ])('%s: protocol_error, no duplicated tokens, no success', async (_name, echo) => {
    server = await continuationServer(echo);
    const { client, logs } = testClient(server.url, {
      dialect: 'vllm',
      retry: { maxAttempts: 3, baseDelayMs: 1 },
    });
    const error = await caught(() => client.streamCompletion({ prompt: [1, 2], maxTokens: 5 }).final());
    await client.close();
    expect(logs.some((r) => r.event === 'resume')).toBe(true);
    expect(error.code).toBe('protocol_error');
    expect(error.message).toContain('prompt');
    expect((error.partial as TokenEvent[]).map((t) => t.id)).toEqual([10, 11, 12]);
    expect(server.requests).toHaveLength(2);
  });

  it('an echo equal to the continuation sent is fine', async () => {
    server = await continuationServer((sent) => sent);
    const { client } = testClient(server.url, { dialect: 'vllm', retry: { maxAttempts: 3, baseDelayMs: 1 } });
    const result = await client.streamCompletion({ prompt: [1, 2], maxTokens: 5 }).final();
    await client.close();
    expect(result.ids).toEqual([10, 11, 12, 20, 21]);
  });

  it('a first attempt whose echo is not the id prompt sent fails too', async () => {
    server = await startServer((_req, res) =>
      sse(res, [rawChunk('a', [10], 'length', { prompt_token_ids: [2] }), '[DONE]']),
    );
    const { client } = testClient(server.url, { dialect: 'vllm' });
    const error = await caught(() => client.streamCompletion({ prompt: [1, 2], maxTokens: 1 }).final());
    await client.close();
    expect(error.code).toBe('protocol_error');
    expect((error.partial as TokenEvent[]).length).toBe(0);
  });
});
