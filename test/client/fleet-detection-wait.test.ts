/**
 * A stream that waits for an endpoint's server detection (`dialect: 'auto'`) and gives up
 * on its own (its total deadline, its abort signal, close()) says nothing about that
 * endpoint: the fleet must not count it as the endpoint's failure (ejections), nor as a
 * success (a half-open endpoint's trial), nor charge it another attempt's outcome.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Client, type ClientOptions } from '../../src/index.js';
import { type Simulator, startSimulator } from '../../src/sim/index.js';
import { caught } from '../helpers/client.js';

const PROMPT = [1, 17, 29, 301];

/**
 * A server whose detection never answers (every request is held open until the test
 * ends), except the first `dropFirst` requests, whose sockets it destroys (a network
 * failure of the detection: a real failure of the endpoint).
 */
async function holdingServer(
  dropFirst = 0,
): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  let seen = 0;
  const held: ServerResponse[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen++;
    if (seen <= dropFirst) {
      req.socket.destroy();
      return;
    }
    held.push(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of held) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function client(options: ClientOptions): Client {
  const c = new Client({ failedRequestsDir: false, logger: () => {}, ...options });
  cleanups.push(() => c.close());
  return c;
}

const snapshotOf = (c: Client, url: string) => c.endpoints().find((e) => e.url === url)!;

describe('a stream giving up while it waits for server detection', () => {
  it('its own total deadline, again and again, does not eject the endpoint', async () => {
    const hold = await holdingServer();
    cleanups.push(hold.close);
    const c = client({
      endpoints: [hold.url],
      timeouts: { totalMs: 80 },
      routing: { health: { consecutiveFailures: 2, minSamples: 2, failureRate: 0.5 } },
    });
    for (let i = 0; i < 3; i++) {
      const error = await caught(() => c.streamCompletion({ prompt: PROMPT, maxTokens: 2 }).final());
      expect(error.code).toBe('total_timeout');
    }
    expect(snapshotOf(c, hold.url)).toMatchObject({
      state: 'healthy',
      ejections: 0,
      errorRate: 0,
      inFlight: 0,
      lastError: undefined,
    });
  });

  it('an abort while waiting is not a success either: a half-open endpoint stays half-open', async () => {
    // The first detection fails for real (socket destroyed): ejected after one failure.
    const hold = await holdingServer(1);
    cleanups.push(hold.close);
    const c = client({
      endpoints: [hold.url],
      retry: false,
      routing: { health: { consecutiveFailures: 1, baseEjectionMs: 400, maxEjectionMs: 400 } },
    });
    const first = await caught(() => c.streamCompletion({ prompt: PROMPT, maxTokens: 2 }).final());
    expect(first.code).not.toBe('aborted');
    expect(snapshotOf(c, hold.url).state).toBe('ejected');
    await new Promise((r) => setTimeout(r, 420));
    expect(snapshotOf(c, hold.url).state).toBe('half-open');
    // The trial request waits for the (held) detection, then its caller gives up.
    const controller = new AbortController();
    const stream = c.streamCompletion({ prompt: PROMPT, maxTokens: 2, signal: controller.signal });
    for (let i = 0; i < 100 && hold.requests() < 2; i++) await new Promise((r) => setTimeout(r, 5));
    expect(hold.requests()).toBeGreaterThanOrEqual(2);
    controller.abort();
    expect((await caught(() => stream.final())).code).toBe('aborted');
    expect(snapshotOf(c, hold.url)).toMatchObject({ state: 'half-open', inFlight: 0, ejections: 1 });
  });

  describe('after a failed attempt elsewhere (the retry waits for this endpoint)', () => {
    async function setup(options: ClientOptions): Promise<{ c: Client; sim: Simulator; hold: string }> {
      const sim = await startSimulator({ dialect: 'vllm', faults: 'status:503' });
      cleanups.push(() => sim.close());
      const hold = await holdingServer();
      cleanups.push(hold.close);
      const c = client({
        // Round-robin starts with the first: the 503, then the retry goes to the held one.
        endpoints: [{ url: sim.url, dialect: 'vllm' }, hold.url],
        routing: { policy: 'round-robin' },
        retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
        ...options,
      });
      return { c, sim, hold: hold.url };
    }

    it('its total deadline: the waiting endpoint is not charged (neither the 503 nor a timeout)', async () => {
      const { c, sim, hold } = await setup({ timeouts: { totalMs: 150 } });
      const error = await caught(() => c.streamCompletion({ prompt: PROMPT, maxTokens: 2 }).final());
      expect(error.code).toBe('total_timeout');
      expect(snapshotOf(c, hold)).toMatchObject({ errorRate: 0, lastError: undefined, inFlight: 0 });
      expect(snapshotOf(c, sim.url).errorRate).toBe(1);
    });

    it('its abort: the waiting endpoint is not charged with the other endpoint’s 503', async () => {
      const { c, sim, hold } = await setup({});
      const controller = new AbortController();
      const stream = c.streamCompletion({ prompt: PROMPT, maxTokens: 2, signal: controller.signal });
      for (let i = 0; i < 100 && sim.report().requests.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 5));
      }
      await new Promise((r) => setTimeout(r, 30));
      controller.abort();
      expect((await caught(() => stream.final())).code).toBe('aborted');
      expect(snapshotOf(c, hold)).toMatchObject({ errorRate: 0, lastError: undefined, inFlight: 0 });
    });

    it('close(): the same', async () => {
      const { c, sim, hold } = await setup({});
      const stream = c.streamCompletion({ prompt: PROMPT, maxTokens: 2 });
      for (let i = 0; i < 100 && sim.report().requests.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 5));
      }
      await new Promise((r) => setTimeout(r, 30));
      const snapshotBefore = snapshotOf(c, hold);
      expect(snapshotBefore.inFlight).toBe(1);
      await c.close();
      expect((await caught(() => stream.final())).code).toBe('aborted');
      expect(snapshotOf(c, hold)).toMatchObject({ errorRate: 0, lastError: undefined, inFlight: 0 });
    });
  });
});
