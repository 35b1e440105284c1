/**
 * The client against loopback servers that write what each server's source
 * writes (shapes cited in src/dialects/wire-facts-*.ts and docs/servers.md):
 * SGLang chat ids at the end in sglext (plain and `event: sglext_ids`), its 400
 * for `return_token_ids` on a streamed chat, `finish_reason: "abort"`; vLLM's 400
 * for priority without priority scheduling, an old vLLM that ignores
 * `return_token_ids`; Together's `delta.token_id` (and null), `eos`; Fireworks'
 * live ids; OpenRouter's X-Generation-Id; server and version detection.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { caught, testClient } from '../helpers/client.js';
import { type Handler, type SeenRequest, startServer, type TestServer } from '../helpers/http-server.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const MESSAGES = [{ role: 'user', content: 'hi' }];

function writeSse(res: Parameters<Handler>[1], events: string[]): void {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  for (const event of events) res.write(event.startsWith('event:') ? `${event}\n\n` : `data: ${event}\n\n`);
  res.end();
}

function json(
  res: Parameters<Handler>[1],
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** A chunk as SGLang's ChatCompletionStreamResponse.model_dump_json writes it (nulls included). */
function sglangChunk(choices: unknown[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    id: 'c1',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'm',
    choices,
    usage: null,
    ...extra,
  });
}
const sglDelta = (delta: Record<string, unknown>, finish: string | null = null, matched: unknown = null) => ({
  index: 0,
  delta: { role: null, content: null, reasoning_content: null, tool_calls: null, ...delta },
  logprobs: null,
  finish_reason: finish,
  matched_stop: matched,
});

/**
 * SGLang chat (serving_chat.py `_convert_to_internal_request`, `_generate_chat_stream`): a 400
 * for `return_token_ids` with `stream`; role chunk, content, a finish chunk of its own, the
 * sglext ids chunk (as `event: sglext_ids` with `x-sglext-ids-framed: 1`), usage, [DONE].
 */
function sglangChat(output: number[], input: number[]): Handler {
  return (req: SeenRequest, res) => {
    const body = req.json as Record<string, unknown>;
    if (body.stream === true && body.return_token_ids === true) {
      json(res, 400, {
        object: 'error',
        message:
          'return_token_ids is not supported with streaming on /v1/chat/completions. Please set stream=false when using return_token_ids=true.',
        type: 'BadRequestError',
        param: null,
        code: 400,
      });
      return;
    }
    const ext = {
      routed_experts: null,
      cached_tokens_details: null,
      spec_tokens_details: null,
      input_ids: body.return_input_ids_in_sglext ? input : null,
      output_ids: body.return_output_ids_in_sglext ? [output] : null,
    };
    const idsChunk = sglangChunk([], { sglext: ext });
    writeSse(res, [
      sglangChunk([sglDelta({ role: 'assistant', content: '' })]),
      sglangChunk([sglDelta({ content: 'Hel' })]),
      sglangChunk([sglDelta({ content: 'lo' })]),
      sglangChunk([sglDelta({}, 'stop', 2)]),
      req.headers['x-sglext-ids-framed'] === '1' ? `event: sglext_ids\ndata: ${idsChunk}` : idsChunk,
      sglangChunk([], {
        usage: { prompt_tokens: input.length, completion_tokens: output.length, total_tokens: 6 },
      }),
      '[DONE]',
    ]);
  };
}

