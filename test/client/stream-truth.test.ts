/**
 * End-of-stream truth, timeouts, abort, capture and secrecy, against small
 * loopback servers that misbehave in one precise way each.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TokenEvent } from '../../src/index.js';
import { caught, testClient } from '../helpers/client.js';
import { endlessTokens, sse, startServer, type TestServer, tokenBurst } from '../helpers/http-server.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A vLLM-style chunk with ids. */
function chunk(text: string, ids: number[], finish: string | null = null): string {
  return JSON.stringify({
    id: 'cmpl-1',
    object: 'text_completion',
    choices: [{ index: 0, text, token_ids: ids, finish_reason: finish }],
  });
}
const USAGE = JSON.stringify({
  choices: [],
  usage: { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 },
});

describe('end-of-stream truth', () => {
  it('a complete vLLM stream: one token event per id, text on the last id of a chunk', async () => {
    server = await startServer((_req, res) =>
      sse(res, [chunk('ab', [10, 11]), chunk('c', [12], 'length'), USAGE, '[DONE]']),
    );
    const { client } = testClient(server.url, { dialect: 'vllm' });
    const result = await client.streamCompletion({ prompt: [1, 2, 3], maxTokens: 3 }).final();
    expect(result.tokens.map((t) => [t.id, t.text])).toEqual([
      [10, ''],
      [11, 'ab'],
      [12, 'c'],
    ]);
    expect(result.finishReason).toBe('length');
    expect(result.usage).toEqual({ promptTokens: 3, completionTokens: 3, totalTokens: 6, computed: false });
    expect(server.requests[0].json).toMatchObject({
      return_token_ids: true,
      stream_options: { include_usage: true },
    });
    await client.close();
  });

  it('EOF without finish reason or [DONE] is stream_truncated, with the tokens so far', async () => {
    server = await startServer((_req, res) => sse(res, [chunk('a', [10]), chunk('b', [11])]));
    const { client, logs } = testClient(server.url, { dialect: 'vllm' });
    const error = await caught(() => client.streamCompletion({ prompt: [1] }).final());
    expect(error.code).toBe('stream_truncated');
    expect((error.partial as TokenEvent[]).map((t) => t.id)).toEqual([10, 11]);
    expect(logs.some((r) => r.event === 'stream_truncated' && r.level === 'warn')).toBe(true);
    await client.close();
  });

  it('a final finish_reason then EOF (no [DONE]) is complete, with usage computed', async () => {
    server = await startServer((_req, res) => sse(res, [chunk('a', [10]), chunk('b', [11], 'stop')]));
    const { client } = testClient(server.url, { dialect: 'vllm' });
    const result = await client.streamCompletion({ prompt: [1, 2] }).final();
    expect(result.finishReason).toBe('stop');
    expect(result.usage).toEqual({ promptTokens: 2, completionTokens: 2, totalTokens: 4, computed: true });
    await client.close();
  });

  it('a last event without its blank line at EOF still counts', async () => {
    server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`data: ${chunk('a', [10], 'stop')}\n\ndata: [DONE]`);
    });
    const { client } = testClient(server.url, { dialect: 'vllm' });
    const result = await client.streamCompletion({ prompt: [1] }).final();
    expect(result.ids).toEqual([10]);
    await client.close();
  });

  it('a server that goes quiet after the finish reason (no usage, no [DONE]) ends complete at the idle clock', async () => {
    server = await startServer((_req, res) => {
      sse(res, [chunk('a', [10]), chunk('b', [11], 'length')], false);
      // …and nothing more: the socket stays open.
    });
    const { client, logs } = testClient(server.url, { dialect: 'vllm', timeouts: { idleMs: 200 } });
    const started = Date.now();
    const result = await client.streamCompletion({ prompt: [1] }).final();
    expect(result.ids).toEqual([10, 11]);
    expect(result.finishReason).toBe('length');
    expect(result.usage.computed).toBe(true);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(logs.some((r) => r.event === 'lost_after_finish')).toBe(true);
    await client.close();
  });

  it('stops at [DONE] and ignores anything sent after it', async () => {
    server = await startServer((_req, res) => {
      sse(res, [chunk('a', [10], 'stop'), '[DONE]', chunk('junk', [99])], false);
      // Keep the response open: the client must not wait for the server to close it.
    });
    const { client } = testClient(server.url, { dialect: 'vllm' });
    const result = await client.streamCompletion({ prompt: [1] }).final();
    expect(result.ids).toEqual([10]);
    await client.close();
  });

  it.each([
    [
      'data: {"error": {...}} (vLLM, SGLang)',
      'data: {"error":{"message":"overloaded","type":"server_error","code":503}}\n\n',
      'overloaded',
    ],
    [
      'an `error:` field (llama.cpp)',
      'error: {"code":500,"message":"context shift is disabled","type":"server_error"}\n\n',
      'context shift',
    ],
    [
      'finish_reason "error" (OpenRouter)',
      `data: ${JSON.stringify({ choices: [{ index: 0, text: '', finish_reason: 'error' }] })}\n\n`,
      'finish_reason "error"',
    ],
  ])('an in-stream error as %s is server_error, never text', async (_name, errorEvent, message) => {
    server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`data: ${chunk('a', [10])}\n\n${errorEvent}data: [DONE]\n\n`);
    });
    const { client } = testClient(server.url, { dialect: 'vllm' });
    const error = await caught(() => client.streamCompletion({ prompt: [1] }).final());
    expect(error.code).toBe('server_error');
    expect(error.message).toContain(message);
    expect((error.partial as TokenEvent[]).map((t) => t.text)).toEqual(['a']);
    await client.close();
  });

  it('a 200 HTML page instead of a stream is protocol_error naming the content type', async () => {
    server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><title>Login</title></html>');
    });
    const { client } = testClient(server.url, { dialect: 'vllm' });
    const error = await caught(() => client.streamCompletion({ prompt: [1] }).final());
    expect(error.code).toBe('protocol_error');
    expect(error.message).toContain('text/html');
    await client.close();
  });

  it('a 200 JSON body instead of a stream is an error, not an empty success', async () => {
    server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ choices: [{ text: 'whole answer', finish_reason: 'stop' }] }));
    });
    const { client } = testClient(server.url, { dialect: 'vllm' });
    const error = await caught(() => client.streamCompletion({ prompt: [1] }).final());
    expect(error.code).toBe('protocol_error');
    expect(error.message).toContain('application/json');
    await client.close();
  });

  it('unparseable events are counted and reported; many in a row are a protocol_error', async () => {
    server = await startServer((req, res) => {
      const many = (req.json as { max_tokens: number }).max_tokens === 2;
      const bad = many ? ['{not json', '{nope', '{no', '{never'] : ['{not json'];
      sse(res, [chunk('a', [10]), ...bad, chunk('b', [11], 'stop'), '[DONE]']);
    });
    const { client, logs } = testClient(server.url, { dialect: 'vllm' });
    const ok = await client.streamCompletion({ prompt: [1], maxTokens: 1 }).final();
    expect(ok.ids).toEqual([10, 11]);
    expect(ok.stats.parseErrors).toBe(1);
    const record = logs.find((r) => r.event === 'parse_error');
    expect(record).toMatchObject({ level: 'warn', preview: '{not json' });
    const error = await caught(() => client.streamCompletion({ prompt: [1], maxTokens: 2 }).final());
    expect(error.code).toBe('protocol_error');
    await client.close();
  });

  it('a line longer than maxLineBytes is a protocol_error, not unbounded memory', async () => {
    server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`data: ${'x'.repeat(200_000)}`);
    });
    const { client } = testClient(server.url, { dialect: 'vllm', maxLineBytes: 64 * 1024 });
    const error = await caught(() => client.streamCompletion({ prompt: [1] }).final());
    expect(error.code).toBe('protocol_error');
    await client.close();
  });
});

