/**
 * One Client over several replicas (the simulator cluster on loopback): every policy,
 * cache affinity and sessions as the replicas report them, failover before the first
 * token, resume on another replica mid-stream (exact ids), ejection and recovery,
 * Retry-After cooling, draining, maxInFlight, and the wait when every endpoint is down.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Client, type ClientOptions, type LogRecord } from '../../src/index.js';
import { type Cluster, type ClusterOptions, startCluster } from '../../src/sim/index.js';
import { caught } from '../helpers/client.js';

const PROMPT = [1, 17, 29, 301];
const N = 24;

let cluster: Cluster | undefined;
const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await cluster?.close();
  cluster = undefined;
});

async function fleet(
  clusterOptions: ClusterOptions,
  options: ClientOptions = {},
): Promise<{ client: Client; logs: LogRecord[]; cluster: Cluster }> {
  cluster = await startCluster({ dialect: 'vllm', seed: 7, ...clusterOptions });
  const logs: LogRecord[] = [];
  const client = new Client({
    endpoints: [...cluster.urls],
    dialect: 'vllm',
    failedRequestsDir: false,
    logger: (record) => logs.push(record),
    retry: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 50 },
    timeouts: { idleMs: 1_000, firstTokenMs: 2_000, totalMs: 10_000 },
    ...options,
  });
  clients.push(client);
  return { client, logs, cluster };
}

/** A vLLM completion id as the simulator writes it (its per-request value is checked elsewhere). */
const CMPL_ID = expect.stringMatching(/^cmpl-[0-9a-f]{32}$/);

const requestsPerReplica = (c: Cluster) => c.stats().perReplica.map((s) => s.requests);

async function uninterrupted(): Promise<number[]> {
  const single = await startCluster({ replicas: 1, dialect: 'vllm', seed: 7 });
  const client = new Client({ baseUrl: single.urls[0], dialect: 'vllm', failedRequestsDir: false });
  const result = await client.streamCompletion({ prompt: PROMPT, maxTokens: N }).final();
  await client.close();
  await single.close();
  return result.ids as number[];
}

describe('policies on loopback', () => {
  it('round-robin: sequential requests go to each replica in turn', async () => {
    const { client, cluster } = await fleet({ replicas: 3 }, { routing: { policy: 'round-robin' } });
    const reasons: string[] = [];
    for (let i = 0; i < 6; i++) {
      const result = await client.streamCompletion({ prompt: [...PROMPT, i], maxTokens: 2 }).final();
      expect(result.stats.endpoints).toHaveLength(1);
      reasons.push(result.stats.endpoints[0].chosenBy);
    }
    expect(requestsPerReplica(cluster)).toEqual([2, 2, 2]);
    expect(new Set(reasons)).toEqual(new Set(['round-robin']));
  });

  it('weighted: a weight-3 replica gets three of every four requests', async () => {
    cluster = await startCluster({ replicas: 2, dialect: 'vllm' });
    const client = new Client({
      endpoints: [{ url: cluster.urls[0], weight: 3 }, cluster.urls[1]],
      dialect: 'vllm',
      failedRequestsDir: false,
      routing: { policy: 'weighted', cacheAffinity: false },
    });
    clients.push(client);
    for (let i = 0; i < 8; i++)
      await client.streamCompletion({ prompt: [...PROMPT, i], maxTokens: 2 }).final();
    expect(requestsPerReplica(cluster)).toEqual([6, 2]);
  });

  it('least-outstanding: concurrent streams spread evenly; the busy replica is avoided', async () => {
    const { client, cluster } = await fleet(
      { replicas: 4, tokenDelayMs: 5 },
      { routing: { random: seeded(3) } },
    );
    const streams = Array.from({ length: 16 }, (_, i) =>
      client.streamCompletion({ prompt: [...PROMPT, 400 + i], maxTokens: 10 }).final(),
    );
    const results = await Promise.all(streams);
    expect(results.every((r) => r.stats.endpoints[0].chosenBy === 'least-outstanding')).toBe(true);
    // Power of two choices over 4: no replica gets more than its share plus two.
    for (const s of cluster.stats().perReplica) expect(s.maxActive).toBeLessThanOrEqual(6);
    expect(requestsPerReplica(cluster).reduce((a, b) => a + b)).toBe(16);
  });

  it('a fleet of one: every attempt says "only"', async () => {
    const { client } = await fleet({ replicas: 1 });
    const result = await client.streamCompletion({ prompt: PROMPT, maxTokens: 3 }).final();
    expect(result.stats.endpoints).toEqual([
      { url: cluster!.urls[0], chosenBy: 'only', tokens: 3, responseId: CMPL_ID, model: 'sim-model' },
    ]);
  });
});

