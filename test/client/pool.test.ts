/**
 * The connection pool (IdleStackPool) on real loopback sockets: the connection limit,
 * keep-alive reuse, requests waiting in order, refused connections, close and
 * destroy; and the same limit through the Client (`maxConnections`).
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { Client } from '../../src/index.js';
import { IdleStackPool } from '../../src/transport/pool.js';
import { completionChunk } from '../helpers/http-server.js';

interface CountingServer {
  url: string;
  /** Sockets opened so far. */
  connections: number;
  /** Most requests in flight at once. */
  maxInFlight: number;
  /** Request paths in the order the server got them. */
  order: string[];
  /** Responses held back (answer them with `release`). */
  held: ServerResponse[];
  close(): Promise<void>;
}

const servers: CountingServer[] = [];
const pools: IdleStackPool[] = [];

afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.destroy()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** Answers `/n` with `n` after `delayMs`, or holds the response when `hold` is set. */
async function countingServer(
  options: { delayMs?: number; hold?: boolean; keepAliveTimeoutMs?: number } = {},
): Promise<CountingServer> {
  const sockets = new Set<Socket>();
  let inFlight = 0;
  const state: CountingServer = {
    url: '',
    connections: 0,
    maxInFlight: 0,
    order: [],
    held: [],
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      state.order.push(req.url ?? '');
      inFlight++;
      state.maxInFlight = Math.max(state.maxInFlight, inFlight);
      res.on('close', () => inFlight--);
      if (options.hold) {
        state.held.push(res);
        return;
      }
      const answer = () => res.end((req.url ?? '').slice(1));
      if (options.delayMs === 0) answer();
      else setTimeout(answer, options.delayMs ?? 5);
    });
  });
  if (options.keepAliveTimeoutMs !== undefined) server.keepAliveTimeout = options.keepAliveTimeoutMs;
  server.on('connection', (socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  servers.push(state);
  return state;
}

function pool(url: string, connections: number): IdleStackPool {
  const made = new IdleStackPool(url, {
    connections,
    connectTimeoutMs: 2_000,
    client: { bodyTimeout: 0, pipelining: 1 },
  });
  pools.push(made);
  return made;
}

async function get(dispatcher: IdleStackPool, url: string, path: string): Promise<string> {
  const { body } = await request(`${url}${path}`, { dispatcher });
  return body.text();
}

describe('IdleStackPool', () => {
  it('serves more requests than connections over at most that many kept-alive sockets, in order', async () => {
    const server = await countingServer({ delayMs: 5 });
    const dispatcher = pool(server.url, 3);
    const paths = Array.from({ length: 30 }, (_, i) => `/${i}`);
    const bodies = await Promise.all(paths.map((path) => get(dispatcher, server.url, path)));
    expect(bodies).toEqual(paths.map((path) => path.slice(1)));
    expect(server.connections).toBe(3);
    expect(server.maxInFlight).toBe(3);
    // The first three go out at once (any order between them); the waiting ones in FIFO order.
    expect(server.order.slice(3)).toEqual(paths.slice(3));
    // A second round reuses the same sockets.
    await Promise.all(paths.map((path) => get(dispatcher, server.url, path)));
    expect(server.connections).toBe(3);
  });

  it('keeps FIFO order through a backlog of 2,500 on one connection (served slots dropped as it goes)', async () => {
    const server = await countingServer({ delayMs: 0 });
    const dispatcher = pool(server.url, 1);
    const paths = Array.from({ length: 2_500 }, (_, i) => `/${i}`);
    const bodies = await Promise.all(paths.map((path) => get(dispatcher, server.url, path)));
    expect(bodies).toEqual(paths.map((path) => path.slice(1)));
    expect(server.order).toEqual(paths);
    expect(server.connections).toBe(1);
  });

  it('serves a request on an idle connection the server has closed meanwhile, by reconnecting', async () => {
    const server = await countingServer({ delayMs: 0, keepAliveTimeoutMs: 50 });
    const dispatcher = pool(server.url, 2);
    expect(await Promise.all([get(dispatcher, server.url, '/1'), get(dispatcher, server.url, '/2')])).toEqual(
      ['1', '2'],
    );
    expect(server.connections).toBe(2);
    // Both sockets are closed by the server while they sit idle in the pool.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await Promise.all([get(dispatcher, server.url, '/3'), get(dispatcher, server.url, '/4')])).toEqual(
      ['3', '4'],
    );
    expect(server.connections).toBe(4);
  });

  it('fails every request, the waiting ones too, when connections are refused, and stays usable', async () => {
    const server = await countingServer();
    const port = new URL(server.url).port;
    await server.close();
    servers.splice(servers.indexOf(server), 1);
    const dispatcher = pool(`http://127.0.0.1:${port}`, 2);
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) => get(dispatcher, `http://127.0.0.1:${port}`, `/${i}`)),
    );
    expect(results.map((result) => result.status)).toEqual(Array(6).fill('rejected'));
    for (const result of results) {
      expect(String((result as PromiseRejectedResult).reason?.code)).toBe('ECONNREFUSED');
    }
    await expect(dispatcher.close()).resolves.toBeUndefined();
  });

  it('close() lets waiting requests finish, then refuses new ones', async () => {
    const server = await countingServer({ hold: true });
    const dispatcher = pool(server.url, 1);
    const pending = ['/a', '/b', '/c'].map((path) => get(dispatcher, server.url, path));
    await waitFor(() => server.held.length === 1);
    const closed = dispatcher.close();
    expect(dispatcher.closed).toBe(true);
    // Each held response is answered in turn; the next waiting request then goes out.
    for (let answered = 0; answered < 3; answered++) {
      await waitFor(() => server.held.length === answered + 1);
      server.held[answered]!.end(`done${answered}`);
    }
    expect(await Promise.all(pending)).toEqual(['done0', 'done1', 'done2']);
    await closed;
    await expect(get(dispatcher, server.url, '/late')).rejects.toMatchObject({ code: 'UND_ERR_CLOSED' });
  });

  it('destroy() fails the running and the waiting requests with its error', async () => {
    const server = await countingServer({ hold: true });
    const dispatcher = pool(server.url, 1);
    const pending = ['/a', '/b', '/c'].map((path) =>
      get(dispatcher, server.url, path).then(
        () => 'resolved',
        (error: Error) => error.message,
      ),
    );
    await waitFor(() => server.held.length === 1);
    await dispatcher.destroy(new Error('going away'));
    expect(dispatcher.destroyed).toBe(true);
    expect(await Promise.all(pending)).toEqual(['going away', 'going away', 'going away']);
    await expect(get(dispatcher, server.url, '/late')).rejects.toMatchObject({
      code: 'UND_ERR_DESTROYED',
    });
  });
});

