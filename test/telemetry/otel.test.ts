/**
 * OpenTelemetry, with the real SDK (in-memory span exporter, a metric reader) against
 * the simulator: the exact span, its attributes and events, and the metric points of a
 * completion, a chat, a resumed stream, a retried one and a failed one; trace context
 * sent to the server; nothing at all without a provider.
 */

import { createHash } from 'node:crypto';
import { context, metrics, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ClientOptions } from '../../src/index.js';
import { type Simulator, startSimulator } from '../../src/sim/index.js';
import { caught, testClient } from '../helpers/client.js';
import { eventsOf, type OtelHarness, otelHarness, resumeAfterReset } from './harness.js';

const PROMPT = [1, 17, 29, 301];
const SECONDS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
const TOKENS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];

let sim: Simulator;
let port: number;
let otel: OtelHarness;
beforeAll(async () => {
  sim = await startSimulator({ dialect: 'vllm', seed: 7, model: 'm' });
  port = Number(new URL(sim.url).port);
});
afterAll(async () => {
  await sim.close();
});
afterEach(async () => {
  await otel?.shutdown();
});

function traced(extra: ClientOptions = {}) {
  otel = otelHarness();
  return testClient(sim.url, {
    dialect: 'vllm',
    model: 'm',
    telemetry: { tracerProvider: otel.tracerProvider, meterProvider: otel.meterProvider },
    ...extra,
  });
}

/** The metric attributes every point of a vLLM call to the simulator carries. */
function base(operation: string) {
  return {
    'gen_ai.operation.name': operation,
    'gen_ai.provider.name': 'vllm',
    'gen_ai.request.model': 'm',
    'gen_ai.response.model': 'm',
    'server.address': '127.0.0.1',
    'server.port': port,
  };
}

/**
 * The `id` the simulator (seed 7) sends in every chunk of its request number `seq`:
 * `cmpl-`/`chatcmpl-` and the first 32 hex digits of sha256("7:seq").
 */
function simResponseId(server: Simulator, path: string, nth = 0): string {
  const seq = server.report().requests.filter((r) => r.path === path)[nth].seq;
  const hex = createHash('sha256').update(`7:${seq}`).digest('hex').slice(0, 32);
  return `${path === '/v1/chat/completions' ? 'chatcmpl' : 'cmpl'}-${hex}`;
}