describe('per-phase timeouts', () => {
  it('headers_timeout when the response head never comes', async () => {
    server = await startServer(() => {});
    const { client } = testClient(server.url, { dialect: 'vllm', timeouts: { headersMs: 200 } });
    const started = Date.now();
    const error = await caught(() => client.streamCompletion({ prompt: [1] }).final());
    expect(error.code).toBe('headers_timeout');
    expect(Date.now() - started).toBeGreaterThanOrEqual(195);
    expect(Date.now() - started).toBeLessThan(1000);
    await client.close();
  });

  it('first_token_timeout when only keepalive comments arrive', async () => {
    server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const timer = setInterval(() => res.write(': keepalive\n\n'), 20);
      res.on('close', () => clearInterval(timer));
    });
    const { client } = testClient(server.url, { dialect: 'vllm', timeouts: { firstTokenMs: 300 } });
    const started = Date.now();
    const error = await caught(() => client.streamCompletion({ prompt: [1] }).final());
    expect(error.code).toBe('first_token_timeout');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(Date.now() - started).toBeLessThan(2000);
    await client.close();
  });

  it('idle_timeout after tokens, keepalives not counting, partial kept', async () => {
    server = await startServer((_req, res) => {
      sse(res, [chunk('a', [10]), chunk('b', [11])], false);
      const timer = setInterval(() => res.write(': ping\n\n'), 20);
      res.on('close', () => clearInterval(timer));
    });
    const { client } = testClient(server.url, { dialect: 'vllm', timeouts: { idleMs: 250 } });
    const started = Date.now();
    const error = await caught(() => client.streamCompletion({ prompt: [1] }).final());
    expect(error.code).toBe('idle_timeout');
    expect(error.message).toMatch(/no data for 250 ms after 2 tokens/);
    expect((error.partial as TokenEvent[]).map((t) => t.id)).toEqual([10, 11]);
    expect(Date.now() - started).toBeLessThan(2000);
    await client.close();
  });

  it('keepaliveResetsIdle: keepalive comments keep a quiet stream alive when asked to', async () => {
    server = await startServer((_req, res) => {
      sse(res, [chunk('a', [10])], false);
      const timer = setInterval(() => res.write(': ping\n\n'), 20);
      setTimeout(() => {
        clearInterval(timer);
        res.end(`data: ${chunk('b', [11], 'stop')}\n\ndata: [DONE]\n\n`);
      }, 500);
      res.on('close', () => clearInterval(timer));
    });
    const { client } = testClient(server.url, {
      dialect: 'vllm',
      timeouts: { idleMs: 200, keepaliveResetsIdle: true },
    });
    const result = await client.streamCompletion({ prompt: [1] }).final();
    expect(result.ids).toEqual([10, 11]);
    expect(result.stats.keepalives).toBeGreaterThan(5);
    await client.close();
  });

  it('a consumer that falls behind pauses the socket without tripping the idle clock', async () => {
    const n = 12_000;
    server = await startServer(tokenBurst(n));
    const { client } = testClient(server.url, { dialect: 'vllm', timeouts: { idleMs: 200 } });
    const stream = client.streamCompletion({ prompt: [1] });
    // Not reading for longer than the idle clock: the backlog fills and the socket is paused.
    await new Promise((resolve) => setTimeout(resolve, 600));
    const result = await stream.final();
    expect(result.ids).toHaveLength(n);
    expect(result.finishReason).toBe('length');
    await client.close();
  });

  it('total_timeout bounds a stream that trickles forever', async () => {
    server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let i = 0;
      const timer = setInterval(() => res.write(`data: ${chunk('x', [i++])}\n\n`), 20);
      res.on('close', () => clearInterval(timer));
    });
    const { client } = testClient(server.url, { dialect: 'vllm', timeouts: { totalMs: 400 } });
    const started = Date.now();
    const error = await caught(() => client.streamCompletion({ prompt: [1] }).final());
    expect(error.code).toBe('total_timeout');
    expect((error.partial as unknown[]).length).toBeGreaterThan(3);
    expect(Date.now() - started).toBeLessThan(2000);
    await client.close();
  });

  it.skipIf(spawnSync('python3', ['--version']).status !== 0)(
    'connect_timeout when the TCP handshake never completes',
    async () => {
      const hole = spawn('python3', [join(import.meta.dirname, '..', 'helpers', 'blackhole.py'), '5']);
      try {
        const port = await new Promise<string>((resolve) =>
          hole.stdout.once('data', (d) => resolve(String(d).trim())),
        );
        const { client } = testClient(`http://127.0.0.1:${port}`, {
          dialect: 'vllm',
          timeouts: { connectMs: 300 },
        });
        const started = Date.now();
        const error = await caught(() => client.streamCompletion({ prompt: [1] }).final());
        expect(error.code).toBe('connect_timeout');
        expect(error.phase).toBe('connect');
        expect(Date.now() - started).toBeGreaterThanOrEqual(295);
        expect(Date.now() - started).toBeLessThan(800);
        await client.close();
      } finally {
        hole.kill();
      }
    },
  );

  it('connection_refused has its own code', async () => {
    const probe = await startServer(() => {});
    const url = probe.url;
    await probe.close();
    const { client } = testClient(url, { dialect: 'vllm' });
    const error = await caught(() => client.streamCompletion({ prompt: [1] }).final());
    expect(error.code).toBe('connection_refused');
    expect(error.message).toContain(url);
    await client.close();
  });
});

