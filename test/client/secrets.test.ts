/**
 * The API key (and base-URL credentials) never appear, whole or in part, in any form,
 * in what the library exposes or writes: errors as util.inspect shows them, response
 * headers, previews cut from a body, the raw tail of a fixture (text or base64), log
 * records. Real loopback servers that echo the key back.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { CAPTURE_MAX_BYTES } from '../../src/diagnostics/capture.js';
import { Client } from '../../src/index.js';
import { caught, testClient } from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/http-server.js';

let server: TestServer | undefined;
let root: string | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  if (root) rmSync(root, { recursive: true, force: true });
  root = undefined;
});

/** A random key: any 6 consecutive characters of it are its own (no accidental match in other text). */
function newKey(): string {
  return `sk-${randomBytes(18).toString('hex')}`;
}

/** Fails when `text` holds any 6-character piece of `key` (so a cut fragment counts too). */
function expectNoPiece(text: string, key: string, what: string): void {
  for (let i = 0; i + 6 <= key.length; i++) {
    const piece = key.slice(i, i + 6);
    if (text.includes(piece)) throw new Error(`${what} contains ${JSON.stringify(piece)} of the key`);
  }
}

function captureDir(): string {
  root = mkdtempSync(join(tmpdir(), 'tokenwire-secrets-'));
  return join(root, 'captures');
}

function onlyFixture(dir: string): string {
  const files = readdirSync(dir);
  expect(files).toHaveLength(1);
  return readFileSync(join(dir, files[0]), 'utf8');
}

describe('the API key never leaks', () => {
  it('is redacted from error.headers when the server echoes Authorization (streams and JSON requests)', async () => {
    const key = newKey();
    server = await startServer((req, res) => {
      res.writeHead(401, {
        'content-type': 'application/json',
        authorization: String(req.headers.authorization),
        'x-echo': `you sent ${String(req.headers.authorization)}`,
      });
      res.end('{"error":"Unauthorized"}');
    });
    const { client, logs } = testClient(server.url, { dialect: 'vllm', apiKey: key });
    const streamError = await caught(() => client.streamCompletion({ prompt: [1] }).final());
    expect(streamError.code).toBe('http_error');
    expect((streamError.headers as Record<string, string>).authorization).toBe('[redacted]');
    expectNoPiece(inspect(streamError, { depth: 5 }), key, 'the stream error');
    const modelsError = await caught(() => client.models());
    expect(modelsError.code).toBe('http_error');
    expectNoPiece(inspect(modelsError, { depth: 5 }), key, 'the models error');
    expectNoPiece(JSON.stringify(logs), key, 'the log records');
    await client.close();
  });

  it('is scrubbed from the raw bytes of a fixture stored as base64', async () => {
    const key = newKey();
    server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      // An invalid UTF-8 byte makes the fixture store the bytes as base64; then EOF without [DONE].
      res.end(Buffer.concat([Buffer.from(': \xff\n', 'latin1'), Buffer.from(`: echo ${key}\n\n`)]));
    });
    const dir = captureDir();
    const { client } = testClient(server.url, { dialect: 'vllm', apiKey: key, failedRequestsDir: dir });
    const error = await caught(() => client.streamCompletion({ prompt: [1] }).final());
    expect(error.code).toBe('stream_truncated');
    const fixture = JSON.parse(onlyFixture(dir));
    const raw = fixture.attempts[0].raw;
    expect(raw.encoding).toBe('base64');
    const bytes = Buffer.from(raw.data, 'base64').toString('latin1');
    expect(bytes).toContain(': echo [redacted]');
    expectNoPiece(bytes, key, 'the decoded raw bytes');
    await client.close();
  });

  it('leaves no fragment where the 16 KiB raw tail cuts through the key', async () => {
    const key = newKey();
    // The tail keeps the last CAPTURE_MAX_BYTES bytes: make it start 9 bytes before the key's end.
    const filler = `: ${'x'.repeat(CAPTURE_MAX_BYTES - 9 - 3)}\n`;
    server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`: ${key}${filler}`);
    });
    const dir = captureDir();
    const { client } = testClient(server.url, { dialect: 'vllm', apiKey: key, failedRequestsDir: dir });
    const error = await caught(() => client.streamCompletion({ prompt: [1] }).final());
    expect(error.code).toBe('stream_truncated');
    const text = onlyFixture(dir);
    const raw = JSON.parse(text).attempts[0].raw;
    expect(raw.truncatedHead).toBe(true);
    expect(raw.data.startsWith(key.slice(-9))).toBe(false);
    expectNoPiece(text, key, 'the fixture');
    await client.close();
  });

  it('leaves no fragment where a bounded preview cuts through the key (body, message, parse error)', async () => {
    const key = newKey();
    server = await startServer((req, res) => {
      if (req.json && (req.json as { prompt: number[] }).prompt[0] === 1) {
        // A text body: the message keeps its first 300 characters, the body preview 4096 (each cut 10 characters into a key).
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`${'m'.repeat(290)}${key} ${'b'.repeat(4096 - 290 - key.length - 1 - 10)}${key}`);
        return;
      }
      // An event that is not JSON: its logged preview keeps 200 characters.
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`data: ${'p'.repeat(190)}${key}\n\n`);
    });
    const { client, logs } = testClient(server.url, { dialect: 'vllm', apiKey: key });
    const httpError = await caught(() => client.streamCompletion({ prompt: [1] }).final());
    expect(httpError.code).toBe('http_error');
    expectNoPiece(inspect(httpError), key, 'the HTTP error');
    await caught(() => client.streamCompletion({ prompt: [2] }).final());
    const parseError = logs.find((record) => record.event === 'parse_error');
    expect(String(parseError?.preview)).toHaveLength(200);
    expectNoPiece(JSON.stringify(logs), key, 'the log records');
    await client.close();
  });

  it('is scrubbed in its JSON-escaped forms (a key with a backslash and a quote)', async () => {
    const key = `sk-${randomBytes(8).toString('hex')}\\"${randomBytes(8).toString('hex')}`;
    const once = JSON.stringify(key).slice(1, -1);
    const twice = JSON.stringify(once).slice(1, -1);
    server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      // The server echoes the key inside JSON (escaped once), then ends without [DONE].
      res.end(`data: ${JSON.stringify({ error: { message: `bad key ${key}`, code: 401 } })}\n\n`);
    });
    const dir = captureDir();
    const records: string[] = [];
    const client = new Client({
      baseUrl: server.url,
      dialect: 'vllm',
      apiKey: key,
      retry: false,
      failedRequestsDir: dir,
      debug: true,
      logger: (record) => records.push(JSON.stringify(record)),
    });
    const error = await caught(() => client.streamCompletion({ prompt: [1] }).final());
    expect(error.code).toBe('server_error');
    const fixture = onlyFixture(dir);
    for (const form of [key, once, twice]) {
      expect(fixture).not.toContain(form);
      expect(records.join('\n')).not.toContain(form);
      expect(inspect(error)).not.toContain(form);
    }
    expect(fixture).toContain('[redacted]');
    await client.close();
  });
});

