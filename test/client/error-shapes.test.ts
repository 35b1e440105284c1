/**
 * Every error shape a supported server has sent inside a stream, at every position
 * of the stream, ends as `server_error` with every token received before it — never
 * as a success, never as text. One table: shapes × positions × (completions, chat).
 *
 * Where each shape comes from:
 * - nested `{"error": {message, type, param, code}}`: vLLM's ErrorResponse/ErrorInfo
 *   (vllm/entrypoints/openai/protocol.py at 0052bed3, `class ErrorResponse: error: ErrorInfo`),
 *   serialized into the stream by `create_streaming_error_response`; llama.cpp 2026 (PROTOCOLS.md).
 * - nested with the old flat body inside (`{"error": {"object": "error", …}}`): older vLLM, which
 *   wrapped its flat ErrorResponse the same way (PROTOCOLS.md, "During the stream").
 * - flat `{"object": "error", "message", "type", "param", "code"}`: SGLang's ErrorResponse
 *   (python/sglang/srt/entrypoints/openai/protocol.py at 004c82e0, `class ErrorResponse:
 *   object: str = "error"`), sent as a stream event by proxies and some server versions (issue 13).
 * - llama.cpp b4748's non-standard `error: {…}` SSE field (recorded, PROTOCOLS.md).
 * - OpenRouter's chunk with `error` and `finish_reason: "error"` (PROTOCOLS.md).
 * - `finish_reason: "error"` alone; a string `"error"` (TGI-style `{"error": "…", "error_type"}`).
 * - `event: error` with a JSON body without an `error` key, or a body that is not JSON at all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenEvent } from '../../src/index.js';
import { caught, testClient } from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/http-server.js';

/** An error event as raw SSE lines (without the blank line that ends it). */
const SHAPES: [name: string, lines: string][] = [
  ['vLLM nested', 'data: {"error":{"message":"boom","type":"InternalServerError","param":null,"code":500}}'],
  [
    'older vLLM nested flat body',
    'data: {"error":{"object":"error","message":"boom","type":"InternalServerError","param":null,"code":500}}',
  ],
  [
    'flat ErrorResponse',
    'data: {"object":"error","message":"boom","type":"InternalServerError","param":null,"code":500}',
  ],
  [
    'flat ErrorResponse, string code',
    'data: {"object":"error","message":"boom","type":"x","code":"internal"}',
  ],
  ['llama.cpp error: field', 'error: {"code":500,"message":"boom","type":"server_error"}'],
  ['llama.cpp error: field, not JSON', 'error: boom'],
  [
    'OpenRouter error chunk',
    'data: {"id":"g","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}],"error":{"code":502,"message":"boom"}}',
  ],
  [
    'finish_reason "error" (completions)',
    'data: {"choices":[{"index":0,"text":"","finish_reason":"error"}]}',
  ],
  ['finish_reason "error" (chat)', 'data: {"choices":[{"index":0,"delta":{},"finish_reason":"error"}]}'],
  ['string error', 'data: {"error":"boom","error_type":"generation"}'],
  ['event: error, JSON body', 'event: error\ndata: {"message":"boom","code":500}'],
  ['event: error, text body', 'event: error\ndata: boom'],
];

type Kind = 'completion' | 'chat';

function tokenChunk(kind: Kind, text: string, id: number, finish: string | null = null): string {
  const choice =
    kind === 'completion'
      ? { index: 0, text, token_ids: [id], finish_reason: finish }
      : { index: 0, delta: { content: text }, token_ids: [id], finish_reason: finish };
  return `data: ${JSON.stringify({ id: 'x', choices: [choice] })}`;
}
const USAGE = `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } })}`;

/** Where the error goes: the events before it (and how many tokens they carry). */
const POSITIONS: [name: string, before: (kind: Kind) => string[], tokens: number][] = [
  ['first event', () => [], 0],
  ['after 2 tokens', (kind) => [tokenChunk(kind, 'a', 10), tokenChunk(kind, 'b', 11)], 2],
  ['after the finish reason', (kind) => [tokenChunk(kind, 'a', 10), tokenChunk(kind, 'b', 11, 'length')], 2],
  [
    'after the usage chunk',
    (kind) => [tokenChunk(kind, 'a', 10), tokenChunk(kind, 'b', 11, 'length'), USAGE],
    2,
  ],
];

/** Requests carry the test case in their headers; the server builds the stream from it. */
let server: TestServer;
beforeAll(async () => {
  server = await startServer((req, res) => {
    const shape = SHAPES[Number(req.headers['x-shape'])][1];
    const kind = req.url.includes('chat') ? 'chat' : 'completion';
    const before = POSITIONS[Number(req.headers['x-position'])][1](kind);
    const tail = req.headers['x-tail'] === 'eof' ? '' : 'data: [DONE]\n\n';
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.end(`${[...before, shape].map((event) => `${event}\n\n`).join('')}${tail}`);
  });
});
afterAll(async () => {
  await server.close();
});

const CASES = SHAPES.flatMap((_shape, s) =>
  POSITIONS.flatMap((_position, p) =>
    (['completion', 'chat'] as const).flatMap((kind) =>
      (['done', 'eof'] as const).map((tail) => ({ s, p, kind, tail })),
    ),
  ),
);

describe('an error event in any shape, at any position, is server_error with partial', () => {
  it.each(CASES)('shape $s at position $p ($kind, then $tail)', async ({ s, p, kind, tail }) => {
    const label = `${SHAPES[s][0]} / ${POSITIONS[p][0]} / ${kind} / ${tail}`;
    const { client } = testClient(server.url, {
      dialect: 'vllm',
      headers: { 'x-shape': String(s), 'x-position': String(p), 'x-tail': tail },
    });
    // maxTokens well above what is sent: the error, not the length limit, ends these streams.
    const stream =
      kind === 'completion'
        ? client.streamCompletion({ prompt: [1], maxTokens: 16 })
        : client.streamChat({ messages: [{ role: 'user', content: 'hi' }], maxTokens: 16 });
    const error = await caught(() => stream.final());
    await client.close();
    expect(error.code, label).toBe('server_error');
    const ids = (error.partial as TokenEvent[]).map((t) => t.id);
    expect(ids, label).toEqual([10, 11].slice(0, POSITIONS[p][2]));
    expect(error.message, label).toContain(SHAPES[s][0].startsWith('finish_reason') ? 'error' : 'boom');
  });
});

describe('a whole 200 JSON body shaped like an error', () => {
  it.each([
    ['flat', '{"object":"error","message":"boom","type":"BadRequestError","param":null,"code":400}'],
    ['nested', '{"error":{"message":"boom","type":"BadRequestError","param":null,"code":400}}'],
    ['string', '{"error":"boom"}'],
  ])('%s: server_error with the server message, not protocol_error', async (_name, body) => {
    const own = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    });
    const { client } = testClient(own.url, { dialect: 'vllm' });
    const error = await caught(() => client.streamCompletion({ prompt: [1], maxTokens: 4 }).final());
    await client.close();
    await own.close();
    expect(error.code).toBe('server_error');
    expect(error.message).toContain('boom');
  });
});