describe('cache affinity and sessions', () => {
  it('the turns of a conversation go where its prefix is cached; the replica reports the hits', async () => {
    const { client, cluster } = await fleet({ replicas: 4 });
    let history = Array.from({ length: 40 }, (_, i) => 300 + i);
    const served = new Set<string>();
    for (let turn = 0; turn < 4; turn++) {
      const result = await client.streamCompletion({ prompt: history, maxTokens: 8 }).final();
      served.add(result.stats.endpoints[0].url);
      if (turn > 0) expect(result.stats.endpoints[0].chosenBy).toBe('affinity');
      history = [...history, ...(result.ids as number[]), 350 + turn, 351 + turn];
    }
    expect(served.size).toBe(1);
    const stats = cluster.stats();
    expect(stats.cachedTokens).toBeGreaterThan(0);
    expect(stats.perReplica.filter((s) => s.requests > 0)).toHaveLength(1);
  });

  it('a session key pins requests to one replica, whatever the prompt', async () => {
    const { client } = await fleet({ replicas: 4 });
    const urls = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const result = await client
        .streamCompletion({ prompt: [300 + i * 7], maxTokens: 2, session: 'user-42' })
        .final();
      urls.add(result.stats.endpoints[0].url);
      expect(result.stats.endpoints[0].chosenBy).toBe('session');
    }
    expect(urls.size).toBe(1);
  });
});

