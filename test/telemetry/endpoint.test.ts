/**
 * The hook a fleet uses: an attempt sent to another endpoint than the last one is a
 * `tokenwire.endpoint_change` span event (from, to, why the last attempt ended), and the
 * span's and metrics' server.address/port follow the endpoint. Driven through the same
 * observer calls the engine makes (no fleet routing in this build yet).
 */
import { SpanStatusCode } from '@opentelemetry/api';
import { afterEach, expect, it } from 'vitest';
import { TokenwireError } from '../../src/errors.js';
import { newStats } from '../../src/stream/attempt.js';
import { Telemetry } from '../../src/telemetry/telemetry.js';
import {
  endpointChangeAfterReset,
  eventsOf,
  type OtelHarness,
  otelHarness,
  resumeAfterReset,
} from './harness.js';

let otel: OtelHarness;
afterEach(async () => {
  await otel.shutdown();
});

it('an attempt on another endpoint is an endpoint_change event with the reason and tokens so far', async () => {
  otel = otelHarness();
  const telemetry = Telemetry.create({
    tracerProvider: otel.tracerProvider,
    meterProvider: otel.meterProvider,
  })!;
  const observer = telemetry.completion(
    { prompt: [1, 2], maxTokens: 4 },
    'm',
    'http://10.0.0.1:8000',
    'vllm',
  )!;
  const failure = new TokenwireError('reset', { code: 'connection_reset', phase: 'stream', retryable: true });
  const stats = newStats();
  observer.attempt(1, new URL('http://10.0.0.1:8000/v1/completions'), 'vllm');
  observer.retry(true, failure, 3, 0);
  observer.attempt(2, new URL('http://10.0.0.2:9000/v1/completions'), 'vllm');
  stats.attempts = 2;
  stats.resumes = 1;
  observer.failed(new TokenwireError('down', { code: 'connect_timeout', phase: 'connect' }), stats);
  const [span] = otel.spans();
  expect(eventsOf(span)).toEqual([
    resumeAfterReset(3, 0),
    endpointChangeAfterReset('http://10.0.0.1:8000', 'http://10.0.0.2:9000', 3),
  ]);
  expect(span.attributes).toMatchObject({ 'server.address': '10.0.0.2', 'server.port': 9000 });
  expect(span.status.code).toBe(SpanStatusCode.ERROR);
  const [duration] = await otel.histogram('gen_ai.client.operation.duration');
  expect(duration.attributes).toMatchObject({
    'server.address': '10.0.0.2',
    'error.type': 'connect_timeout',
  });
  const [resume] = await otel.points('tokenwire.client.resumes');
  expect(resume.attributes).toMatchObject({ 'server.address': '10.0.0.1', 'server.port': 8000 });
});