describe('abort', () => {
  it('breaking out of for-await closes the connection (the server sees it)', async () => {
    server = await startServer(endlessTokens());
    const { client } = testClient(server.url, { dialect: 'vllm' });
    const closed = server.nextClientClose();
    let n = 0;
    for await (const event of client.streamCompletion({ prompt: [1] })) {
      if (event.type === 'token' && ++n === 3) break;
    }
    await closed;
    expect(server.clientClosed).toBe(1);
    await client.close();
  });

  it('an AbortSignal fails the stream with aborted and closes the socket', async () => {
    server = await startServer(endlessTokens());
    const { client } = testClient(server.url, { dialect: 'vllm' });
    const controller = new AbortController();
    const closed = server.nextClientClose();
    const stream = client.streamCompletion({ prompt: [1], signal: controller.signal });
    const error = await caught(async () => {
      for await (const event of stream) {
        if (event.type === 'token') controller.abort();
      }
    });
    expect(error.code).toBe('aborted');
    await closed;
    await client.close();
  });

  it('client.close() ends streams in flight at once with aborted (no retries on a closed pool)', async () => {
    server = await startServer(endlessTokens());
    const { client } = testClient(server.url, {
      dialect: 'vllm',
      retry: { maxAttempts: 3, baseDelayMs: 500 },
    });
    const stream = client.streamCompletion({ prompt: [1] });
    const first = await stream.next();
    expect(first.done).toBe(false);
    const started = Date.now();
    await client.close();
    const error = await caught(() => stream.final());
    expect(error.code).toBe('aborted');
    expect(error.message).toContain('the client was closed');
    expect(Date.now() - started).toBeLessThan(400);
  });

  it('await using aborts on scope exit', async () => {
    server = await startServer(endlessTokens());
    const { client } = testClient(server.url, { dialect: 'vllm' });
    const closed = server.nextClientClose();
    {
      await using stream = client.streamCompletion({ prompt: [1] });
      const first = await stream.next();
      expect(first.done).toBe(false);
    }
    await closed;
    expect(server.clientClosed).toBe(1);
    await client.close();
  });
});

