/**
 * Clocks, deadlines and shared work: the dialect detection of an `auto` client has
 * its own lifetime; Retry-After as an HTTP date is honoured; a server wait that is
 * not made is said in the error; close() ends a stream sleeping before a retry; the
 * idle and first-token clocks are reset by content only. Loopback servers, real clocks.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TokenEvent } from '../../src/index.js';
import { caught, testClient } from '../helpers/client.js';
import { completionChunk, sse, startServer, type TestServer } from '../helpers/http-server.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const MODELS = JSON.stringify({ object: 'list', data: [{ id: 'm', object: 'model', owned_by: 'vllm' }] });
const STREAM = [completionChunk('a', [10]), completionChunk('b', [11], 'length'), '[DONE]'];

/** A vLLM-like server whose GET /v1/models answers after `delayMs`. */
function slowModels(delayMs: number) {
  return startServer((req, res) => {
    if (req.method === 'GET') {
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(MODELS);
      }, delayMs);
      return;
    }
    sse(res, STREAM);
  });
}

describe('dialect detection has its own lifetime', () => {
  it("one stream's abort does not fail another stream waiting for the same detection", async () => {
    server = await slowModels(300);
    const { client } = testClient(server.url, { dialect: 'auto' });
    const controller = new AbortController();
    const first = client.streamCompletion({ prompt: [1], maxTokens: 2, signal: controller.signal });
    const second = client.streamCompletion({ prompt: [1], maxTokens: 2 });
    setTimeout(() => controller.abort(), 50);
    const [a, b] = await Promise.allSettled([first.final(), second.final()]);
    await client.close();
    expect(a.status === 'rejected' && (a.reason as { code: string }).code).toBe('aborted');
    expect(b.status === 'fulfilled' && b.value.ids).toEqual([10, 11]);
    expect(server.requests.filter((r) => r.url === '/v1/models')).toHaveLength(1);
  });

  it('a stream whose total clock runs out while it waits fails with total_timeout, and the detection goes on', async () => {
    server = await slowModels(600);
    const { client } = testClient(server.url, { dialect: 'auto', timeouts: { totalMs: 150 } });
    const started = performance.now();
    const error = await caught(() => client.streamCompletion({ prompt: [1], maxTokens: 2 }).final());
    expect(error.code).toBe('total_timeout');
    expect(performance.now() - started).toBeLessThan(550);
    await client.close();
  });

  it('an aborted detection waiter leaves the detection to the others: the next stream uses its result', async () => {
    server = await slowModels(200);
    const { client } = testClient(server.url, { dialect: 'auto' });
    const error = await caught(() =>
      client.streamCompletion({ prompt: [1], maxTokens: 2, signal: AbortSignal.timeout(30) }).final(),
    );
    expect(error.code).toBe('aborted');
    const result = await client.streamCompletion({ prompt: [1], maxTokens: 2 }).final();
    expect(result.ids).toEqual([10, 11]);
    expect(await client.dialect()).toBe('vllm');
    expect(server.requests.filter((r) => r.url === '/v1/models')).toHaveLength(1);
    await client.close();
  });
});

/** A server answering the first POST with `status` and `headers`, every later one with a stream. */
function failFirst(status: number, headers: () => Record<string, string>) {
  let posts = 0;
  return startServer((_req, res) => {
    if (++posts === 1) {
      res.writeHead(status, { 'content-type': 'application/json', ...headers() });
      res.end('{"error":{"message":"busy","type":"x","code":503}}');
      return;
    }
    sse(res, STREAM);
  });
}

describe('Retry-After', () => {
  it('an HTTP date is honoured: the retry comes after that date (wall clock), not never', async () => {
    server = await failFirst(503, () => ({ 'retry-after': new Date(Date.now() + 2000).toUTCString() }));
    const { client } = testClient(server.url, {
      dialect: 'vllm',
      retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5000 },
    });
    const result = await client.streamCompletion({ prompt: [1], maxTokens: 2 }).final();
    await client.close();
    expect(result.stats.attempts).toBe(2);
    const [first, second] = server.requests;
    // The date has whole seconds: between 1 and 2 s from the first answer.
    expect(second.at - first.at).toBeGreaterThanOrEqual(900);
    expect(second.at - first.at).toBeLessThan(2600);
  });

  it('a server wait longer than maxDelayMs is not made, and the error says so', async () => {
    server = await failFirst(429, () => ({ 'retry-after': '120' }));
    const { client } = testClient(server.url, {
      dialect: 'vllm',
      retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 30000 },
    });
    const error = await caught(() => client.streamCompletion({ prompt: [1], maxTokens: 2 }).final());
    await client.close();
    expect(error.code).toBe('http_error');
    expect(error.message).toContain('the server asked to retry after 120 s, more than maxDelayMs 30000');
    expect(server.requests).toHaveLength(1);
  });

  it('a server wait past the total deadline is not made, and the error says so', async () => {
    server = await failFirst(503, () => ({ 'retry-after': '5' }));
    const { client } = testClient(server.url, {
      dialect: 'vllm',
      retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 30000 },
      timeouts: { totalMs: 2000 },
    });
    const error = await caught(() => client.streamCompletion({ prompt: [1], maxTokens: 2 }).final());
    await client.close();
    expect(error.message).toContain('the server asked to retry after 5 s');
    expect(error.message).toContain('timeouts.totalMs 2000');
  });
});