describe('SGLang chat', () => {
  it('asks with the sglext flags (never return_token_ids); text streams, the ids come at the end', async () => {
    server = await startServer(sglangChat([5, 6, 2], [1, 2, 3]));
    const { client } = testClient(server.url, { dialect: 'sglang' });
    const stream = client.streamChat({ messages: MESSAGES, maxTokens: 8 });
    const events = [];
    for await (const event of stream) events.push(event);
    const result = await stream.final();
    expect(result.message.content).toBe('Hello');
    expect(events.filter((event) => event.type === 'text').every((event) => event.ids === undefined)).toBe(
      true,
    );
    expect(result.tokenIds).toEqual([5, 6, 2]);
    expect(result.finishReason).toBe('stop');
    expect(result.usage).toMatchObject({ promptTokens: 3, completionTokens: 3, computed: false });
    expect(result.stats.idsIncomplete).toBe(false);
    const body = server.requests[0].json as Record<string, unknown>;
    expect(body.return_token_ids).toBeUndefined();
    expect(body).toMatchObject({ return_output_ids_in_sglext: true, return_input_ids_in_sglext: true });
    await client.close();
  });

  it('decodes the framed `event: sglext_ids` form too', async () => {
    server = await startServer(sglangChat([7, 8], [1]));
    const { client } = testClient(server.url, { dialect: 'sglang', headers: { 'x-sglext-ids-framed': '1' } });
    const result = await client.streamChat({ messages: MESSAGES, maxTokens: 8 }).final();
    expect(result.tokenIds).toEqual([7, 8]);
    await client.close();
  });

  it('return_token_ids on a streamed chat is the server’s 400, with its message', async () => {
    server = await startServer(sglangChat([5], [1]));
    const { client } = testClient(server.url, { dialect: 'sglang', retry: false });
    const error = await caught(() =>
      client.streamChat({ messages: MESSAGES, maxTokens: 8, extraBody: { return_token_ids: true } }).final(),
    );
    expect(error.code).toBe('http_error');
    expect(error.status).toBe(400);
    expect(error.message).toContain(
      'return_token_ids is not supported with streaming on /v1/chat/completions',
    );
    await client.close();
  });

  it('finish_reason "abort" (a server-side abort) is a server_error, not a completion', async () => {
    server = await startServer((_req, res) =>
      writeSse(res, [
        JSON.stringify({ choices: [{ index: 0, text: 'a', token_ids: [4], finish_reason: null }] }),
        JSON.stringify({ choices: [{ index: 0, text: '', token_ids: [], finish_reason: 'abort' }] }),
        '[DONE]',
      ]),
    );
    const { client } = testClient(server.url, { dialect: 'sglang', retry: false });
    const error = await caught(() => client.streamCompletion({ prompt: [1, 2], maxTokens: 8 }).final());
    expect(error.code).toBe('server_error');
    expect(error.message).toContain('aborted');
    expect((error.partial as { id: number }[]).map((token) => token.id)).toEqual([4]);
    await client.close();
  });
});

describe('vLLM', () => {
  it("a non-zero priority without --scheduling-policy priority: the server's 400, saying how to fix it", async () => {
    // v1/engine/input_processor.py: `Got priority {priority} but Priority scheduling is not enabled.`
    server = await startServer((req, res) => {
      const priority = (req.json as { priority?: number }).priority ?? 0;
      if (priority !== 0) {
        json(res, 400, {
          error: {
            message: `Got priority ${priority} but Priority scheduling is not enabled.`,
            type: 'BadRequestError',
            param: null,
            code: 400,
          },
        });
        return;
      }
      writeSse(res, [
        JSON.stringify({ choices: [{ index: 0, text: 'a', token_ids: [4], finish_reason: 'length' }] }),
        '[DONE]',
      ]);
    });
    const { client } = testClient(server.url, { dialect: 'vllm', retry: false });
    const error = await caught(() =>
      client.streamCompletion({ prompt: [1], maxTokens: 1, priority: 3 }).final(),
    );
    expect(error.code).toBe('http_error');
    expect(error.message).toContain('Got priority 3 but Priority scheduling is not enabled.');
    expect(error.message).toContain('--scheduling-policy priority');
    // Priority 0 is not a refusal.
    expect((await client.streamCompletion({ prompt: [1], maxTokens: 1, priority: 0 }).final()).ids).toEqual([
      4,
    ]);
    await client.close();
  });

  it('a server that ignores return_token_ids (older than 0.10.2): ids_missing, idsIncomplete, never resumed from', async () => {
    server = await startServer((_req, res) =>
      writeSse(res, [
        JSON.stringify({ choices: [{ index: 0, text: 'a', logprobs: null, finish_reason: null }] }),
        JSON.stringify({ choices: [{ index: 0, text: 'b', logprobs: null, finish_reason: 'length' }] }),
        '[DONE]',
      ]),
    );
    const { client, logs } = testClient(server.url, { dialect: 'vllm' });
    const result = await client.streamCompletion({ prompt: [1, 2], maxTokens: 2 }).final();
    expect(result.text).toBe('ab');
    expect(result.stats.idsIncomplete).toBe(true);
    const anomaly = logs.find((record) => record.event === 'ids_missing');
    expect(anomaly).toMatchObject({ level: 'warn', tokens: 2, idsReceived: 0 });
    expect(String(anomaly?.note)).toContain('return_token_ids');
    await client.close();
  });
});