describe('capture and secrecy', () => {
  it('writes a replayable fixture (0600 in a 0700 dir) with no API key anywhere', async () => {
    const apiKey = 'sk-secret-test-key-123456';
    server = await startServer((_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json', 'x-request-id': 'req-42' });
      res.end(JSON.stringify({ error: { message: `overloaded for key ${apiKey}` } }));
    });
    const root = mkdtempSync(join(tmpdir(), 'tokenwire-test-'));
    const dir = join(root, 'captures');
    const { client, logs } = testClient(server.url, {
      dialect: 'vllm',
      apiKey,
      failedRequestsDir: dir,
      debug: true,
      retry: { maxAttempts: 2, baseDelayMs: 1 },
    });
    const error = await caught(() => client.streamCompletion({ prompt: [1, 2] }).final());
    expect(error.code).toBe('http_error');
    expect(error.requestId).toBe('req-42');
    expect(error.message).toContain('overloaded for key [redacted]');
    expect(server.requests[0].headers.authorization).toBe(`Bearer ${apiKey}`);
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, files[0])).mode & 0o777).toBe(0o600);
    const text = readFileSync(join(dir, files[0]), 'utf8');
    expect(text).not.toContain(apiKey);
    const fixture = JSON.parse(text);
    expect(fixture.attempts).toHaveLength(2);
    expect(fixture.attempts[0].request.headers.authorization).toBe('[redacted]');
    expect(fixture.attempts[0].request.body).toMatchObject({ prompt: [1, 2] });
    expect(fixture.attempts[0].response.status).toBe(503);
    expect(fixture.error.code).toBe('http_error');
    expect(error.fixturePath).toBe(join(dir, files[0]));
    expect(JSON.stringify(logs)).not.toContain(apiKey);
    expect(logs.some((r) => r.event === 'request')).toBe(true);
    expect(logs.some((r) => r.event === 'retry')).toBe(true);
    await client.close();
    rmSync(root, { recursive: true, force: true });
  });
});