describe('credentials in baseUrl', () => {
  it('are never shown in an invalid_option message', () => {
    for (const baseUrl of [
      'http://alice:hunter2-secret@127.0.0.1:8000/v1?x=1',
      'ftp://alice:hunter2-secret@127.0.0.1:8000',
      'http://alice:hunter2-secret@[::1',
    ]) {
      let message = '';
      try {
        new Client({ baseUrl });
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(/^invalid option baseUrl/);
      expect(message).not.toContain('hunter2');
      expect(message).not.toContain('alice');
    }
  });

  it('are sent as Basic auth and never appear in errors or fixtures', async () => {
    server = await startServer((req, res) => {
      res.writeHead(503, { 'content-type': 'application/json', 'x-echo': String(req.headers.authorization) });
      res.end(JSON.stringify({ error: { message: `no luck for ${String(req.headers.authorization)}` } }));
    });
    const dir = captureDir();
    const baseUrl = server.url.replace('http://', 'http://alice:hunter2-secret@');
    const { client } = testClient(baseUrl, { dialect: 'vllm', failedRequestsDir: dir });
    const basic = `Basic ${Buffer.from('alice:hunter2-secret').toString('base64')}`;
    const error = await caught(() => client.streamCompletion({ prompt: [1] }).final());
    expect(server.requests[0].headers.authorization).toBe(basic);
    expect(error.code).toBe('http_error');
    for (const text of [inspect(error, { depth: 5 }), onlyFixture(dir)]) {
      expect(text).not.toContain('hunter2');
      expect(text).not.toContain(basic.slice(6));
    }
    await client.close();
  });
});
