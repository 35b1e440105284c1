/**
 * A call that waits for the server-type detection of `dialect: 'auto'`: every detection
 * attempt that failed is a `tokenwire.detection_failed` event on the call's span (the
 * error's code, phase and message, which detection, the endpoint, the wait before the
 * next try), whether the call then goes on or gives up. Real SDK, a node:http server on
 * loopback that cuts the connection of its first `GET /v1/models` requests.
 */
import { SpanStatusCode } from '@opentelemetry/api';
import { afterEach, expect, it } from 'vitest';
import { caught, testClient } from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/http-server.js';
import { type OtelHarness, otelHarness } from './harness.js';

let server: TestServer | undefined;
let otel: OtelHarness | undefined;
afterEach(async () => {
  await server?.close();
  await otel?.shutdown();
  server = undefined;
});

/** A vLLM-like server whose first `cuts` model listings are cut before any answer. */
async function flakyDetection(cuts: number): Promise<TestServer> {
  let listings = 0;
  return startServer((req, res) => {
    if (req.url === '/v1/models') {
      if (++listings <= cuts) {
        res.socket?.destroy();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: [{ id: 'm', object: 'model', owned_by: 'vllm' }] }));
      return;
    }
    if (req.url === '/version') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"version":"0.11.0"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const chunk = (text: string, id: number, finish: string | null) =>
      `data: ${JSON.stringify({ id: 'cmpl-d', object: 'text_completion', model: 'm', choices: [{ index: 0, text, token_ids: [id], finish_reason: finish }] })}\n\n`;
    res.end(`${chunk(' a', 11, null)}${chunk(' b', 12, 'length')}data: [DONE]\n\n`);
  });
}

function tracedClient(url: string) {
  otel = otelHarness();
  return testClient(url, {
    dialect: 'auto',
    model: 'm',
    retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
    telemetry: { tracerProvider: otel.tracerProvider, meterProvider: otel.meterProvider },
  });
}

it('each failed detection before the call could start is a detection_failed event, then the call runs', async () => {
  server = await flakyDetection(2);
  const { client } = tracedClient(server.url);
  const result = await client.streamCompletion({ prompt: [1, 2], maxTokens: 2 }).final();
  await client.close();
  expect(result.ids).toEqual([11, 12]);
  const [span] = otel!.spans();
  expect(span.status).toEqual({ code: SpanStatusCode.UNSET });
  expect(span.attributes['gen_ai.provider.name']).toBe('vllm');
  const events = span.events.map((e) => ({ name: e.name, attributes: e.attributes }));
  expect(events).toEqual(
    [1, 2].map((detection) => ({
      name: 'tokenwire.detection_failed',
      attributes: {
        'error.type': 'connection_reset',
        'tokenwire.error.phase': 'connect',
        'tokenwire.error.message': `connection reset by the server during connect (GET ${server!.url}/v1/models): other side closed (while detecting the server type for POST ${server!.url}/v1/completions; set the dialect option to skip detection)`,
        'tokenwire.detection': detection,
        'tokenwire.endpoint': server!.url,
        'tokenwire.retry.delay_ms': expect.any(Number),
      },
    })),
  );
  // Nothing else: the request itself went through at once.
  expect(span.attributes['tokenwire.attempts']).toBe(1);
});

it('a call that gives up on detection has an event per try, the last without a wait, and fails', async () => {
  server = await flakyDetection(100);
  const { client } = tracedClient(server.url);
  const error = await caught(() => client.streamCompletion({ prompt: [1, 2], maxTokens: 2 }).final());
  await client.close();
  expect(error.code).toBe('connection_reset');
  const [span] = otel!.spans();
  expect(span.status.code).toBe(SpanStatusCode.ERROR);
  expect(span.attributes['error.type']).toBe('connection_reset');
  const events = span.events;
  expect(
    events.map((e) => [e.name, e.attributes?.['tokenwire.detection'], e.attributes?.['error.type']]),
  ).toEqual([1, 2, 3].map((n) => ['tokenwire.detection_failed', n, error.code]));
  expect(events.map((e) => e.attributes?.['tokenwire.retry.delay_ms'] === undefined)).toEqual([
    false,
    false,
    true,
  ]);
});