describe('a completion', () => {
  it('is one CLIENT span "text_completion m" with the request, usage and tokenwire attributes', async () => {
    sim.resetReport();
    const { client } = traced();
    const result = await client
      .streamCompletion({
        prompt: PROMPT,
        maxTokens: 8,
        sampling: {
          temperature: 0,
          topP: 0.5,
          topK: 40,
          seed: 3,
          presencePenalty: 0.1,
          frequencyPenalty: 0.2,
        },
        stop: ['never-in-output'],
      })
      .final();
    await client.close();
    const [span, ...others] = otel.spans();
    expect(others).toEqual([]);
    expect(span.name).toBe('text_completion m');
    expect(span.kind).toBe(SpanKind.CLIENT);
    expect(span.status).toEqual({ code: SpanStatusCode.UNSET });
    expect(span.events).toEqual([]);
    const ttfc = span.attributes['gen_ai.response.time_to_first_chunk'];
    expect(typeof ttfc).toBe('number');
    expect(ttfc).toBeGreaterThan(0);
    expect(ttfc).toBeLessThanOrEqual(result.stats.durationMs / 1000);
    expect({ ...span.attributes, 'gen_ai.response.time_to_first_chunk': 'checked' }).toEqual({
      ...base('text_completion'),
      'gen_ai.request.stream': true,
      'gen_ai.request.max_tokens': 8,
      'gen_ai.request.temperature': 0,
      'gen_ai.request.top_p': 0.5,
      'gen_ai.request.top_k': 40,
      'gen_ai.request.seed': 3,
      'gen_ai.request.presence_penalty': 0.1,
      'gen_ai.request.frequency_penalty': 0.2,
      'gen_ai.request.stop_sequences': ['never-in-output'],
      'gen_ai.response.finish_reasons': ['length'],
      'gen_ai.response.id': simResponseId(sim, '/v1/completions'),
      'gen_ai.response.time_to_first_chunk': 'checked',
      'gen_ai.usage.input_tokens': 4,
      'gen_ai.usage.output_tokens': 8,
      'tokenwire.usage.computed': false,
      'tokenwire.attempts': 1,
      'tokenwire.resumes': 0,
      'tokenwire.ids_incomplete': false,
      'tokenwire.tokens_received': 8,
    });
    expect(result.responseId).toBe(span.attributes['gen_ai.response.id']);
    expect(result.model).toBe('m');
  });

  it('records the four GenAI histograms with the conventions’ buckets, one chunk interval per chunk after the first', async () => {
    // Tokens 5 ms apart: the reads (chunks) are several, whatever the load.
    const paced = await startSimulator({ dialect: 'vllm', seed: 7, model: 'm', tokenDelayMs: 5 });
    otel = otelHarness();
    const { client } = testClient(paced.url, {
      dialect: 'vllm',
      model: 'm',
      telemetry: { tracerProvider: otel.tracerProvider, meterProvider: otel.meterProvider },
    });
    const result = await client.streamCompletion({ prompt: PROMPT, maxTokens: 8 }).final();
    await client.close();
    await paced.close();
    const attributes = { ...base('text_completion'), 'server.port': Number(new URL(paced.url).port) };
    const [duration] = await otel.histogram('gen_ai.client.operation.duration');
    expect(duration).toEqual({ attributes, count: 1, sum: expect.any(Number), boundaries: SECONDS });
    expect(duration.sum).toBeCloseTo(result.stats.durationMs / 1000, 6);
    expect(await otel.histogram('gen_ai.client.token.usage')).toEqual([
      { attributes: { ...attributes, 'gen_ai.token.type': 'input' }, count: 1, sum: 4, boundaries: TOKENS },
      { attributes: { ...attributes, 'gen_ai.token.type': 'output' }, count: 1, sum: 8, boundaries: TOKENS },
    ]);
    const [ttfc] = await otel.histogram('gen_ai.client.operation.time_to_first_chunk');
    expect(ttfc).toEqual({ attributes, count: 1, sum: expect.any(Number), boundaries: SECONDS });
    expect(ttfc.sum).toBe(otel.spans()[0].attributes['gen_ai.response.time_to_first_chunk']);
    // A chunk is a read of the response body that carried events: here every read did
    // (whole small events on loopback), so one interval per read after the first.
    expect(result.stats.chunks).toBeGreaterThanOrEqual(1);
    const perChunk = await otel.histogram('gen_ai.client.operation.time_per_output_chunk');
    if (result.stats.chunks === 1) expect(perChunk).toEqual([]);
    else {
      expect(perChunk).toEqual([
        { attributes, count: result.stats.chunks - 1, sum: expect.any(Number), boundaries: SECONDS },
      ]);
      expect(perChunk[0].sum).toBeLessThanOrEqual(result.stats.durationMs / 1000);
    }
    expect(await otel.points('tokenwire.client.retries')).toEqual([]);
    expect(await otel.points('tokenwire.client.resumes')).toEqual([]);
  });

  it('sends the span’s context as traceparent, so a server that traces joins the trace', async () => {
    sim.resetReport();
    const { client } = traced();
    await client.streamCompletion({ prompt: PROMPT, maxTokens: 2 }).final();
    await client.close();
    const span = otel.spans()[0];
    const [post] = sim.report().requests.filter((r: { path: string }) => r.path === '/v1/completions');
    expect(post.headers.traceparent).toBe(`00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`);
  });

  it('is a child of the caller’s active span', async () => {
    const { client } = traced();
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    const parent = otel.tracerProvider.getTracer('test').startSpan('parent');
    await context.with(trace.setSpan(context.active(), parent), () =>
      client.streamCompletion({ prompt: PROMPT, maxTokens: 2 }).final(),
    );
    parent.end();
    context.disable();
    await client.close();
    const child = otel.spans().find((s) => s.name === 'text_completion m')!;
    expect(child.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    expect(child.spanContext().traceId).toBe(parent.spanContext().traceId);
  });
});

describe('a chat', () => {
  it('is a "chat m" span with usage, and content only when opted in', async () => {
    const messages = [{ role: 'user', content: 'secret prompt' }];
    for (const captureContent of [false, true]) {
      sim.resetReport();
      otel = otelHarness();
      const { client } = testClient(sim.url, {
        dialect: 'vllm',
        model: 'm',
        telemetry: { tracerProvider: otel.tracerProvider, meterProvider: otel.meterProvider, captureContent },
      });
      const result = await client.streamChat({ messages, maxTokens: 6 }).final();
      await client.close();
      const [span] = otel.spans();
      expect(span.name).toBe('chat m');
      expect(span.attributes).toMatchObject({
        ...base('chat'),
        'gen_ai.request.stream': true,
        'gen_ai.request.max_tokens': 6,
        'gen_ai.response.finish_reasons': ['length'],
        'gen_ai.usage.output_tokens': 6,
        'gen_ai.response.id': simResponseId(sim, '/v1/chat/completions'),
        'gen_ai.response.model': 'm',
        'tokenwire.attempts': 1,
      });
      expect(span.attributes['gen_ai.response.id']).toMatch(/^chatcmpl-[0-9a-f]{32}$/);
      expect(result.responseId).toBe(span.attributes['gen_ai.response.id']);
      expect(span.attributes['gen_ai.usage.cache_read.input_tokens']).toBeUndefined();
      expect(span.attributes['gen_ai.usage.input_tokens']).toBe(result.usage.promptTokens);
      if (captureContent) {
        expect(JSON.parse(span.attributes['gen_ai.input.messages'] as string)).toEqual([
          { role: 'user', parts: [{ type: 'text', content: 'secret prompt' }] },
        ]);
        expect(JSON.parse(span.attributes['gen_ai.output.messages'] as string)).toEqual([
          {
            role: 'assistant',
            parts: [{ type: 'text', content: result.message.content }],
            finish_reason: 'length',
          },
        ]);
      } else {
        expect(JSON.stringify(span.attributes)).not.toContain('secret prompt');
        expect(span.attributes['gen_ai.input.messages']).toBeUndefined();
        expect(span.attributes['gen_ai.output.messages']).toBeUndefined();
      }
      const usage = await otel.histogram('gen_ai.client.token.usage');
      expect(usage.map((p) => [p.attributes['gen_ai.token.type'], p.sum])).toEqual([
        ['input', result.usage.promptTokens],
        ['output', 6],
      ]);
      expect(usage[0].attributes).toMatchObject(base('chat'));
      await otel.shutdown();
    }
  });
});

describe('a resumed stream', () => {
  it('has one tokenwire.resume event with the reason and tokens so far, and counts the resume', async () => {
    sim.resetReport();
    const { client } = traced({
      headers: { 'x-sim-fault': 'reset-after:4:once' },
      retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
    });
    const result = await client.streamCompletion({ prompt: PROMPT, maxTokens: 8 }).final();
    await client.close();
    expect(result.stats.resumes).toBe(1);
    const [span] = otel.spans();
    expect(span.status).toEqual({ code: SpanStatusCode.UNSET });
    expect(eventsOf(span)).toEqual([resumeAfterReset(4, expect.any(Number))]);
    expect(span.attributes).toMatchObject({
      'tokenwire.attempts': 2,
      'tokenwire.resumes': 1,
      'tokenwire.tokens_received': 8,
      'gen_ai.usage.output_tokens': 8,
      'gen_ai.response.finish_reasons': ['length'],
    });
    // The id is the first attempt's (where the output began); the span lists both in order.
    const first = simResponseId(sim, '/v1/completions', 0);
    const second = simResponseId(sim, '/v1/completions', 1);
    expect(first).not.toBe(second);
    expect(span.attributes['gen_ai.response.id']).toBe(first);
    expect(span.attributes['tokenwire.response_ids']).toEqual([first, second]);
    expect(span.attributes['gen_ai.response.model']).toBe('m');
    expect(result.responseId).toBe(first);
    expect(result.stats.endpoints.map((e) => [e.responseId, e.model])).toEqual([
      [first, 'm'],
      [second, 'm'],
    ]);
    const resumes = await otel.points('tokenwire.client.resumes');
    expect(resumes.map((p) => ({ attributes: p.attributes, value: p.value }))).toEqual([
      { attributes: { ...base('text_completion'), 'error.type': 'connection_reset' }, value: 1 },
    ]);
    expect(await otel.points('tokenwire.client.retries')).toEqual([]);
  });
});

describe('a retried stream', () => {
  it('has a tokenwire.retry event per failed attempt before any token, and counts them by error', async () => {
    const { client } = traced({
      headers: { 'x-sim-fault': 'fail-first:2:503' },
      retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
    });
    await client.streamCompletion({ prompt: PROMPT, maxTokens: 3 }).final();
    await client.close();
    const [span] = otel.spans();
    expect(
      span.events.map((e) => [e.name, e.attributes?.['error.type'], e.attributes?.['tokenwire.attempt']]),
    ).toEqual([
      ['tokenwire.retry', 'http_error', 1],
      ['tokenwire.retry', 'http_error', 2],
    ]);
    expect(span.attributes['tokenwire.attempts']).toBe(3);
    const retries = await otel.points('tokenwire.client.retries');
    // The retries came before any chunk: no response model was known yet.
    const { 'gen_ai.response.model': _none, ...beforeResponse } = base('text_completion');
    expect(retries.map((p) => ({ attributes: p.attributes, value: p.value }))).toEqual([
      { attributes: { ...beforeResponse, 'error.type': 'http_error' }, value: 2 },
    ]);
    expect(span.attributes['tokenwire.response_ids']).toBeUndefined();
    expect(span.attributes['gen_ai.response.id']).toMatch(/^cmpl-[0-9a-f]{32}$/);
  });
});

describe('a failed stream', () => {
  it('ends the span with status ERROR, error.type = the error code, and no token usage', async () => {
    sim.resetReport();
    const { client } = traced({ headers: { 'x-sim-fault': 'error-after:3' } });
    const error = await caught(() => client.streamCompletion({ prompt: PROMPT, maxTokens: 8 }).final());
    await client.close();
    expect(error.code).toBe('server_error');
    const [span] = otel.spans();
    expect(span.name).toBe('text_completion m');
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: error.message });
    expect(span.attributes).toMatchObject({
      ...base('text_completion'),
      'error.type': 'server_error',
      'tokenwire.error.phase': 'stream',
      'tokenwire.attempts': 1,
      'tokenwire.tokens_received': 3,
      // The response the 3 tokens came from, for the server's logs.
      'gen_ai.response.id': simResponseId(sim, '/v1/completions'),
      'gen_ai.response.model': 'm',
    });
    expect(span.attributes['gen_ai.usage.output_tokens']).toBeUndefined();
    expect(span.attributes['gen_ai.response.finish_reasons']).toBeUndefined();
    const [duration] = await otel.histogram('gen_ai.client.operation.duration');
    expect(duration.attributes).toEqual({ ...base('text_completion'), 'error.type': 'server_error' });
    expect(duration.count).toBe(1);
    expect(await otel.points('gen_ai.client.token.usage')).toEqual([]);
    expect((await otel.histogram('gen_ai.client.operation.time_to_first_chunk'))[0].count).toBe(1);
  });

  it('an abort is error.type aborted', async () => {
    const { client } = traced({ headers: { 'x-sim-fault': 'stall-after:2:5000' } });
    const stream = client.streamCompletion({ prompt: PROMPT, maxTokens: 8 });
    let seen = 0;
    const error = await caught(async () => {
      for await (const ev of stream) if (ev.type === 'token' && ++seen === 2) stream.abort();
    });
    await client.close();
    expect(error.code).toBe('aborted');
    const [span] = otel.spans();
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.attributes).toMatchObject({ 'error.type': 'aborted', 'tokenwire.tokens_received': 2 });
  });
});

