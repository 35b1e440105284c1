/**
 * The client against the real bytes recorded from llama.cpp, replayed by a
 * loopback server: ids, text, finish reasons, usage, UTF-8 splits, errors.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { caught, testClient } from '../helpers/client.js';
import { fixture, recordedHead, replay, startServer, type TestServer } from '../helpers/http-server.js';

const GREEDY_8 = [24187, 30153, 7307, 5850, 31265, 15973, 5496, 26891];
const GREEDY_TEXT = ' kofakitusa kora denekoGedo HazeFakopa kico';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('recorded llama.cpp streams', () => {
  it('reads ids from /v1/completions logprobs, with usage from the final chunk', async () => {
    server = await startServer(replay('v1-completions-logprobs.sse'));
    const { client } = testClient(server.url, { dialect: 'llamacpp' });
    const result = await client.streamCompletion({ prompt: [1, 2, 3], maxTokens: 8 }).final();
    expect(result.ids).toEqual(GREEDY_8);
    expect(result.text).toBe(GREEDY_TEXT);
    expect(result.finishReason).toBe('length');
    expect(result.usage).toEqual({ promptTokens: 3, completionTokens: 8, totalTokens: 11, computed: false });
    expect(result.stats.idsIncomplete).toBe(false);
    expect(server.requests[0].json).toMatchObject({
      prompt: [1, 2, 3],
      max_tokens: 8,
      logprobs: 1,
      stream: true,
    });
    await client.close();
  });

  it('chat (no logprobs in that recording): usage from the finish chunk, text as recorded, the missing ids reported', async () => {
    server = await startServer(replay('v1-chat-stream.sse'));
    const { client, logs } = testClient(server.url, { dialect: 'llamacpp' });
    const result = await client
      .streamChat({ messages: [{ role: 'user', content: 'Hello world' }], maxTokens: 8 })
      .final();
    const recorded = fixture('v1-chat-stream.sse')
      .toString('utf8')
      .split('\n')
      .filter((line) => line.startsWith('data: {'))
      .map((line) => JSON.parse(line.slice(6)).choices[0].delta.content ?? '')
      .join('');
    expect(result.message.content).toBe(recorded);
    expect(result.usage).toEqual({ promptTokens: 58, completionTokens: 8, totalTokens: 66, computed: false });
    // The client asked for logprobs (ids); these bytes answered a request without them.
    expect(result.tokenIds).toBeUndefined();
    expect(result.stats.idsIncomplete).toBe(true);
    expect(logs.some((record) => record.event === 'ids_missing')).toBe(true);
    await client.close();
  });

  it('reads the native /completion stream, which ends with "stop": true and no [DONE]', async () => {
    server = await startServer(replay('native-completion.sse'));
    const { client } = testClient(server.url, { dialect: 'llamacpp' });
    const events = [];
    for await (const event of client.streamCompletion({ prompt: [1, 2, 3], maxTokens: 8, native: true })) {
      events.push(event);
    }
    const tokens = events.filter((e) => e.type === 'token');
    expect(tokens.map((t) => t.id)).toEqual(GREEDY_8);
    const done = events.at(-1);
    expect(done).toMatchObject({ type: 'done', finishReason: 'length', tokenIds: GREEDY_8 });
    expect(server.requests[0].url).toBe('/completion');
    expect(server.requests[0].json).toMatchObject({ prompt: [1, 2, 3], n_predict: 8, stream: true });
    await client.close();
  });

  it('gives the same events however the recorded bytes are split (1-byte chunks)', async () => {
    server = await startServer(replay('v1-completions-logprobs.sse', { chunkSize: 1 }));
    const { client } = testClient(server.url, { dialect: 'llamacpp' });
    const result = await client.streamCompletion({ prompt: [1, 2, 3], maxTokens: 8 }).final();
    expect(result.ids).toEqual(GREEDY_8);
    expect(result.text).toBe(GREEDY_TEXT);
    await client.close();
  });

  it('keeps empty-text tokens of a partial stop-string match, with the held-back text on the next', async () => {
    server = await startServer(replay('stop-partial-v1.sse'));
    const { client } = testClient(server.url, { dialect: 'llamacpp' });
    const result = await client
      .streamCompletion({ prompt: [1, 2, 3], maxTokens: 8, stop: ['tusaX'] })
      .final();
    expect(result.tokens[1]).toEqual({ type: 'token', id: 30153, text: '', logprob: expect.any(Number) });
    expect(result.tokens[2]).toMatchObject({ id: 7307, text: 'tusa kora' });
    expect(result.text).toBe(GREEDY_TEXT);
    await client.close();
  });

  it('reports ids lost inside a split UTF-8 character as idsIncomplete, text intact', async () => {
    server = await startServer(replay('utf8-split-grammar-native.sse'));
    const { client, logs } = testClient(server.url, { dialect: 'llamacpp' });
    const result = await client.streamCompletion({ prompt: [1, 2, 3], maxTokens: 8, native: true }).final();
    expect(result.text).toBe('a語b');
    expect(result.ids).not.toContain(235);
    expect(result.ids).toContain(161);
    expect(result.stats.idsIncomplete).toBe(true);
    expect(logs.some((r) => r.event === 'ids_incomplete' && r.level === 'warn')).toBe(true);
    await client.close();
  });

  it('passes a lone continuation byte through as its own token with U+FFFD', async () => {
    server = await startServer(replay('invalid-utf8-byte-native.sse'));
    const { client } = testClient(server.url, { dialect: 'llamacpp' });
    const result = await client
      .streamCompletion({ prompt: [1, 5, 6, 7, 8], maxTokens: 8, native: true })
      .final();
    const lone = result.tokens.find((t) => t.id === 150);
    expect(lone?.text).toBe('\uFFFD');
    expect(result.stats.idsIncomplete).toBe(false);
    await client.close();
  });

  it('turns the non-standard `error:` line into server_error, keeping the 13 tokens before it', async () => {
    server = await startServer(replay('error-in-stream.sse'));
    const { client } = testClient(server.url, { dialect: 'llamacpp' });
    const error = await caught(() => client.streamCompletion({ prompt: [1, 2, 3], maxTokens: 200 }).final());
    expect(error.code).toBe('server_error');
    expect(error.message).toContain('context shift is disabled');
    expect(error.message).toContain(`POST ${server.url}/v1/completions`);
    expect((error.partial as unknown[]).length).toBe(13);
    await client.close();
  });

  it('turns an error-only native stream into server_error with the server code', async () => {
    server = await startServer(replay('error-in-stream-prompt-native.sse'));
    const { client } = testClient(server.url, { dialect: 'llamacpp' });
    const error = await caught(() => client.streamCompletion({ prompt: [1, 2, 3], native: true }).final());
    expect(error.code).toBe('server_error');
    expect(error.serverCode).toBe(400);
    expect(error.message).toContain('exceeds the available context size');
    expect(error.partial).toEqual([]);
    await client.close();
  });

  it.each([
    ['error-http.txt', 500, 'parse error'],
    ['error-http-missing-prompt.txt', 500, '"prompt" is required'],
    ['error-http-context.txt', 400, 'exceeds the available context size'],
    ['error-http-404.txt', 404, 'File Not Found'],
  ])('recorded HTTP error %s → http_error %i with the server message', async (name, status, message) => {
    const recorded = recordedHead(fixture(name).toString('utf8'));
    server = await startServer((_req, res) => {
      res.writeHead(recorded.status, { 'content-type': recorded.headers['content-type'] });
      res.end(recorded.body);
    });
    const { client } = testClient(server.url, { dialect: 'llamacpp' });
    const error = await caught(() => client.streamCompletion({ prompt: [1, 2, 3] }).final());
    expect(error.code).toBe('http_error');
    expect(error.status).toBe(status);
    expect(error.message).toBe(
      `HTTP ${status} (POST ${server.url}/v1/completions): ${JSON.parse(recorded.body).error.message}`,
    );
    expect(error.message).toContain(message);
    expect(error.retryable).toBe(status >= 500);
    await client.close();
  });
});
