/**
 * A tiny real HTTP server on loopback for tests: a handler per test, and a
 * record of what the client did (requests, bodies, sockets the client closed).
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  json: unknown;
  at: number;
}

export interface TestServer {
  url: string;
  requests: SeenRequest[];
  /** Sockets that closed while a response was still being written (the client hung up). */
  clientClosed: number;
  /** Resolves when the next response is closed by the client. */
  nextClientClose(): Promise<void>;
  close(): Promise<void>;
}

export type Handler = (req: SeenRequest, res: ServerResponse, raw: IncomingMessage) => void | Promise<void>;

export async function startServer(handler: Handler): Promise<TestServer> {
  const sockets = new Set<Socket>();
  const closeWaiters: (() => void)[] = [];
  const state: TestServer = {
    url: '',
    requests: [],
    clientClosed: 0,
    nextClientClose: () => new Promise((resolve) => closeWaiters.push(resolve)),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((raw, res) => {
    const chunks: Buffer[] = [];
    raw.on('data', (chunk: Buffer) => chunks.push(chunk));
    raw.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = body === '' ? undefined : JSON.parse(body);
      } catch {
        json = undefined;
      }
      const seen: SeenRequest = {
        method: raw.method ?? '',
        url: raw.url ?? '',
        headers: raw.headers,
        body,
        json,
        at: Date.now(),
      };
      state.requests.push(seen);
      res.on('close', () => {
        if (!res.writableFinished) {
          state.clientClosed++;
          for (const waiter of closeWaiters.splice(0)) waiter();
        }
      });
      Promise.resolve(handler(seen, res, raw)).catch((error) => {
        res.destroy(error);
      });
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

export const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'llamacpp');

/** The bytes of a recorded fixture file. */
export function fixture(name: string): Buffer {
  return readFileSync(join(FIXTURES, name));
}

/** Status and headers of a recorded `.headers` file (or the head of an `error-http*.txt`). */
export function recordedHead(text: string): {
  status: number;
  headers: Record<string, string>;
  body: string;
} {
  const [head, ...rest] = text.split(/\r?\n\r?\n/);
  const lines = head.split(/\r?\n/);
  const status = Number(lines[0].split(' ')[1]);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { status, headers, body: rest.join('\n\n') };
}

/** A handler that replays a recorded response (status, headers, exact body bytes). */
export function replay(name: string, options: { chunkSize?: number } = {}): Handler {
  return (_req, res) => {
    const body = fixture(name);
    const { status, headers } = recordedHead(fixture(`${name}.headers`).toString('utf8'));
    delete headers['content-length'];
    delete headers['transfer-encoding'];
    res.writeHead(status, headers);
    const size = options.chunkSize ?? body.length;
    for (let i = 0; i < body.length; i += size) res.write(body.subarray(i, i + size));
    res.end();
  };
}

/** Writes an SSE body made of the given events (`data: x\n\n` each). */
export function sse(res: ServerResponse, events: string[], end = true): void {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  for (const event of events) res.write(`data: ${event}\n\n`);
  if (end) res.end();
}

/** A vLLM-style completions chunk with one choice (the shape most loopback tests serve). */
export function completionChunk(text: string, ids: number[], finish: string | null = null): string {
  return JSON.stringify({
    id: 'cmpl-1',
    object: 'text_completion',
    choices: [{ index: 0, text, token_ids: ids, finish_reason: finish }],
  });
}

/** Serves `n` one-token chunks (ids 0…n−1, text "x", the last with finish "length") and [DONE], all at once. */
export function tokenBurst(n: number): Handler {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (let i = 0; i < n; i++) {
      res.write(`data: ${completionChunk('x', [i], i === n - 1 ? 'length' : null)}\n\n`);
    }
    res.end('data: [DONE]\n\n');
  };
}

/** Serves one-token chunks every 5 ms until the client goes away. */
export function endlessTokens(): Handler {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    let i = 0;
    const timer = setInterval(() => res.write(`data: ${completionChunk('x', [i++])}\n\n`), 5);
    res.on('close', () => clearInterval(timer));
  };
}