describe('close() and a stream sleeping before a retry', () => {
  it('ends the stream at once with aborted', async () => {
    server = await failFirst(503, () => ({ 'retry-after': '5' }));
    const { client } = testClient(server.url, {
      dialect: 'vllm',
      retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 10000 },
    });
    const stream = client.streamCompletion({ prompt: [1], maxTokens: 2 });
    const outcome = caught(() => stream.final());
    // Wait for the first answer: the stream is now sleeping for 5 s.
    for (let i = 0; i < 100 && server.requests.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 50));
    const closedAt = performance.now();
    await client.close();
    const error = await outcome;
    expect(error.code).toBe('aborted');
    expect(performance.now() - closedAt).toBeLessThan(500);
    expect(server.requests).toHaveLength(1);
  });

  it.skipIf(!existsSync(join(import.meta.dirname, '..', '..', 'dist', 'index.js')))(
    'no timer keeps the process alive after close() (built package, own process)',
    async () => {
      const script = `
import { createServer } from 'node:http';
import { Client } from './dist/index.js';
const server = createServer((req, res) => { req.resume(); res.writeHead(503, { 'retry-after': '30' }); res.end('{}'); });
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const client = new Client({ baseUrl: 'http://127.0.0.1:' + server.address().port, dialect: 'vllm',
  failedRequestsDir: false, logger: () => {}, retry: { maxAttempts: 3, maxDelayMs: 60000 } });
const done = client.streamCompletion({ prompt: [1], maxTokens: 2 }).final().then(() => 'ok', (e) => e.code);
await new Promise((r) => setTimeout(r, 300));
await client.close();
console.log(await done);
server.closeAllConnections(); server.close();
`;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        cwd: join(import.meta.dirname, '..', '..'),
      });
      let out = '';
      child.stdout.on('data', (d) => {
        out += String(d);
      });
      const started = Date.now();
      const code = await new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          resolve(null);
        }, 8000);
        child.on('exit', (status) => {
          clearTimeout(timer);
          resolve(status);
        });
      });
      expect(code, 'the process must exit on its own').toBe(0);
      expect(out.trim()).toBe('aborted');
      expect(Date.now() - started).toBeLessThan(8000);
    },
  );
});

describe('the idle and first-token clocks are reset by content only', () => {
  /** Heartbeats that carry no content: an empty choices list, empty deltas, empty text, a role. */
  const HEARTBEATS = [
    '{"choices":[]}',
    '{"choices":[{"index":0,"delta":{}}]}',
    '{"choices":[{"index":0,"delta":{"content":""}}]}',
    '{"choices":[{"index":0,"delta":{"role":"assistant"}}]}',
    '{"choices":[{"index":0,"text":""}]}',
  ];

  function heartbeatServer(tokensFirst: number) {
    return startServer((req, res) => {
      const chat = req.url.includes('chat');
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let i = 0; i < tokensFirst; i++) {
        const choice = chat
          ? { index: 0, delta: { content: 'x' }, token_ids: [10 + i] }
          : { index: 0, text: 'x', token_ids: [10 + i] };
        res.write(`data: ${JSON.stringify({ choices: [choice] })}\n\n`);
      }
      let n = 0;
      const timer = setInterval(() => {
        res.write(`: keepalive\n\ndata: ${HEARTBEATS[n++ % HEARTBEATS.length]}\n\n`);
      }, 20);
      res.on('close', () => clearInterval(timer));
    });
  }

  it.each(['completion', 'chat'] as const)(
    '%s: only empty chunks after 2 tokens end in idle_timeout, not at the total clock',
    async (kind) => {
      server = await heartbeatServer(2);
      const { client } = testClient(server.url, {
        dialect: 'vllm',
        timeouts: { idleMs: 200, firstTokenMs: 2000, totalMs: 5000 },
      });
      const started = performance.now();
      const error = await caught(() =>
        kind === 'completion'
          ? client.streamCompletion({ prompt: [1], maxTokens: 8 }).final()
          : client.streamChat({ messages: [{ role: 'user', content: 'x' }], maxTokens: 8 }).final(),
      );
      await client.close();
      expect(error.code).toBe('idle_timeout');
      expect((error.partial as TokenEvent[]).map((t) => t.id)).toEqual([10, 11]);
      expect(performance.now() - started).toBeLessThan(2500);
    },
  );

  it('only empty chunks from the start end in first_token_timeout', async () => {
    server = await heartbeatServer(0);
    const { client } = testClient(server.url, {
      dialect: 'vllm',
      timeouts: { idleMs: 100, firstTokenMs: 300, totalMs: 5000 },
    });
    const error = await caught(() => client.streamCompletion({ prompt: [1], maxTokens: 8 }).final());
    await client.close();
    expect(error.code).toBe('first_token_timeout');
  });
});
