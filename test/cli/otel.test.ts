/**
 * `tokenwire complete --otel`: the span and metrics of the request reach an OTLP/HTTP
 * endpoint (a loopback node:http server standing in for a collector, reading what the
 * official exporter sends), and the request to the server carries the span's traceparent.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/sim/index.js';
import { runCli } from './run-cli.js';

let sim: Simulator;
let collector: Server;
let collectorUrl: string;
const received: { path: string; contentType: string | undefined; body: string }[] = [];

beforeAll(async () => {
  sim = await startSimulator({ dialect: 'vllm', seed: 3, tokenDelayMs: 5 });
  collector = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      received.push({ path: req.url ?? '', contentType: req.headers['content-type'], body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  collectorUrl = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await sim.close();
  await new Promise((resolve) => collector.close(resolve));
});

it('complete --otel exports the span and the GenAI metrics over OTLP/HTTP, and sends traceparent', async () => {
  sim.resetReport();
  const result = await runCli(
    [
      'complete',
      '--base-url',
      sim.url,
      '--dialect',
      'vllm',
      '--tokens',
      '1,2,3',
      '--max-tokens',
      '4',
      '--otel',
    ],
    { env: { OTEL_EXPORTER_OTLP_ENDPOINT: collectorUrl, OTEL_SERVICE_NAME: 'otel-test' }, timeoutMs: 20_000 },
  );
  expect(result.stderr).not.toContain('OTLP export off');
  expect(result.code).toBe(0);
  const traces = received.filter((r) => r.path === '/v1/traces');
  expect(traces).toHaveLength(1);
  expect(traces[0].contentType).toBe('application/json');
  const exported = JSON.parse(traces[0].body);
  const resource = exported.resourceSpans[0].resource.attributes;
  expect(resource).toContainEqual({ key: 'service.name', value: { stringValue: 'otel-test' } });
  const [span] = exported.resourceSpans[0].scopeSpans[0].spans;
  expect(span.name).toBe('text_completion');
  expect(span.kind).toBe(3); // OTLP's SPAN_KIND_CLIENT
  expect(span.attributes).toContainEqual({ key: 'gen_ai.provider.name', value: { stringValue: 'vllm' } });
  expect(span.attributes).toContainEqual({ key: 'gen_ai.usage.output_tokens', value: { intValue: 4 } });
  const sent = sim.report().requests.filter((r: { path: string }) => r.path === '/v1/completions');
  expect(sent[0].headers.traceparent).toBe(`00-${span.traceId}-${span.spanId}-01`);
  const metricsBody = received
    .filter((r) => r.path === '/v1/metrics')
    .map((r) => r.body)
    .join('\n');
  for (const name of [
    'gen_ai.client.operation.duration',
    'gen_ai.client.token.usage',
    'gen_ai.client.operation.time_to_first_chunk',
    'gen_ai.client.operation.time_per_output_chunk',
  ]) {
    expect(metricsBody).toContain(`"name":"${name}"`);
  }
});

it('OTEL_EXPORTER_OTLP_ENDPOINT alone turns export on; OTEL_SDK_DISABLED=true keeps it off', async () => {
  received.length = 0;
  const on = await runCli(['complete', '--base-url', sim.url, '--tokens', '1,2', '--max-tokens', '2'], {
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: collectorUrl },
    timeoutMs: 20_000,
  });
  expect(on.code).toBe(0);
  expect(received.filter((r) => r.path === '/v1/traces')).toHaveLength(1);
  received.length = 0;
  const off = await runCli(['complete', '--base-url', sim.url, '--tokens', '1,2', '--max-tokens', '2'], {
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: collectorUrl, OTEL_SDK_DISABLED: 'true' },
    timeoutMs: 20_000,
  });
  expect(off.code).toBe(0);
  expect(received).toEqual([]);
});