describe('global providers', () => {
  it('are used when registered; without them no span is made and no traceparent is sent', async () => {
    sim.resetReport();
    const { client } = testClient(sim.url, { dialect: 'vllm', model: 'm' });
    await client.streamCompletion({ prompt: PROMPT, maxTokens: 2 }).final();
    expect(sim.report().requests.at(-1)?.headers.traceparent).toBeUndefined();

    otel = otelHarness();
    trace.setGlobalTracerProvider(otel.tracerProvider);
    metrics.setGlobalMeterProvider(otel.meterProvider);
    try {
      await client.streamCompletion({ prompt: PROMPT, maxTokens: 2 }).final();
    } finally {
      trace.disable();
      metrics.disable();
      propagation.disable();
    }
    await client.close();
    expect(otel.spans().map((s) => s.name)).toEqual(['text_completion m']);
    expect(sim.report().requests.at(-1)?.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect((await otel.histogram('gen_ai.client.operation.duration'))[0].count).toBe(1);
  });

  it('telemetry: false turns them off', async () => {
    otel = otelHarness();
    trace.setGlobalTracerProvider(otel.tracerProvider);
    try {
      const { client } = testClient(sim.url, { dialect: 'vllm', model: 'm', telemetry: false });
      await client.streamCompletion({ prompt: PROMPT, maxTokens: 2 }).final();
      await client.close();
    } finally {
      trace.disable();
    }
    expect(otel.spans()).toEqual([]);
  });
});

describe('options', () => {
  it.each([
    [
      { tracerProvider: {} },
      'invalid option telemetry.tracerProvider: {} (expected a TracerProvider (with getTracer))',
    ],
    [
      { meterProvider: 3 },
      'invalid option telemetry.meterProvider: 3 (expected a MeterProvider (with getMeter))',
    ],
    [{ captureContent: 'yes' }, 'invalid option telemetry.captureContent: "yes" (expected a boolean)'],
    ['on', 'invalid option telemetry: "on" (expected an object or false)'],
  ])('a bad telemetry option %j is named', (telemetry, message) => {
    expect(() => testClient(sim.url, { telemetry: telemetry as never })).toThrow(message);
  });
});
