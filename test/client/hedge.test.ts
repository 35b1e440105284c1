/**
 * Hedging (`hedge: { afterMs }`) on the simulator cluster: a first replica that stalls its
 * first token is raced by a second request to another replica; the first to answer is kept,
 * the other's connection is closed; nothing of the loser reaches the caller, usage is
 * counted once, the router's in-flight counts and EWMA stay right, and failures of one racer
 * are not the call's. Options are validated at the door.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { Client, type ClientOptions, type EndpointAttempt, type LogRecord } from '../../src/index.js';
import { type Cluster, type ClusterOptions, startCluster } from '../../src/sim/index.js';
import { caught } from '../helpers/client.js';

const PROMPT = [1, 17, 29, 301];
const N = 12;

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
    // Round-robin: the first request of a fresh client goes to replica 0.
    routing: { policy: 'round-robin' },
    retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
    timeouts: { idleMs: 2_000, firstTokenMs: 5_000, totalMs: 10_000 },
    hedge: { afterMs: 40 },
    ...options,
  });
  clients.push(client);
  return { client, logs, cluster };
}

/** Each attempt's endpoint, why it went there, its tokens and why it ended (ids and models left out). */
const steps = (result: { stats: { endpoints: EndpointAttempt[] } }) =>
  result.stats.endpoints.map(({ url, chosenBy, tokens, failed }) =>
    failed === undefined ? { url, chosenBy, tokens } : { url, chosenBy, tokens, failed },
  );

const requestsPerReplica = (c: Cluster) => c.replicas.map((r) => r.report().requests.length);

