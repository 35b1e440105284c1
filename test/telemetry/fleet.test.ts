/**
 * Telemetry of a fleet failover, on the simulator cluster with the real SDK: a stream
 * broken on one replica resumes on another; the span says so with a resume event and an
 * endpoint_change event (from, to, why, tokens so far), and its server.address/port and
 * the metrics follow the endpoint that finished the call.
 */
import { createHash } from 'node:crypto';
import { afterEach, expect, it } from 'vitest';
import { Client } from '../../src/index.js';
import { type Cluster, startCluster } from '../../src/sim/index.js';
import {
  endpointChangeAfterReset,
  eventsOf,
  type OtelHarness,
  otelHarness,
  resumeAfterReset,
} from './harness.js';

/** The `id` a replica (seed 7) sent in its only completion: `cmpl-` + sha256("7:seq"). */
function simId(replica: Cluster['replicas'][number]): string {
  const [request] = replica.report().requests.filter((r) => r.path === '/v1/completions');
  return `cmpl-${createHash('sha256').update(`7:${request.seq}`).digest('hex').slice(0, 32)}`;
}

let cluster: Cluster | undefined;
let otel: OtelHarness | undefined;
afterEach(async () => {
  await cluster?.close();
  await otel?.shutdown();
});

it('a resume on another replica is a resume event then an endpoint_change event', async () => {
  cluster = await startCluster({
    replicas: 2,
    dialect: 'vllm',
    seed: 7,
    replica: [{ faults: 'reset-after:3' }],
  });
  otel = otelHarness();
  const client = new Client({
    endpoints: [...cluster.urls],
    dialect: 'vllm',
    failedRequestsDir: false,
    logger: () => {},
    routing: { policy: 'round-robin' },
    retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
    telemetry: { tracerProvider: otel.tracerProvider, meterProvider: otel.meterProvider },
  });
  const result = await client.streamCompletion({ prompt: [1, 2, 3], maxTokens: 8 }).final();
  await client.close();
  expect(result.stats.endpoints.map((e) => e.url)).toEqual([cluster.urls[0], cluster.urls[1]]);
  const [first, second] = cluster.urls.map((u) => new URL(u));
  const [span] = otel.spans();
  expect(eventsOf(span)).toEqual([
    resumeAfterReset(3, 0),
    endpointChangeAfterReset(`http://${first.host}`, `http://${second.host}`, 3),
  ]);
  expect(span.attributes).toMatchObject({
    'server.address': '127.0.0.1',
    'server.port': Number(second.port),
    'tokenwire.attempts': 2,
    'tokenwire.resumes': 1,
    'gen_ai.usage.output_tokens': 8,
    // The response began on the first replica: its id; each replica's in order.
    'gen_ai.response.id': simId(cluster.replicas[0]),
    'gen_ai.response.model': 'sim-model',
    'tokenwire.response_ids': [simId(cluster.replicas[0]), simId(cluster.replicas[1])],
  });
  expect(result.responseId).toBe(simId(cluster.replicas[0]));
  const [duration] = await otel.histogram('gen_ai.client.operation.duration');
  expect(duration.attributes['server.port']).toBe(Number(second.port));
  const [resume] = await otel.points('tokenwire.client.resumes');
  expect(resume.attributes).toMatchObject({
    'server.port': Number(first.port),
    'error.type': 'connection_reset',
  });
});

it('cached prompt tokens are gen_ai.usage.cache_read.input_tokens, not a token type of the usage metric', async () => {
  // One replica, its prefix cache (16-token blocks, as vLLM's): the second call of a
  // 40-token prompt finds its first two blocks cached, and the replica reports 32.
  cluster = await startCluster({ replicas: 1, dialect: 'vllm', seed: 7 });
  otel = otelHarness();
  const client = new Client({
    baseUrl: cluster.urls[0],
    dialect: 'vllm',
    failedRequestsDir: false,
    logger: () => {},
    telemetry: { tracerProvider: otel.tracerProvider, meterProvider: otel.meterProvider },
  });
  const prompt = Array.from({ length: 40 }, (_, i) => 100 + i);
  const cold = await client.streamCompletion({ prompt, maxTokens: 2 }).final();
  const warm = await client.streamCompletion({ prompt, maxTokens: 2 }).final();
  await client.close();
  expect(cold.usage.cachedPromptTokens).toBeUndefined();
  expect(warm.usage).toEqual({
    promptTokens: 40,
    completionTokens: 2,
    totalTokens: 42,
    computed: false,
    cachedPromptTokens: 32,
  });
  const [coldSpan, warmSpan] = otel.spans();
  expect(coldSpan.attributes['gen_ai.usage.cache_read.input_tokens']).toBeUndefined();
  expect(warmSpan.attributes).toMatchObject({
    'gen_ai.usage.input_tokens': 40,
    'gen_ai.usage.cache_read.input_tokens': 32,
  });
  const usage = await otel.histogram('gen_ai.client.token.usage');
  expect(usage.map((p) => [p.attributes['gen_ai.token.type'], p.count, p.sum])).toEqual([
    ['input', 2, 80],
    ['output', 2, 4],
  ]);
});

it('a hedge is a hedge event, then a hedge_decided event naming the winner; the span follows the winner', async () => {
  cluster = await startCluster({
    replicas: 2,
    dialect: 'vllm',
    seed: 7,
    replica: [{ faults: 'stall-first-token:3000' }],
  });
  otel = otelHarness();
  const client = new Client({
    endpoints: [...cluster.urls],
    dialect: 'vllm',
    failedRequestsDir: false,
    logger: () => {},
    routing: { policy: 'round-robin' },
    hedge: { afterMs: 30 },
    telemetry: { tracerProvider: otel.tracerProvider, meterProvider: otel.meterProvider },
  });
  const result = await client.streamCompletion({ prompt: [1, 2, 3], maxTokens: 4 }).final();
  await client.close();
  expect(result.stats.endpoints.map((e) => e.chosenBy)).toEqual(['round-robin', 'hedge']);
  const [slow, fast] = cluster.urls.map((u) => new URL(u));
  const [span] = otel.spans();
  expect(span.events.map((e) => ({ name: e.name, attributes: e.attributes }))).toEqual([
    {
      name: 'tokenwire.hedge',
      attributes: {
        'tokenwire.endpoint': `http://${fast.host}`,
        'tokenwire.hedge.other_endpoint': `http://${slow.host}`,
        'tokenwire.attempt': 2,
      },
    },
    {
      name: 'tokenwire.hedge_decided',
      attributes: {
        'tokenwire.endpoint': `http://${fast.host}`,
        'tokenwire.hedge.other_endpoint': `http://${slow.host}`,
      },
    },
  ]);
  expect(span.attributes).toMatchObject({
    'server.port': Number(fast.port),
    'tokenwire.attempts': 2,
    'gen_ai.usage.output_tokens': 4,
  });
  const [duration] = await otel.histogram('gen_ai.client.operation.duration');
  expect(duration.attributes['server.port']).toBe(Number(fast.port));
});