describe('Together', () => {
  it('ids in choices[0].delta.token_id; a null id makes the ids incomplete; "eos" is stop', async () => {
    server = await startServer((_req, res) =>
      writeSse(res, [
        JSON.stringify({ choices: [{ index: 0, text: 'a', delta: { token_id: 10 }, finish_reason: null }] }),
        JSON.stringify({
          choices: [{ index: 0, text: 'b', delta: { token_id: null }, finish_reason: null }],
        }),
        JSON.stringify({
          choices: [{ index: 0, text: '', delta: { token_id: 2 }, finish_reason: 'eos' }],
          usage: { prompt_tokens: 1, completion_tokens: 3, total_tokens: 4 },
        }),
        '[DONE]',
      ]),
    );
    const { client, logs } = testClient(server.url, { dialect: 'together' });
    const result = await client.streamCompletion({ prompt: [1], maxTokens: 3 }).final();
    expect(result.tokens.map((token) => token.id)).toEqual([10, undefined, 2]);
    expect(result.finishReason).toBe('stop');
    expect(result.stats.idsIncomplete).toBe(true);
    expect(logs.some((record) => record.event === 'ids_missing')).toBe(true);
    await client.close();
  });
});

describe('Fireworks', () => {
  it('ids live with return_token_ids, prompt ids on the first chunk', async () => {
    server = await startServer((_req, res) =>
      writeSse(res, [
        JSON.stringify({
          choices: [{ index: 0, text: 'a', token_ids: [7], prompt_token_ids: [1], finish_reason: null }],
        }),
        JSON.stringify({ choices: [{ index: 0, text: 'b', token_ids: [8], finish_reason: 'length' }] }),
        '[DONE]',
      ]),
    );
    const { client } = testClient(server.url, { dialect: 'fireworks' });
    const stream = client.streamCompletion({ prompt: [1], maxTokens: 2 });
    const tokens = [];
    for await (const event of stream) if (event.type === 'token') tokens.push(event.id);
    expect(tokens).toEqual([7, 8]);
    expect(server.requests[0].json).toMatchObject({ return_token_ids: true });
    await client.close();
  });
});

describe('OpenRouter', () => {
  it('X-Generation-Id is the error’s requestId', async () => {
    server = await startServer((_req, res) =>
      json(res, 400, { error: { message: 'bad', code: 400 } }, { 'x-generation-id': 'gen-123' }),
    );
    const { client } = testClient(server.url, { dialect: 'openrouter', retry: false });
    const error = await caught(() => client.streamChat({ messages: MESSAGES, maxTokens: 1 }).final());
    expect(error.requestId).toBe('gen-123');
    await client.close();
  });
});

/** A server that answers the info endpoints of one family. */
function infoServer(answers: Record<string, unknown>, stream: Handler): Handler {
  return (req, res, raw) => {
    if (req.method === 'GET') {
      if (req.url in answers) json(res, 200, answers[req.url]);
      else json(res, 404, { error: { message: 'Not Found' } });
      return;
    }
    return stream(req, res, raw);
  };
}

