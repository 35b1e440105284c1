/**
 * The client against bytes recorded from a 2026 llama.cpp master `llama-server`
 * (build b10587, test/fixtures/llamacpp-2026), replayed by a loopback server:
 * ids live from logprobs (completions and chat), usage where the server sent it
 * (completions always, chat only with include_usage), the role chunk, a
 * mid-stream `data: {"error":…}` with no [DONE], and HTTP errors before the stream.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { caught, testClient } from '../helpers/client.js';
import { type Handler, recordedHead, startServer, type TestServer } from '../helpers/http-server.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'llamacpp-2026', 'examples');

function recording(name: string): { status: number; headers: Record<string, string>; body: Buffer } {
  const bytes = readFileSync(join(DIR, name));
  const split = bytes.indexOf('\r\n\r\n');
  const { status, headers } = recordedHead(bytes.subarray(0, split).toString('latin1'));
  return { status, headers, body: bytes.subarray(split + 4) };
}

/** Replays a recorded response: status, headers, then the body bytes (in `chunkSize` pieces). */
function replay2026(name: string, chunkSize?: number): Handler {
  return (_req, res) => {
    const { status, headers, body } = recording(name);
    delete headers['content-length'];
    delete headers['transfer-encoding'];
    res.writeHead(status, headers);
    const size = chunkSize ?? body.length;
    for (let i = 0; i < body.length; i += size) res.write(body.subarray(i, i + size));
    res.end();
  };
}

// biome-ignore lint/suspicious/noExplicitAny: recorded wire JSON, read field by field in the tests.
type Json = any;

/** The `data:` JSON events of a recording, read independently of the decoders. */
function events(name: string): Json[] {
  return recording(name)
    .body.toString('utf8')
    .split('\n')
    .filter((line) => line.startsWith('data: {'))
    .map((line) => JSON.parse(line.slice(6)));
}

function recordedIds(name: string): number[] {
  return events(name).flatMap((e) =>
    (e.choices?.[0]?.logprobs?.content ?? []).map((c: { id: number }) => c.id),
  );
}

function recordedText(name: string, field: 'text' | 'content'): string {
  return events(name)
    .map((e) => (field === 'text' ? (e.choices?.[0]?.text ?? '') : (e.choices?.[0]?.delta?.content ?? '')))
    .join('');
}

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('recorded llama.cpp 2026 (b10587) completions', () => {
  it('ids from logprobs.content[].id live, usage from the finish chunk, as recorded', async () => {
    const name = '02_v1cmpl_stream_logprobs1.txt';
    const ids = recordedIds(name);
    expect(ids).toHaveLength(8);
    server = await startServer(replay2026(name, 7));
    const { client } = testClient(server.url, { dialect: 'llamacpp' });
    const stream = client.streamCompletion({ prompt: [1, 2, 3], maxTokens: 8 });
    const events = [];
    for await (const event of stream) events.push(event);
    const result = await stream.final();
    const tokens = events.filter((event) => event.type === 'token');
    expect(tokens.map((token) => token.id)).toEqual(ids);
    expect(result.ids).toEqual(ids);
    expect(result.text).toBe(recordedText(name, 'text'));
    expect(result.finishReason).toBe('length');
    // prompt_tokens_details.cached_tokens: 2 in the recording; id and model on every chunk.
    expect(result.usage).toEqual({
      promptTokens: 3,
      completionTokens: 8,
      totalTokens: 11,
      computed: false,
      cachedPromptTokens: 2,
    });
    expect(result.responseId).toBe('chatcmpl-am5YrMvCiQJd0NaDojxqWahwjrMgJXwv');
    expect(result.model).toBe('models/tiny-32.gguf');
    expect(result.stats.idsIncomplete).toBe(false);
    expect(server.requests[0].json).toMatchObject({ logprobs: 1 });
    await client.close();
  });

  it('a stream without logprobs has no ids: the promised live ids are missing (ids_missing, idsIncomplete)', async () => {
    server = await startServer(replay2026('01_v1cmpl_stream_plain.txt'));
    const { client, logs } = testClient(server.url, { dialect: 'llamacpp' });
    const result = await client.streamCompletion({ prompt: [1, 2, 3], maxTokens: 8 }).final();
    expect(result.text).toBe(recordedText('01_v1cmpl_stream_plain.txt', 'text'));
    expect(result.usage.completionTokens).toBe(8);
    expect(result.stats.idsIncomplete).toBe(true);
    expect(logs.filter((record) => record.event === 'ids_missing')).toHaveLength(1);
    await client.close();
  });

  it('the native /completion stream: tokens[] ids, "stop": true, no [DONE]', async () => {
    const name = '20_native_completion_stream_rt.txt';
    const ids = events(name).flatMap((e) => e.tokens ?? []);
    expect(ids).toHaveLength(8);
    server = await startServer(replay2026(name));
    const { client } = testClient(server.url, { dialect: 'llamacpp' });
    const result = await client.streamCompletion({ prompt: [1, 2, 3], maxTokens: 8, native: true }).final();
    expect(result.ids).toEqual(ids);
    expect(result.finishReason).toBe('length');
    // No id in the native stream; the model and timings.cache_n only on its final event.
    expect(result.responseId).toBeUndefined();
    expect(result.model).toBe('models/tiny-32.gguf');
    expect(result.usage).toEqual({
      promptTokens: 3,
      completionTokens: 8,
      totalTokens: 11,
      computed: false,
      cachedPromptTokens: 2,
    });
    await client.close();
  });

  it('a native stream that filled the context (truncated: true, nothing dropped): length, not a cut context', async () => {
    const name = '47_c64_native_stream_400.txt';
    const final = events(name).at(-1);
    expect(final).toMatchObject({ stop: true, truncated: true, stop_type: 'limit' });
    server = await startServer(replay2026(name));
    const { client, logs } = testClient(server.url, { dialect: 'llamacpp' });
    const result = await client.streamCompletion({ prompt: [1, 2, 3], maxTokens: 400, native: true }).final();
    expect(result.finishReason).toBe('length');
    expect(result.usage.completionTokens).toBe(final.tokens_predicted);
    expect(result.stats.contextTruncated).toBe(false);
    expect(logs.filter((record) => record.event === 'context_truncated')).toEqual([]);
    await client.close();
  });

  it.each([
    ['60_c64_concurrent_v1cmpl_stream.txt', false],
    ['62_c64_concurrent_native_stream.txt', true],
  ])(
    '%s: a mid-stream data: {"error"} with no [DONE] is server_error with the message and the tokens before it',
    async (name, native) => {
      const before = events(name).filter((e) => e.error === undefined);
      server = await startServer(replay2026(name));
      const { client } = testClient(server.url, { dialect: 'llamacpp', retry: false });
      const error = await caught(() =>
        client.streamCompletion({ prompt: [1, 2, 3], maxTokens: 400, native }).final(),
      );
      expect(error.code).toBe('server_error');
      expect(error.message).toContain('Context size has been exceeded.');
      expect((error.partial as unknown[]).length).toBe(before.length);
      await client.close();
    },
  );

  it('a prompt over the context is HTTP 400 exceed_context_size_error, with the server message', async () => {
    server = await startServer(replay2026('50_c64_v1cmpl_stream_longprompt.txt'));
    const { client } = testClient(server.url, { dialect: 'llamacpp', retry: false });
    const error = await caught(() => client.streamCompletion({ prompt: [1, 2, 3], maxTokens: 8 }).final());
    expect(error.code).toBe('http_error');
    expect(error.status).toBe(400);
    expect(error.message).toContain('request (300 tokens) exceeds the available context size (256 tokens)');
    await client.close();
  });
});

