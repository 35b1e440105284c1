/**
 * Honest protocol errors on real loopback sockets: responses that can never become
 * an event stream fail at once (one request, not three), media types are
 * case-insensitive, compressed bodies nobody asked for are decoded, memory stays bounded on a stream of empty data lines, and TLS or
 * scheme mistakes say what to do.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { caught, testClient } from '../helpers/client.js';
import { completionChunk, startServer, type TestServer } from '../helpers/http-server.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const RETRYING = { dialect: 'vllm', retry: { maxAttempts: 3, baseDelayMs: 1 } } as const;

describe('responses that can never be an event stream fail at once', () => {
  it.each([204, 205, 304])('HTTP %i: protocol_error after one request', async (status) => {
    server = await startServer((_req, res) => {
      res.writeHead(status, { 'content-type': 'text/event-stream' });
      res.end();
    });
    const { client } = testClient(server.url, RETRYING);
    const error = await caught(() => client.streamCompletion({ prompt: [1] }).final());
    expect(error.code).toBe('protocol_error');
    expect(error.message).toContain(`HTTP ${status} has no body`);
    expect(error.message).toContain(`${server.url}/v1/completions`);
    expect(server.requests).toHaveLength(1);
    await client.close();
  });

  it('a response head over the size limit: protocol_error after one request', async () => {
    server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'x-big': 'b'.repeat(20_000) });
      res.end('data: [DONE]\n\n');
    });
    const { client } = testClient(server.url, RETRYING);
    const error = await caught(() => client.streamCompletion({ prompt: [1] }).final());
    expect(error.code).toBe('protocol_error');
    expect(error.message).toMatch(/response head is larger than the \d+ bytes/);
    expect(server.requests).toHaveLength(1);
    await client.close();
  });

  it.each(['compress', 'zstd', 'gzip, br'])(
    'a body compressed as %j (not decoded): protocol_error naming it, after one request',
    async (encoding) => {
      server = await startServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'content-encoding': encoding });
        res.end(Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0]));
      });
      const { client } = testClient(server.url, RETRYING);
      const error = await caught(() => client.streamCompletion({ prompt: [1] }).final());
      expect(error.code).toBe('protocol_error');
      expect(error.message).toContain(`compressed as ${JSON.stringify(encoding)}`);
      expect(server.requests).toHaveLength(1);
      await client.close();
    },
  );

  it('an unsolicited 100 Continue: the failure says what happened, after one request', async () => {
    server = await startServer((_req, res) => {
      res.writeContinue();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`data: ${completionChunk('a', [7], 'stop')}\n\ndata: [DONE]\n\n`);
    });
    const { client } = testClient(server.url, RETRYING);
    const error = await caught(() => client.streamCompletion({ prompt: [1] }).final());
    expect(error.code).toBe('protocol_error');
    expect(error.message).toContain('100 Continue');
    expect(server.requests).toHaveLength(1);
    await client.close();
  });
});

describe('event streams as servers spell them', () => {
  it.each(['Text/Event-Stream; charset=UTF-8', 'TEXT/EVENT-STREAM', ' text/event-stream ;charset=utf-8'])(
    'content-type %j is an event stream',
    async (contentType) => {
      server = await startServer((_req, res) => {
        res.writeHead(200, { 'content-type': contentType });
        res.end(`data: ${completionChunk('a', [7], 'stop')}\n\ndata: [DONE]\n\n`);
      });
      const { client } = testClient(server.url, { dialect: 'vllm' });
      const result = await client.streamCompletion({ prompt: [1] }).final();
      expect(result.ids).toEqual([7]);
      expect(result.finishReason).toBe('stop');
      await client.close();
    },
  );

  it.each([
    ['gzip', gzipSync],
    ['x-gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
  ] as const)(
    'an unrequested Content-Encoding %s is decoded transparently, byte by byte too',
    async (encoding, compress) => {
      const body = compress(
        Buffer.from(
          `data: ${completionChunk('a', [7])}\n\ndata: ${completionChunk('b', [8], 'length')}\n\ndata: [DONE]\n\n`,
        ),
      );
      server = await startServer(async (req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'content-encoding': encoding });
        if ((req.json as { prompt: number[] }).prompt[0] === 1) {
          res.end(body);
          return;
        }
        // One byte per write: the decoder must give out events as their bytes arrive.
        for (const byte of body) {
          res.write(Buffer.from([byte]));
          await new Promise((resolve) => setImmediate(resolve));
        }
        res.end();
      });
      const { client } = testClient(server.url, { dialect: 'vllm' });
      for (const prompt of [[1], [2]]) {
        const result = await client.streamCompletion({ prompt }).final();
        expect(result.ids).toEqual([7, 8]);
        expect(result.text).toBe('ab');
        expect(result.finishReason).toBe('length');
      }
      await client.close();
    },
  );

  it('a compressed JSON answer (models) is decoded too; a broken one is protocol_error', async () => {
    server = await startServer((req, res) => {
      const broken = req.url.includes('broken');
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      res.end(broken ? 'not gzip' : gzipSync(Buffer.from('{"data":[{"id":"m1","owned_by":"vllm"}]}')));
    });
    const { client } = testClient(server.url, { dialect: 'vllm' });
    expect((await client.models()).map((model) => model.id)).toEqual(['m1']);
    await client.close();
    const broken = testClient(`${server.url}/broken`, { dialect: 'vllm' });
    const error = await caught(() => broken.client.models());
    expect(error.code).toBe('protocol_error');
    expect(error.message).toContain('could not be decoded');
    await broken.client.close();
  });

  it('a body that is not the gzip it says: protocol_error naming gzip, not retried', async () => {
    server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'content-encoding': 'gzip' });
      res.end('data: [DONE]\n\n');
    });
    const { client } = testClient(server.url, RETRYING);
    const error = await caught(() => client.streamCompletion({ prompt: [1] }).final());
    expect(error.code).toBe('protocol_error');
    expect(error.message).toContain('could not be decoded as gzip');
    expect(server.requests).toHaveLength(1);
    await client.close();
  });

  it('40 MiB of empty data lines without a blank line: protocol_error at the event limit', async () => {
    const block = Buffer.from('data:\n'.repeat(64 * 1024));
    server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let sent = 0;
      const write = (): void => {
        while (sent < 40 * 1024 * 1024) {
          sent += block.length;
          if (!res.write(block)) {
            res.once('drain', write);
            return;
          }
        }
        res.end();
      };
      res.on('error', () => {});
      write();
    });
    const { client } = testClient(server.url, RETRYING);
    const error = await caught(() => client.streamCompletion({ prompt: [1] }).final());
    expect(error.code).toBe('protocol_error');
    expect(error.message).toContain('maxEventBytes');
    expect(server.requests).toHaveLength(1);
    await client.close();
  });
});

describe('TLS and scheme mistakes get a hint', () => {
  let dir: string;
  let tlsServer: ReturnType<typeof createHttpsServer>;
  let tlsUrl: string;
  let plain: Server;
  let plainPort: number;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tokenwire-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    tlsServer = createHttpsServer(
      { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
      (_req, res) => res.end('{}'),
    );
    tlsServer.on('connection', (socket: Socket) => sockets.add(socket));
    await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
    tlsUrl = `https://127.0.0.1:${(tlsServer.address() as { port: number }).port}`;
    // A plain-HTTP server that answers nothing useful: only the TLS handshake matters.
    plain = createNetServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('data', () => socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n'));
    });
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    plainPort = (plain.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => tlsServer.close(() => resolve()));
    await new Promise<void>((resolve) => plain.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('a self-signed certificate: names NODE_EXTRA_CA_CERTS and the tls option, not retried', async () => {
    const { client } = testClient(tlsUrl, RETRYING);
    const error = await caught(() => client.streamCompletion({ prompt: [1] }).final());
    expect(error.code).toBe('connection_error');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('DEPTH_ZERO_SELF_SIGNED_CERT');
    expect(error.message).toContain('NODE_EXTRA_CA_CERTS');
    expect(error.message).toContain('tls: { ca }');
    await client.close();
  });

  it('https:// to a plain-HTTP port: "the server speaks plain HTTP: use http://"', async () => {
    const { client } = testClient(`https://127.0.0.1:${plainPort}`, RETRYING);
    const error = await caught(() => client.streamCompletion({ prompt: [1] }).final());
    expect(error.message).toContain('the server speaks plain HTTP: use http://');
    expect(error.retryable).toBe(false);
    await client.close();
  });

  it('http:// to a TLS port: "the server speaks TLS: use https://" (streams and JSON requests)', async () => {
    const url = tlsUrl.replace('https://', 'http://');
    const { client } = testClient(url, { ...RETRYING, retry: false });
    const error = await caught(() => client.streamCompletion({ prompt: [1] }).final());
    expect(error.message).toContain('the server speaks TLS: use https://');
    const models = await caught(() => client.models());
    expect(models.message).toContain('the server speaks TLS: use https://');
    await client.close();
  });
});