describe('server and version detection', () => {
  const legacyStream: Handler = (_req, res) =>
    writeSse(res, [
      JSON.stringify({
        choices: [
          {
            index: 0,
            text: 'a',
            logprobs: { tokens: ['token_id:42'], token_logprobs: [-0.5] },
            finish_reason: 'length',
          },
        ],
      }),
      '[DONE]',
    ]);

  it.each([
    ['0.10.1', { logprobs: 1, return_tokens_as_token_ids: true }, 'return_token_ids'],
    ['0.10.2', { return_token_ids: true }, 'return_tokens_as_token_ids'],
  ])('vLLM %s: GET /version picks the id flags', async (version, sent, notSent) => {
    server = await startServer(
      infoServer(
        { '/v1/models': { data: [{ id: 'm', owned_by: 'vllm' }] }, '/version': { version } },
        legacyStream,
      ),
    );
    const { client } = testClient(server.url);
    expect(await client.server()).toEqual({
      dialect: 'vllm',
      version,
      detectedBy: ['GET /v1/models', 'GET /version'],
      versionPath: '/version',
    });
    const result = await client.streamCompletion({ prompt: [1], maxTokens: 1 }).final();
    const body = server.requests.find((r) => r.method === 'POST')?.json as Record<string, unknown>;
    expect(body).toMatchObject(sent);
    expect(body[notSent]).toBeUndefined();
    if (version === '0.10.1') expect(result.ids).toEqual([42]);
    // Detected once per client.
    expect(server.requests.filter((r) => r.url === '/version')).toHaveLength(1);
    await client.close();
  });

  it('SGLang: GET /server_info gives the version and the priority order', async () => {
    server = await startServer(
      infoServer(
        {
          '/v1/models': { data: [{ id: 'm', owned_by: 'sglang' }] },
          '/server_info': { model_path: 'm', version: '0.5.3', schedule_low_priority_values_first: true },
        },
        (_req, res) =>
          writeSse(res, [
            JSON.stringify({ choices: [{ index: 0, text: 'a', token_ids: [3], finish_reason: 'length' }] }),
            '[DONE]',
          ]),
      ),
    );
    const { client } = testClient(server.url);
    expect(await client.server()).toEqual({
      dialect: 'sglang',
      version: '0.5.3',
      detectedBy: ['GET /v1/models', 'GET /server_info'],
      versionPath: '/server_info',
    });
    await client.streamCompletion({ prompt: [1], maxTokens: 1, priority: 4 }).final();
    // Low values first on this server: our convention is passed as is.
    expect(server.requests.find((r) => r.method === 'POST')?.json).toMatchObject({ priority: 4 });
    await client.close();
  });

  it('llama.cpp: GET /props build_info picks the b4748 or 2026 wire', async () => {
    const chat: Handler = (_req, res) =>
      writeSse(res, [
        JSON.stringify({ choices: [{ index: 0, delta: { content: 'a' }, finish_reason: 'stop' }] }),
        '[DONE]',
      ]);
    for (const [build, usage] of [
      ['b4748-c392e5094', undefined],
      ['b10587-3f545becc', { include_usage: true }],
    ] as const) {
      server = await startServer(
        infoServer(
          { '/v1/models': { data: [{ id: 'm', owned_by: 'llamacpp' }] }, '/props': { build_info: build } },
          chat,
        ),
      );
      const { client } = testClient(server.url);
      expect(await client.server()).toEqual({
        dialect: 'llamacpp',
        version: build,
        detectedBy: ['GET /v1/models', 'GET /props'],
        versionPath: '/props',
      });
      await client.streamChat({ messages: MESSAGES, maxTokens: 1 }).final();
      const body = server.requests.find((r) => r.method === 'POST')?.json as Record<string, unknown>;
      expect(body.stream_options, build).toEqual(usage);
      expect(body.logprobs).toBe(true);
      await client.close();
      await server.close();
      server = undefined;
    }
  });

  it('an unknown /v1/models: the info endpoints are probed (/props first)', async () => {
    server = await startServer(
      infoServer(
        { '/v1/models': { data: [{ id: 'm' }] }, '/server_info': { model_path: 'x', version: '0.5.1' } },
        legacyStream,
      ),
    );
    const { client } = testClient(server.url);
    expect(await client.server()).toEqual({
      dialect: 'sglang',
      version: '0.5.1',
      detectedBy: ['GET /server_info'],
      versionPath: '/server_info',
    });
    expect(server.requests.map((r) => r.url)).toEqual(['/v1/models', '/props', '/server_info']);
    await client.close();
  });

  it('nothing answers: the generic dialect, no version; a named dialect probes nothing', async () => {
    server = await startServer(infoServer({}, legacyStream));
    const auto = testClient(server.url);
    expect(await auto.client.server()).toEqual({ dialect: 'openai', version: undefined, detectedBy: [] });
    await auto.client.close();
    const before = server.requests.length;
    const named = testClient(server.url, { dialect: 'vllm' });
    expect(await named.client.server()).toEqual({ dialect: 'vllm', version: undefined });
    expect(server.requests.length).toBe(before);
    await named.client.close();
  });
});