describe('Client maxConnections', () => {
  it('runs 12 concurrent streams over 2 connections, each complete', async () => {
    const sockets = new Set<Socket>();
    let connections = 0;
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(`data: ${completionChunk('a', [1])}\n\n`);
        setTimeout(() => {
          res.end(`data: ${completionChunk('b', [2], 'stop')}\n\ndata: [DONE]\n\n`);
        }, 10);
      });
    });
    server.on('connection', (socket) => {
      connections++;
      sockets.add(socket);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = new Client({
      baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      dialect: 'vllm',
      maxConnections: 2,
      retry: false,
      failedRequestsDir: false,
    });
    try {
      const results = await Promise.all(
        Array.from({ length: 12 }, () => client.streamCompletion({ prompt: [1], maxTokens: 2 }).final()),
      );
      expect(results.map((result) => [result.text, result.ids, result.finishReason])).toEqual(
        Array(12).fill(['ab', [1, 2], 'stop']),
      );
      expect(connections).toBe(2);
    } finally {
      await client.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('Client connections closed by the server', () => {
  it('runs the next stream after the server closed every idle connection, three times', async () => {
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(`data: ${completionChunk('a', [1], 'stop')}\n\ndata: [DONE]\n\n`);
      });
    });
    server.keepAliveTimeout = 50;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = new Client({
      baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      dialect: 'vllm',
      retry: false,
      failedRequestsDir: false,
    });
    try {
      for (let round = 0; round < 3; round++) {
        const result = await client.streamCompletion({ prompt: [1], maxTokens: 1 }).final();
        expect([result.text, result.ids]).toEqual(['a', [1]]);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    } finally {
      await client.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