describe('failover', () => {
  it('a failure before the first token moves to another replica at once (no backoff)', async () => {
    const { client, logs } = await fleet(
      { replicas: 2, replica: [{ faults: 'status:500' }] },
      {
        routing: { policy: 'round-robin' },
        retry: { maxAttempts: 3, baseDelayMs: 5_000, maxDelayMs: 5_000 },
      },
    );
    const result = await client.streamCompletion({ prompt: PROMPT, maxTokens: 4 }).final();
    expect(result.stats.endpoints.map((e) => [e.url, e.failed])).toEqual([
      [cluster!.urls[0], 'http_error'],
      [cluster!.urls[1], undefined],
    ]);
    expect(logs.find((r) => r.event === 'retry')).toMatchObject({ delayMs: 0 });
  });

  it('a stream broken mid-way resumes on another replica with exactly the uninterrupted ids', async () => {
    const expected = await uninterrupted();
    for (const k of [1, 11, N - 1]) {
      const { client } = await fleet(
        { replicas: 3, replica: [{ faults: `reset-after:${k}` }] },
        { routing: { policy: 'round-robin' } },
      );
      const result = await client.streamCompletion({ prompt: PROMPT, maxTokens: N }).final();
      expect(result.ids, `reset after ${k}`).toEqual(expected);
      expect(result.stats.resumes).toBe(1);
      expect(result.stats.endpoints).toEqual([
        {
          url: cluster!.urls[0],
          chosenBy: 'round-robin',
          tokens: k,
          failed: 'connection_reset',
          responseId: CMPL_ID,
          model: 'sim-model',
        },
        {
          url: cluster!.urls[1],
          chosenBy: 'round-robin',
          tokens: N - k,
          responseId: CMPL_ID,
          model: 'sim-model',
        },
      ]);
      // The output began on the first replica: its response id is the call's. (The replicas
      // share a seed and count requests each from 1, so their ids are the same here.)
      expect(result.responseId).toBe(result.stats.endpoints[0].responseId);
      // The continuation carried prompt + received ids to the second replica.
      const sent = cluster!.replicas[1].report().requests[0].body as { prompt: number[]; max_tokens: number };
      expect(sent.prompt).toEqual([...PROMPT, ...expected.slice(0, k)]);
      expect(sent.max_tokens).toBe(N - k);
      await client.close();
      await cluster!.close();
    }
  });

  it('a continuation that fails before its own first token (503 elsewhere) is retried, still exact', async () => {
    const expected = await uninterrupted();
    const { client } = await fleet(
      { replicas: 2, replica: [{ faults: 'reset-after:5:once' }, { faults: 'status:503' }] },
      { routing: { policy: 'round-robin' }, retry: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 5 } },
    );
    const result = await client.streamCompletion({ prompt: PROMPT, maxTokens: N }).final();
    expect(result.ids).toEqual(expected);
    const [a, b] = cluster!.urls;
    const steps = result.stats.endpoints.map((e) => [e.url, e.tokens, e.failed]);
    expect(steps[0]).toEqual([a, 5, 'connection_reset']);
    // Then the 503 replica (once or more: with both tried, round-robin may pick it again), then A.
    for (const step of steps.slice(1, -1)) expect(step).toEqual([b, 0, 'http_error']);
    expect(steps.length).toBeGreaterThanOrEqual(3);
    expect(steps.at(-1)).toEqual([a, N - 5, undefined]);
  });

  it('a replica killed during streams: each stream resumes elsewhere, exact', async () => {
    const expected = await uninterrupted();
    const { client, cluster } = await fleet({ replicas: 3, tokenDelayMs: 10 });
    const streams = Array.from({ length: 9 }, () =>
      client.streamCompletion({ prompt: PROMPT, maxTokens: N }).final(),
    );
    // Killed once streams run there (bounded wait: 2 s).
    for (let i = 0; i < 200 && cluster.replicas[0].stats().active === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(cluster.replicas[0].stats().active).toBeGreaterThan(0);
    // A few tokens in (10 ms each), far from the end (24).
    await new Promise((r) => setTimeout(r, 40));
    await cluster.replicas[0].kill();
    const results = await Promise.all(streams);
    for (const result of results) expect(result.ids).toEqual(expected);
    expect(results.some((r) => r.stats.resumes > 0)).toBe(true);
  });

  it('the failure capture records every endpoint tried', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tokenwire-fleet-'));
    try {
      const { client } = await fleet(
        { replicas: 2, faults: 'status:500' },
        { failedRequestsDir: dir, retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5 } },
      );
      const error = await caught(() => client.streamCompletion({ prompt: PROMPT, maxTokens: 2 }).final());
      expect(error.code).toBe('http_error');
      const fixture = JSON.parse(readFileSync(join(dir, readdirSync(dir)[0]), 'utf8'));
      const urls = fixture.attempts.map((a: { request: { url: string } }) => new URL(a.request.url).origin);
      expect(new Set(urls)).toEqual(new Set(cluster!.urls));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('health', () => {
  const health = { consecutiveFailures: 2, baseEjectionMs: 200, maxEjectionMs: 1_000 };

  it('a dead replica is ejected after k failures, half-open after the cooldown, healthy after a good trial', async () => {
    const { client, cluster } = await fleet({ replicas: 2 }, { routing: { policy: 'round-robin', health } });
    const dead = cluster.replicas[0];
    await dead.kill();
    for (let i = 0; i < 4; i++) await client.streamCompletion({ prompt: PROMPT, maxTokens: 2 }).final();
    const snapshot = client.endpoints().find((e) => e.url === dead.url)!;
    expect(snapshot).toMatchObject({ state: 'ejected', ejections: 1 });
    expect(snapshot.lastError).toMatch(/connection refused \(POST http/);
    await dead.restart();
    await new Promise((r) => setTimeout(r, 250));
    expect(client.endpoints().find((e) => e.url === dead.url)!.state).toBe('half-open');
    // Round-robin reaches it within two requests: the trial succeeds.
    for (let i = 0; i < 2; i++) await client.streamCompletion({ prompt: PROMPT, maxTokens: 2 }).final();
    expect(client.endpoints().find((e) => e.url === dead.url)!.state).toBe('healthy');
    expect(dead.stats().requests).toBeGreaterThan(0);
  });

  it('429 with Retry-After cools only that replica, for that long; the request goes elsewhere at once', async () => {
    const { client, cluster, logs } = await fleet(
      { replicas: 2, replica: [{ faults: 'status:429:retry-after=30' }] },
      { routing: { policy: 'round-robin' } },
    );
    const result = await client.streamCompletion({ prompt: PROMPT, maxTokens: 3 }).final();
    expect(result.stats.endpoints.map((e) => e.failed)).toEqual(['http_error', undefined]);
    expect(logs.find((r) => r.event === 'retry')).toMatchObject({ delayMs: 0 });
    const [cooled, other] = client.endpoints();
    expect(cooled.state).toBe('cooling');
    expect(cooled.until! - performance.now()).toBeGreaterThan(25_000);
    expect(other.state).toBe('healthy');
    for (let i = 0; i < 4; i++) await client.streamCompletion({ prompt: PROMPT, maxTokens: 2 }).final();
    expect(requestsPerReplica(cluster)).toEqual([1, 5]);
  });

  it('maxInFlight: a replica never runs more than its cap; the rest wait their turn', async () => {
    cluster = await startCluster({ replicas: 2, dialect: 'vllm', tokenDelayMs: 3 });
    const client = new Client({
      endpoints: cluster.urls.map((url) => ({ url, maxInFlight: 1 })),
      dialect: 'vllm',
      failedRequestsDir: false,
    });
    clients.push(client);
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        client.streamCompletion({ prompt: [...PROMPT, i], maxTokens: 5 }).final(),
      ),
    );
    expect(results.every((r) => r.ids.length === 5)).toBe(true);
    expect(cluster.stats().perReplica.map((s) => s.maxActive)).toEqual([1, 1]);
  });

  it('draining: streams in flight finish there, new ones go elsewhere, then it leaves the list', async () => {
    const { client, cluster } = await fleet(
      { replicas: 2, tokenDelayMs: 5 },
      { routing: { policy: 'round-robin' } },
    );
    const running = client.streamCompletion({ prompt: PROMPT, maxTokens: 10 }).final();
    await new Promise((r) => setTimeout(r, 15));
    expect(client.drainEndpoint(cluster.urls[0])).toBe(true);
    expect(client.endpoints()[0].state).toBe('draining');
    const other = await client.streamCompletion({ prompt: PROMPT, maxTokens: 2 }).final();
    expect(other.stats.endpoints[0].url).toBe(cluster.urls[1]);
    const first = await running;
    expect(first.stats.endpoints).toEqual([
      { url: cluster.urls[0], chosenBy: 'round-robin', tokens: 10, responseId: CMPL_ID, model: 'sim-model' },
    ]);
    expect(client.endpoints().map((e) => e.url)).toEqual([cluster.urls[1]]);
    client.addEndpoint(cluster.urls[0]);
    expect(client.endpoints().map((e) => e.url)).toEqual([cluster.urls[1], cluster.urls[0]]);
  });

  it('every endpoint down: the call waits within its deadline, then fails with the last real error', async () => {
    const { client, cluster, logs } = await fleet(
      { replicas: 2 },
      {
        routing: { health: { consecutiveFailures: 1, baseEjectionMs: 60_000 } },
        retry: { maxAttempts: 5, baseDelayMs: 1, maxDelayMs: 50 },
        timeouts: { totalMs: 400 },
      },
    );
    await Promise.all(cluster.replicas.map((r) => r.kill()));
    const error = await caught(() => client.streamCompletion({ prompt: PROMPT, maxTokens: 2 }).final());
    expect(error.code).toBe('connection_refused');
    expect(error.message).toMatch(/no endpoint could take the request before the deadline/);
    expect(logs.some((r) => r.event === 'no_endpoint')).toBe(true);
    expect(client.endpoints().map((e) => e.state)).toEqual(['ejected', 'ejected']);
  });

  it('every endpoint down, then one comes back within the deadline: the waiting call is served', async () => {
    const { client, cluster } = await fleet(
      { replicas: 2 },
      {
        routing: { health: { consecutiveFailures: 1, baseEjectionMs: 150 } },
        retry: { maxAttempts: 6, baseDelayMs: 1, maxDelayMs: 50 },
        timeouts: { totalMs: 5_000 },
      },
    );
    await Promise.all(cluster.replicas.map((r) => r.kill()));
    const pending = client.streamCompletion({ prompt: PROMPT, maxTokens: 2 }).final();
    await new Promise((r) => setTimeout(r, 60));
    await cluster.replicas[1].restart();
    const result = await pending;
    expect(result.ids).toHaveLength(2);
    expect(result.stats.endpoints.at(-1)!.url).toBe(cluster.urls[1]);
  });
});

describe('active health probes', () => {
  it('GET /health ejects a dead replica before any request reaches it, and brings it back when it answers', async () => {
    const { client, cluster } = await fleet(
      { replicas: 2 },
      {
        routing: {
          probe: { intervalMs: 100, timeoutMs: 500 },
          health: { consecutiveFailures: 2, baseEjectionMs: 60_000 },
        },
      },
    );
    const dead = cluster.replicas[0];
    await dead.kill();
    const state = () => client.endpoints().find((e) => e.url === dead.url)!.state;
    // Bounded waits (3 s): probes every 100 ms.
    for (let i = 0; i < 60 && state() !== 'ejected'; i++) await new Promise((r) => setTimeout(r, 50));
    expect(state()).toBe('ejected');
    expect(dead.stats().requests).toBe(0);
    await dead.restart();
    // Its cooldown is a minute: only a good probe can bring it back this soon.
    for (let i = 0; i < 60 && state() !== 'healthy'; i++) await new Promise((r) => setTimeout(r, 50));
    expect(state()).toBe('healthy');
    const health = dead.report().requests.filter((r) => r.path === '/health');
    expect(health.length).toBeGreaterThan(0);
  });

  it('refuses a bad probe interval', () => {
    expect(() => new Client({ endpoints: ['http://a:1'], routing: { probe: { intervalMs: 10 } } })).toThrow(
      /invalid option routing.probe.intervalMs: 10 \(expected a number of milliseconds ≥ 100\)/,
    );
  });
});

describe('options', () => {
  it('refuses bad endpoints with the option named', () => {
    expect(() => new Client({ endpoints: [] })).toThrow(
      /invalid option endpoints: \[\] \(expected a non-empty array/,
    );
    expect(() => new Client({ endpoints: ['http://a:1', 'http://a:1/v1'] })).toThrow(
      /invalid option endpoints\[1\]\.url: "http:\/\/a:1\/v1" \(expected a URL not listed twice\)/,
    );
    expect(() => new Client({ endpoints: [{ url: 'http://a:1', weight: 0 }] })).toThrow(
      /invalid option endpoints\[0\]\.weight: 0 \(expected a positive number\)/,
    );
    expect(() => new Client({ endpoints: [{ url: 'http://a:1', maxInFlight: 0 }] })).toThrow(
      /endpoints\[0\]\.maxInFlight: 0/,
    );
    expect(() => new Client({ endpoints: ['ftp://x'] })).toThrow(
      /invalid option endpoints\[0\]\.url: "ftp:\/\/x"/,
    );
    expect(() => new Client({ baseUrl: 'http://a:1', endpoints: ['http://b:1'] })).toThrow(
      /one of baseUrl, endpoints or discovery, not several/,
    );
    expect(() => new Client({ endpoints: ['http://a:1'], routing: { policy: 'random' as never } })).toThrow(
      /invalid option routing.policy: "random" \(expected one of least-outstanding, round-robin, weighted\)/,
    );
    expect(() => new Client({ endpoints: ['http://a:1'], routing: { health: { failureRate: 2 } } })).toThrow(
      /routing.health.failureRate: 2/,
    );
  });

  it('TOKENWIRE_ENDPOINTS gives the endpoints when no baseUrl or endpoints are passed', () => {
    const saved = process.env.TOKENWIRE_ENDPOINTS;
    process.env.TOKENWIRE_ENDPOINTS = 'http://127.0.0.1:9001, http://127.0.0.1:9002/v1';
    try {
      const client = new Client({ failedRequestsDir: false });
      clients.push(client);
      expect(client.endpoints().map((e) => e.url)).toEqual([
        'http://127.0.0.1:9001',
        'http://127.0.0.1:9002',
      ]);
      expect(client.baseUrl).toBe('http://127.0.0.1:9001');
    } finally {
      if (saved === undefined) delete process.env.TOKENWIRE_ENDPOINTS;
      else process.env.TOKENWIRE_ENDPOINTS = saved;
    }
  });

  it('each endpoint gets its own key and model; neither leaks to another', async () => {
    cluster = await startCluster({ replicas: 2, dialect: 'vllm' });
    const client = new Client({
      endpoints: [
        { url: cluster.urls[0], apiKey: 'sk-first-endpoint-key-0001', model: 'm-one' },
        { url: cluster.urls[1], apiKey: 'sk-second-endpoint-key-0002', headers: { 'x-team': 'b' } },
      ],
      model: 'm-default',
      dialect: 'vllm',
      failedRequestsDir: false,
      routing: { policy: 'round-robin' },
      retry: false,
    });
    clients.push(client);
    // The simulator knows one model name: the others are refused (404), after being recorded.
    for (let i = 0; i < 2; i++) {
      await client
        .streamCompletion({ prompt: PROMPT, maxTokens: 1 })
        .final()
        .catch(() => undefined);
    }
    const [a, b] = cluster.replicas.map((r) => r.report().requests[0]);
    expect((a.body as { model: string }).model).toBe('m-one');
    expect((b.body as { model: string }).model).toBe('m-default');
    expect(b.headers['x-team']).toBe('b');
    expect(a.headers['x-team']).toBeUndefined();
  });
});

/** A seeded random source (mulberry32). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
