/**
 * Telemetry of a fleet failover, on the simulator cluster with the real SDK: a stream
 * broken on one replica resumes on another; the span says so with a resume event and an
 * endpoint_change event (from, to, why, tokens so far), and its server.address/port and
 * the metrics follow the endpoint that finished the call.
 */
import { afterEach, expect, it } from 'vitest';
import { Client } from '../../src/index.js';
import { type Cluster, startCluster } from '../../src/sim/index.js';
import { type OtelHarness, otelHarness } from './harness.js';

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
  expect(span.events.map((e) => ({ name: e.name, attributes: e.attributes }))).toEqual([
    {
      name: 'tokenwire.resume',
      attributes: {
        'error.type': 'connection_reset',
        'tokenwire.error.phase': 'stream',
        'tokenwire.attempt': 1,
        'tokenwire.tokens_received': 3,
        'tokenwire.retry.delay_ms': 0,
      },
    },
    {
      name: 'tokenwire.endpoint_change',
      attributes: {
        'tokenwire.endpoint.previous': `http://${first.host}`,
        'tokenwire.endpoint': `http://${second.host}`,
        'error.type': 'connection_reset',
        'tokenwire.attempt': 2,
        'tokenwire.tokens_received': 3,
      },
    },
  ]);
  expect(span.attributes).toMatchObject({
    'server.address': '127.0.0.1',
    'server.port': Number(second.port),
    'tokenwire.attempts': 2,
    'tokenwire.resumes': 1,
    'gen_ai.usage.output_tokens': 8,
  });
  const [duration] = await otel.histogram('gen_ai.client.operation.duration');
  expect(duration.attributes['server.port']).toBe(Number(second.port));
  const [resume] = await otel.points('tokenwire.client.resumes');
  expect(resume.attributes).toMatchObject({
    'server.port': Number(first.port),
    'error.type': 'connection_reset',
  });
});
