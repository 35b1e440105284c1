/**
 * tokenwire/fetch beyond streams: every fleet and telemetry option is refused by name,
 * with its value (secrets hidden); plain calls (non-streaming completions, models, …)
 * that fail leave a failed-request fixture as a Client's calls do. Loopback servers.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createFetch, type FetchOptions } from '../../src/fetch/index.js';
import type { LogRecord } from '../../src/index.js';
import { startSimulator } from '../../src/sim/index.js';
import { startServer, type TestServer } from '../helpers/http-server.js';

let server: TestServer | undefined;
let root: string | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  if (root) rmSync(root, { recursive: true, force: true });
  root = undefined;
});

function captureDir(): string {
  root = mkdtempSync(join(tmpdir(), 'tokenwire-fetch-plain-'));
  return join(root, 'captures');
}

function fixtures(dir: string): string[] {
  try {
    return readdirSync(dir).map((name) => join(dir, name));
  } catch {
    return [];
  }
}

function refusal(options: Record<string, unknown>): string {
  try {
    createFetch(options as FetchOptions);
  } catch (error) {
    return (error as Error).message;
  }
  return '(accepted)';
}

describe('createFetch refuses what it does not support, by name and value', () => {
  it('endpoints, routing, discovery and telemetry each name themselves and their value', () => {
    expect(refusal({ discovery: { url: 'http://vllm.ns.svc:8000', intervalMs: 5000 } })).toBe(
      'invalid option discovery: {"url":"http://vllm.ns.svc:8000","intervalMs":5000} (createFetch does not support fleets or telemetry: each call goes where the SDK sends it; use a tokenwire Client)',
    );
    expect(refusal({ routing: { policy: 'round-robin' } })).toMatch(
      /^invalid option routing: \{"policy":"round-robin"\} \(createFetch does not support/,
    );
    expect(refusal({ telemetry: false })).toMatch(/^invalid option telemetry: false \(createFetch does not/);
    expect(refusal({ endpoints: ['http://a:8000', 'http://b:8000'] })).toMatch(
      /^invalid option endpoints: \["http:\/\/a:8000","http:\/\/b:8000"\] \(createFetch does not/,
    );
  });

  it('never shows a secret inside the refused value', () => {
    const key = `sk-${randomBytes(12).toString('hex')}`;
    const message = refusal({
      endpoints: [{ baseUrl: 'http://alice:hunter2-secret@a:8000', apiKey: key }],
      discovery: undefined,
    });
    expect(message).toMatch(/^invalid option endpoints: /);
    expect(message).toContain('http://a:8000');
    expect(message).not.toContain(key);
    expect(message).not.toContain('hunter2');
    expect(message).not.toContain('alice');
  });
});

describe('tokenwire/fetch captures failed plain calls', () => {
  const key = `sk-${randomBytes(18).toString('hex')}`;
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  const body = JSON.stringify({ model: 'm', prompt: 'hi', max_tokens: 2, stream: false });

  it('an HTTP error returned after the retries leaves one fixture with every attempt, the key redacted', async () => {
    server = await startServer((req, res) => {
      res.writeHead(503, { 'content-type': 'application/json', 'x-echo': String(req.headers.authorization) });
      res.end(JSON.stringify({ error: { message: `overloaded (you are ${req.headers.authorization})` } }));
    });
    const dir = captureDir();
    const logs: LogRecord[] = [];
    const fetch = createFetch({
      failedRequestsDir: dir,
      retry: { maxAttempts: 2, baseDelayMs: 0, maxDelayMs: 0 },
      logger: (record) => logs.push(record),
      debug: true,
    });
    try {
      const response = await fetch(`${server.url}/v1/completions`, { method: 'POST', headers, body });
      expect(response.status).toBe(503);
      await response.text();
      const files = fixtures(dir);
      expect(files).toHaveLength(1);
      expect(statSync(files[0]).mode & 0o777).toBe(0o600);
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      const text = readFileSync(files[0], 'utf8');
      expect(text).not.toContain(key.slice(3, 11));
      const fixture = JSON.parse(text);
      expect(fixture).toMatchObject({ kind: 'fetch', error: { code: 'http_error', status: 503 } });
      expect(fixture.attempts).toHaveLength(2);
      expect(fixture.attempts[0].request).toMatchObject({
        method: 'POST',
        url: `${server.url}/v1/completions`,
        headers: { authorization: '[redacted]' },
        body: { prompt: 'hi', stream: false },
      });
      expect(fixture.attempts[1].response).toMatchObject({
        status: 503,
        headers: { 'x-echo': '[redacted]' },
      });
      expect(logs.find((record) => record.event === 'captured')).toMatchObject({ path: files[0] });
    } finally {
      await fetch.close();
    }
  });

  it('an HTTP error that is not retried (400) is captured too; a 200 is not', async () => {
    server = await startServer((req, res) => {
      const bad = (req.json as { max_tokens?: number }).max_tokens === -1;
      res.writeHead(bad ? 400 : 200, { 'content-type': 'application/json' });
      res.end(bad ? '{"error":{"message":"max_tokens must be at least 1"}}' : '{"choices":[{"text":"ok"}]}');
    });
    const dir = captureDir();
    const fetch = createFetch({ failedRequestsDir: dir, logger: () => {} });
    try {
      const ok = await fetch(`${server.url}/v1/completions`, { method: 'POST', headers, body });
      expect(ok.status).toBe(200);
      await ok.text();
      expect(fixtures(dir)).toHaveLength(0);
      const bad = await fetch(`${server.url}/v1/completions`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ prompt: 'hi', max_tokens: -1 }),
      });
      expect(bad.status).toBe(400);
      expect(await bad.text()).toContain('max_tokens must be at least 1');
      const files = fixtures(dir);
      expect(files).toHaveLength(1);
      const fixture = JSON.parse(readFileSync(files[0], 'utf8'));
      expect(fixture.attempts).toHaveLength(1);
      expect(fixture.attempts[0].raw.data).toContain('max_tokens must be at least 1');
    } finally {
      await fetch.close();
    }
  });

  it('a call that never got a response rejects with the error, and error.fixturePath says where it was saved', async () => {
    // A port nothing listens on: a server started and closed at once.
    const gone = await startServer(() => {});
    const url = gone.url;
    await gone.close();
    const dir = captureDir();
    const fetch = createFetch({ failedRequestsDir: dir, retry: false, logger: () => {} });
    try {
      let error: (Error & { code?: string; fixturePath?: string }) | undefined;
      try {
        await fetch(`${url}/v1/models`, { headers });
      } catch (caught) {
        error = caught as typeof error;
      }
      expect(error?.code).toBe('connection_refused');
      expect(error?.fixturePath).toBe(fixtures(dir)[0]);
      const fixture = JSON.parse(readFileSync(String(error?.fixturePath), 'utf8'));
      expect(fixture).toMatchObject({ kind: 'fetch', error: { code: 'connection_refused' } });
      expect(fixture.attempts[0].request).toMatchObject({ method: 'GET', url: `${url}/v1/models` });
    } finally {
      await fetch.close();
    }
  });

  it('failedRequestsDir: false captures nothing', async () => {
    server = await startServer((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('no');
    });
    const dir = captureDir();
    const fetch = createFetch({ failedRequestsDir: false, retry: false, logger: () => {} });
    try {
      const response = await fetch(`${server.url}/v1/models`);
      expect(response.status).toBe(500);
      await response.text();
      expect(fixtures(dir)).toHaveLength(0);
    } finally {
      await fetch.close();
    }
  });
});

describe('tokenwire/fetch says ids are missing only where it asked for them', () => {
  async function stream(url: string, body: Record<string, unknown>, logs: LogRecord[]): Promise<string> {
    // Default retry options: resume on, so an id prompt is sent asking for ids.
    const fetch = createFetch({ logger: (record) => logs.push(record), failedRequestsDir: false });
    try {
      const response = await fetch(`${url}/v1/${'messages' in body ? 'chat/completions' : 'completions'}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'sim-model', max_tokens: 4, stream: true, ...body }),
      });
      return await response.text();
    } finally {
      await fetch.close();
    }
  }
  const missing = (logs: LogRecord[]) => logs.filter((record) => record.event === 'ids_missing');

  it('a text prompt or a chat the SDK sent as it is: no ids asked, no ids_missing', async () => {
    const sim = await startSimulator({ dialect: 'vllm' });
    try {
      for (const body of [{ prompt: 'Hi' }, { messages: [{ role: 'user', content: 'Hi' }] }]) {
        const logs: LogRecord[] = [];
        const text = await stream(sim.url, body, logs);
        expect(text).toContain('data: [DONE]');
        expect(missing(logs)).toEqual([]);
      }
      // An id prompt: the fetch asks for ids (resume needs them) and they come.
      const logs: LogRecord[] = [];
      expect(await stream(sim.url, { prompt: [1, 2, 3] }, logs)).toContain('"token_ids"');
      expect(missing(logs)).toEqual([]);
    } finally {
      await sim.close();
    }
  });

  it('a body that asks for ids on a server that ignores the flag: ids_missing is logged', async () => {
    const sim = await startSimulator({ dialect: 'vllm@0.10.1' });
    try {
      const logs: LogRecord[] = [];
      await stream(sim.url, { prompt: 'Hi', return_token_ids: true }, logs);
      expect(missing(logs)).toHaveLength(1);
    } finally {
      await sim.close();
    }
  });
});