/** Waits (bounded: 3 s) until `replica` saw its client close the connection. */
async function clientClosed(c: Cluster, index: number): Promise<number> {
  for (let i = 0; i < 300 && c.replicas[index].report().clientClosedSockets === 0; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  return c.replicas[index].report().clientClosedSockets;
}

const expectedRuns = new Map<number, { ids: number[]; text: string; promptTokens: number | undefined }>();
/** The same request on one replica, uninterrupted (greedy: the ids every replica gives). */
async function uninterrupted(maxTokens = N) {
  const known = expectedRuns.get(maxTokens);
  if (known !== undefined) return known;
  const single = await startCluster({ replicas: 1, dialect: 'vllm', seed: 7 });
  const client = new Client({ baseUrl: single.urls[0], dialect: 'vllm', failedRequestsDir: false });
  const result = await client.streamCompletion({ prompt: PROMPT, maxTokens }).final();
  await client.close();
  await single.close();
  const run = { ids: result.ids as number[], text: result.text, promptTokens: result.usage.promptTokens };
  expectedRuns.set(maxTokens, run);
  return run;
}

describe('a hedge that fires', () => {
  it('wins against a stalled replica: exact ids and text, usage once, the stalled replica sees its connection closed', async () => {
    const expected = await uninterrupted();
    const { client, logs, cluster } = await fleet({
      replicas: 2,
      replica: [{ faults: 'stall-first-token:3000' }],
    });
    const tokens: number[] = [];
    const stream = client.streamCompletion({ prompt: PROMPT, maxTokens: N });
    for await (const event of stream) if (event.type === 'token') tokens.push(event.id!);
    const result = await stream.final();
    expect(tokens).toEqual(expected.ids);
    expect(result.ids).toEqual(expected.ids);
    expect(result.text).toBe(expected.text);
    expect(result.usage).toMatchObject({ completionTokens: N, promptTokens: expected.promptTokens });
    expect(result.stats.attempts).toBe(2);
    expect(result.stats.resumes).toBe(0);
    expect(steps(result)).toEqual([
      { url: cluster.urls[0], chosenBy: 'round-robin', tokens: 0, failed: 'hedge_lost' },
      { url: cluster.urls[1], chosenBy: 'hedge', tokens: N },
    ]);
    expect(requestsPerReplica(cluster)).toEqual([1, 1]);
    expect(await clientClosed(cluster, 0)).toBe(1);
    expect(cluster.replicas[0].report().requests[0].tokensSent).toBe(0);
    // The response is the winner's (the loser's first chunk, if read, does not name it).
    expect(result.responseId).toBeDefined();
    expect(result.responseId).toBe(result.stats.endpoints[1].responseId);
    // The router: nothing left in flight; the loser's endpoint is not judged and its
    // (unknown) time to first token is not recorded; the winner's is.
    const [slow, fast] = client.endpoints();
    expect(slow).toMatchObject({ inFlight: 0, errorRate: 0, ewmaTtftMs: undefined, state: 'healthy' });
    expect(fast.inFlight).toBe(0);
    expect(fast.ewmaTtftMs).toBeGreaterThan(0);
    expect(logs.find((r) => r.event === 'hedge')).toMatchObject({
      url: `${cluster.urls[0]}/v1/completions`,
      hedgeUrl: `${cluster.urls[1]}/v1/completions`,
      afterMs: 40,
    });
  });

  it("dialect 'auto': the hedge's endpoint is detected first, then raced", async () => {
    const expected = await uninterrupted();
    const { client, cluster } = await fleet(
      { replicas: 2, replica: [{ faults: 'stall-first-token:3000' }] },
      { dialect: 'auto' },
    );
    const result = await client.streamCompletion({ prompt: PROMPT, maxTokens: N }).final();
    expect(result.ids).toEqual(expected.ids);
    expect(result.stats.endpoints.map((e) => [e.url, e.chosenBy, e.failed])).toEqual([
      [cluster.urls[0], 'round-robin', 'hedge_lost'],
      [cluster.urls[1], 'hedge', undefined],
    ]);
    expect(cluster.replicas[1].report().requests.some((r) => r.path === '/v1/models')).toBe(true);
    expect(client.endpoints().map((e) => e.inFlight)).toEqual([0, 0]);
  });

  it('chat: the hedge wins with exactly the text of an uninterrupted run', async () => {
    const messages = [{ role: 'user', content: 'hello there' }];
    const single = await startCluster({ replicas: 1, dialect: 'vllm', seed: 7 });
    const plain = new Client({ baseUrl: single.urls[0], dialect: 'vllm', failedRequestsDir: false });
    const expected = await plain.streamChat({ messages, maxTokens: N }).final();
    await plain.close();
    await single.close();
    const { client, cluster } = await fleet({ replicas: 2, replica: [{ faults: 'stall-first-token:3000' }] });
    const result = await client.streamChat({ messages, maxTokens: N }).final();
    expect(result.message.content).toBe(expected.message.content);
    // The response is the winner's, though the stalled replica's role chunk came first.
    expect(result.responseId).toBeDefined();
    expect(result.responseId).toBe(result.stats.endpoints[1].responseId);
    expect(result.tokenIds).toEqual(expected.tokenIds);
    expect(result.usage.completionTokens).toBe(expected.usage.completionTokens);
    expect(result.stats.endpoints.map((e) => [e.chosenBy, e.failed])).toEqual([
      ['round-robin', 'hedge_lost'],
      ['hedge', undefined],
    ]);
    expect(await clientClosed(cluster, 0)).toBe(1);
  });

  it('the first replica answers before the hedge: it wins, the hedge is cancelled', async () => {
    const expected = await uninterrupted();
    // Replica 0 answers after 150 ms, the hedge (sent at 40 ms) after 3 s.
    const { client, cluster } = await fleet({
      replicas: 2,
      replica: [{ faults: 'stall-first-token:150' }, { faults: 'stall-first-token:3000' }],
    });
    const result = await client.streamCompletion({ prompt: PROMPT, maxTokens: N }).final();
    expect(result.ids).toEqual(expected.ids);
    expect(steps(result)).toEqual([
      { url: cluster.urls[0], chosenBy: 'round-robin', tokens: N },
      { url: cluster.urls[1], chosenBy: 'hedge', tokens: 0, failed: 'hedge_lost' },
    ]);
    expect(await clientClosed(cluster, 1)).toBe(1);
    expect(client.endpoints().map((e) => e.inFlight)).toEqual([0, 0]);
  });
});

describe('a hedge that is not needed', () => {
  it('the first replica answers before afterMs: no second request is ever sent', async () => {
    const { client, cluster } = await fleet({ replicas: 2 }, { hedge: { afterMs: 400 } });
    for (let i = 0; i < 6; i++) {
      const result = await client.streamCompletion({ prompt: [...PROMPT, i], maxTokens: 4 }).final();
      expect(result.stats.endpoints).toHaveLength(1);
      expect(result.stats.attempts).toBe(1);
    }
    // Past every stream's afterMs: still exactly one request per stream.
    await new Promise((r) => setTimeout(r, 450));
    expect(requestsPerReplica(cluster)).toEqual([3, 3]);
  });

  it('the first attempt fails before the hedge fires: normal failover, then no hedge', async () => {
    const expected = await uninterrupted();
    const { client, cluster } = await fleet(
      { replicas: 2, replica: [{ faults: 'status:503' }] },
      { hedge: { afterMs: 300 } },
    );
    const result = await client.streamCompletion({ prompt: PROMPT, maxTokens: N }).final();
    expect(result.ids).toEqual(expected.ids);
    expect(steps(result)).toEqual([
      { url: cluster.urls[0], chosenBy: 'round-robin', tokens: 0, failed: 'http_error' },
      { url: cluster.urls[1], chosenBy: 'round-robin', tokens: N },
    ]);
    await new Promise((r) => setTimeout(r, 350));
    expect(requestsPerReplica(cluster)).toEqual([1, 1]);
  });

  it('hedge: false on a request turns the client’s hedge off', async () => {
    const { client, cluster } = await fleet({ replicas: 2, replica: [{ faults: 'stall-first-token:200' }] });
    const result = await client.streamCompletion({ prompt: PROMPT, maxTokens: 3, hedge: false }).final();
    expect(result.stats.endpoints).toHaveLength(1);
    expect(requestsPerReplica(cluster)).toEqual([1, 0]);
  });

  it('a request can turn hedging on for itself on a client without it', async () => {
    const { client, cluster } = await fleet(
      { replicas: 2, replica: [{ faults: 'stall-first-token:3000' }] },
      { hedge: undefined },
    );
    const result = await client
      .streamCompletion({ prompt: PROMPT, maxTokens: 3, hedge: { afterMs: 20 } })
      .final();
    expect(result.stats.endpoints.map((e) => e.chosenBy)).toEqual(['round-robin', 'hedge']);
    expect(requestsPerReplica(cluster)).toEqual([1, 1]);
  });

  it('an endpoint list of one: nothing to hedge to, no second request', async () => {
    cluster = await startCluster({ replicas: 1, dialect: 'vllm', faults: 'stall-first-token:150' });
    const client = new Client({
      endpoints: [cluster.urls[0]],
      dialect: 'vllm',
      failedRequestsDir: false,
      hedge: { afterMs: 10 },
    });
    clients.push(client);
    const result = await client.streamCompletion({ prompt: PROMPT, maxTokens: 3 }).final();
    expect(result.stats.endpoints).toHaveLength(1);
    expect(requestsPerReplica(cluster)).toEqual([1]);
  });
});

describe('failures in a hedge race', () => {
  it('the hedge fails (503), the first goes on alone and its answer is the result', async () => {
    const expected = await uninterrupted();
    const { client, cluster } = await fleet({
      replicas: 2,
      replica: [{ faults: 'stall-first-token:150' }, { faults: 'status:503' }],
    });
    const result = await client.streamCompletion({ prompt: PROMPT, maxTokens: N }).final();
    expect(result.ids).toEqual(expected.ids);
    expect(steps(result)).toEqual([
      { url: cluster.urls[0], chosenBy: 'round-robin', tokens: N },
      { url: cluster.urls[1], chosenBy: 'hedge', tokens: 0, failed: 'http_error' },
    ]);
    // The hedge's failure is a real one of its endpoint.
    expect(client.endpoints()[1].errorRate).toBe(1);
  });

  it('both fail: the error is the last real one (and names its replica); both are judged', async () => {
    for (const [first, second, last] of [
      ['stall-headers:300,status:502', 'status:503', 0],
      ['stall-headers:150,status:502', 'stall-headers:400,status:503', 1],
    ] as const) {
      const { client, cluster } = await fleet(
        { replicas: 2, replica: [{ faults: first }, { faults: second }] },
        { retry: false },
      );
      const error = await caught(() => client.streamCompletion({ prompt: PROMPT, maxTokens: N }).final());
      expect(error.code).toBe('http_error');
      expect(error.status).toBe(last === 0 ? 502 : 503);
      expect(error.message).toContain(cluster.urls[last]);
      expect(requestsPerReplica(cluster)).toEqual([1, 1]);
      expect(client.endpoints().map((e) => [e.errorRate, e.inFlight])).toEqual([
        [1, 0],
        [1, 0],
      ]);
      await client.close();
      await cluster.close();
    }
  });

  it('the failure capture records both endpoints of the race', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tokenwire-hedge-'));
    try {
      const { client, cluster } = await fleet(
        { replicas: 2, replica: [{ faults: 'stall-headers:200,status:500' }, { faults: 'status:500' }] },
        { retry: false, failedRequestsDir: dir },
      );
      const error = await caught(() => client.streamCompletion({ prompt: PROMPT, maxTokens: 2 }).final());
      expect(error.code).toBe('http_error');
      const fixture = JSON.parse(readFileSync(join(dir, readdirSync(dir)[0]), 'utf8'));
      const urls = fixture.attempts.map((a: { request: { url: string } }) => new URL(a.request.url).origin);
      expect(urls).toEqual([cluster.urls[0], cluster.urls[1]]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an abort during the race ends both requests; neither endpoint is judged', async () => {
    const { client, cluster } = await fleet({ replicas: 2, faults: 'stall-first-token:5000' });
    const controller = new AbortController();
    const stream = client.streamCompletion({ prompt: PROMPT, maxTokens: N, signal: controller.signal });
    for (let i = 0; i < 300 && requestsPerReplica(cluster).join() !== '1,1'; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(requestsPerReplica(cluster)).toEqual([1, 1]);
    controller.abort();
    expect((await caught(() => stream.final())).code).toBe('aborted');
    expect([await clientClosed(cluster, 0), await clientClosed(cluster, 1)]).toEqual([1, 1]);
    expect(client.endpoints().map((e) => [e.inFlight, e.errorRate])).toEqual([
      [0, 0],
      [0, 0],
    ]);
  });

  it('close() during the race ends both requests too', async () => {
    const { client, cluster } = await fleet({ replicas: 2, faults: 'stall-first-token:5000' });
    const stream = client.streamCompletion({ prompt: PROMPT, maxTokens: N });
    for (let i = 0; i < 300 && requestsPerReplica(cluster).join() !== '1,1'; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    await client.close();
    expect((await caught(() => stream.final())).code).toBe('aborted');
    expect([await clientClosed(cluster, 0), await clientClosed(cluster, 1)]).toEqual([1, 1]);
    expect(client.endpoints().map((e) => e.inFlight)).toEqual([0, 0]);
  });

  it('the total deadline during the race: total_timeout, neither endpoint judged', async () => {
    const { client, cluster } = await fleet(
      { replicas: 2, faults: 'stall-first-token:5000' },
      { timeouts: { totalMs: 250 } },
    );
    const error = await caught(() => client.streamCompletion({ prompt: PROMPT, maxTokens: N }).final());
    expect(error.code).toBe('total_timeout');
    expect(requestsPerReplica(cluster)).toEqual([1, 1]);
    expect(client.endpoints().map((e) => [e.inFlight, e.errorRate])).toEqual([
      [0, 0],
      [0, 0],
    ]);
  });
});

describe('hedge options', () => {
  it('bad values are refused, naming the option and the value', async () => {
    const base: ClientOptions = {
      endpoints: ['http://127.0.0.1:9', 'http://127.0.0.1:10'],
      failedRequestsDir: false,
    };
    const bad = (hedge: unknown) => () => new Client({ ...base, hedge: hedge as never });
    expect(bad({ afterMs: -1 })).toThrow(
      'invalid option hedge.afterMs: -1 (expected a non-negative number of milliseconds)',
    );
    expect(bad({ afterMs: Number.NaN })).toThrow('invalid option hedge.afterMs: NaN');
    expect(bad({ afterMs: '50' })).toThrow('invalid option hedge.afterMs: "50"');
    expect(bad({})).toThrow('invalid option hedge.afterMs: undefined');
    expect(bad(50)).toThrow('invalid option hedge: 50 (expected { afterMs } or false)');
    expect(bad({ afterMS: 5 })).toThrow(
      'invalid option hedge.afterMS: unknown option (did you mean hedge.afterMs?)',
    );
    expect(bad({ afterMs: 0 })).not.toThrow();
    const client = new Client({ ...base });
    clients.push(client);
    expect(() => client.streamCompletion({ prompt: [1], hedge: { afterMs: -5 } })).toThrow(
      'invalid hedge.afterMs: -5 (expected a non-negative number of milliseconds)',
    );
  });

  it('a single baseUrl refuses hedging (it would send the same request twice to one server)', () => {
    expect(
      () => new Client({ baseUrl: 'http://127.0.0.1:9', failedRequestsDir: false, hedge: { afterMs: 50 } }),
    ).toThrow(
      /invalid option hedge: \{"afterMs":50\} \(hedging sends a second request to another endpoint: it needs endpoints or discovery/,
    );
    const client = new Client({ baseUrl: 'http://127.0.0.1:9', failedRequestsDir: false });
    clients.push(client);
    expect(() => client.streamCompletion({ prompt: [1], hedge: { afterMs: 5 } })).toThrow(
      /invalid hedge: .* it needs endpoints or discovery/,
    );
    // false (off) is fine anywhere.
    expect(() =>
      client.streamCompletion({ prompt: [1], hedge: false, signal: AbortSignal.abort() }),
    ).not.toThrow();
  });
});

describe('property: a hedged call always gives the uninterrupted result', () => {
  it('random first-token delays per replica, random afterMs and lengths: exact ids, no token twice', async () => {
    cluster = await startCluster({ replicas: 2, dialect: 'vllm', seed: 7 });
    const urls = cluster.urls;
    const seed = 20261203;
    let hedged = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 120 }),
        fc.integer({ min: 0, max: 120 }),
        fc.integer({ min: 0, max: 80 }),
        fc.integer({ min: 1, max: 10 }),
        fc.constantFrom('round-robin' as const, 'least-outstanding' as const),
        async (delay0, delay1, afterMs, maxTokens, policy) => {
          const expected = await uninterrupted(maxTokens);
          const stall = (ms: number) => ({ 'x-sim-fault': `stall-first-token:${ms}` });
          const client = new Client({
            endpoints: [
              { url: urls[0], headers: stall(delay0) },
              { url: urls[1], headers: stall(delay1) },
            ],
            dialect: 'vllm',
            failedRequestsDir: false,
            logger: () => {},
            routing: { policy },
            hedge: { afterMs },
          });
          try {
            const stream = client.streamCompletion({ prompt: PROMPT, maxTokens });
            const ids: number[] = [];
            for await (const event of stream) if (event.type === 'token') ids.push(event.id!);
            const result = await stream.final();
            expect(ids).toEqual(expected.ids);
            expect(result.ids).toEqual(expected.ids);
            expect(result.usage.completionTokens).toBe(maxTokens);
            const served = result.stats.endpoints.filter((e) => e.failed === undefined);
            expect(served).toHaveLength(1);
            expect(served[0].tokens).toBe(maxTokens);
            expect(result.stats.endpoints.length).toBe(result.stats.attempts);
            expect(result.stats.endpoints.filter((e) => e.failed === 'hedge_lost').length).toBe(
              result.stats.attempts - 1,
            );
            expect(client.endpoints().map((e) => [e.inFlight, e.errorRate])).toEqual([
              [0, 0],
              [0, 0],
            ]);
            if (result.stats.attempts > 1) hedged++;
          } finally {
            await client.close();
          }
        },
      ),
      // fast-check prints the seed and the counterexample when a run fails.
      { numRuns: 25, seed },
    );
    // The runs raced for real (delays up to 120 ms against afterMs up to 80).
    expect(hedged).toBeGreaterThan(0);
  });
});