describe('recorded llama.cpp 2026 (b10587) chat', () => {
  it('asks for logprobs and include_usage; ids from logprobs.content[].id live; the role chunk is not a token', async () => {
    const name = '12_chat_stream_logprobs.txt';
    const ids = recordedIds(name);
    expect(ids).toHaveLength(8);
    server = await startServer(replay2026(name, 11));
    const { client } = testClient(server.url, { dialect: 'llamacpp' });
    const result = await client
      .streamChat({ messages: [{ role: 'user', content: 'hi' }], maxTokens: 8 })
      .final();
    expect(result.tokenIds).toEqual(ids);
    expect(result.message.content).toBe(recordedText(name, 'content'));
    expect(result.finishReason).toBe('length');
    // No include_usage in that recording: the usage is computed.
    expect(result.usage.computed).toBe(true);
    expect(server.requests[0].json).toMatchObject({
      logprobs: true,
      top_logprobs: 1,
      stream_options: { include_usage: true },
    });
    await client.close();
  });

  it('with include_usage the usage comes from the choices: [] chunk before [DONE]', async () => {
    server = await startServer(replay2026('11_chat_stream_include_usage.txt'));
    const { client } = testClient(server.url, { dialect: 'llamacpp' });
    const result = await client
      .streamChat({ messages: [{ role: 'user', content: 'hi' }], maxTokens: 8 })
      .final();
    expect(result.usage).toEqual({
      promptTokens: 41,
      completionTokens: 8,
      totalTokens: 49,
      computed: false,
      cachedPromptTokens: 40,
    });
    expect(result.responseId).toBe('chatcmpl-FWqUNECeyHt3OBJth7YCOYpNpcTCTUXR');
    expect(result.model).toBe('models/tiny-32.gguf');
    expect(result.message.content).toBe(recordedText('11_chat_stream_include_usage.txt', 'content'));
    await client.close();
  });

  it('a mid-stream error is server_error with the message, no [DONE] needed', async () => {
    server = await startServer(replay2026('61_c64_concurrent_chat_stream.txt'));
    const { client } = testClient(server.url, { dialect: 'llamacpp', retry: false });
    const error = await caught(() =>
      client.streamChat({ messages: [{ role: 'user', content: 'hi' }], maxTokens: 400 }).final(),
    );
    expect(error.code).toBe('server_error');
    expect(error.message).toContain('Context size has been exceeded.');
    await client.close();
  });
});
