/**
 * Strict options: a key tokenwire does not know, in the client's options or in a request,
 * is `invalid_option` at once (nothing is sent), naming the key and what to write instead;
 * numbers out of their range or not integers where integers are meant likewise.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, InvalidOptionError } from '../../src/index.js';
import { resolveOptions } from '../../src/options.js';
import { type Simulator, startSimulator } from '../../src/sim/index.js';

function thrown(fn: () => unknown): InvalidOptionError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).code).toBe('invalid_option');
    return error as InvalidOptionError;
  }
  throw new Error('expected invalid_option, but nothing was thrown');
}

let sim: Simulator;
let client: Client;
beforeAll(async () => {
  // Priority scheduling on: the request passes a non-zero priority (vLLM's 400 otherwise).
  sim = await startSimulator({ dialect: 'vllm', priorityScheduling: true });
  client = new Client({ baseUrl: sim.url, failedRequestsDir: false, logger: () => {} });
});
afterAll(async () => {
  await client.close();
  await sim.close();
});

describe('unknown client options', () => {
  it.each([
    [{ baseURL: 'http://127.0.0.1:1' }, 'baseURL', 'baseUrl'],
    [{ base_url: 'http://127.0.0.1:1' }, 'base_url', 'baseUrl'],
    [{ maxRetries: 2 }, 'maxRetries', 'retry.maxAttempts'],
    [{ timeout: 1000 }, 'timeout', 'timeouts.totalMs'],
    [{ defaultHeaders: {} }, 'defaultHeaders', 'headers'],
    [{ maxconnections: 4 }, 'maxconnections', 'maxConnections'],
    [{ retry: { retries: 2 } }, 'retry.retries', 'retry.maxAttempts'],
    [{ retry: { maxAttempt: 2 } }, 'retry.maxAttempt', 'retry.maxAttempts'],
    [{ timeouts: { idleMS: 5 } }, 'timeouts.idleMS', 'timeouts.idleMs'],
    [{ timeouts: { idle_ms: 5 } }, 'timeouts.idle_ms', 'timeouts.idleMs'],
  ])('%o: names %s and suggests %s', (options, name, suggestion) => {
    const error = thrown(() => new Client({ baseUrl: sim.url, ...options } as never));
    expect(error.message).toBe(`invalid option ${name}: unknown option (did you mean ${suggestion}?)`);
  });

  it('without a near name: lists the options there are', () => {
    const error = thrown(() => new Client({ baseUrl: sim.url, frobnicate: true } as never));
    expect(error.message).toMatch(
      /^invalid option frobnicate: unknown option \(expected one of baseUrl, apiKey, /,
    );
  });

  it('never shows the value of an unknown option (a misspelled apiKey is a secret)', () => {
    const error = thrown(() => new Client({ baseUrl: sim.url, apikey: 'sk-secret-value-123' } as never));
    expect(error.message).toBe('invalid option apikey: unknown option (did you mean apiKey?)');
    expect(`${error.message}${error.stack}`).not.toContain('sk-secret');
  });

  it('the missing baseUrl names both environment variables', () => {
    const error = thrown(() => resolveOptions({}, {}));
    expect(error.message).toContain('TOKENWIRE_BASE_URL');
    expect(error.message).toContain('OPENAI_BASE_URL');
  });
});

describe('unknown request fields', () => {
  it.each([
    [{ max_tokens: 8 }, 'max_tokens', 'maxTokens'],
    [{ maxTokenz: 8 }, 'maxTokenz', 'maxTokens'],
    [{ max_completion_tokens: 8 }, 'max_completion_tokens', 'maxTokens'],
    [{ top_p: 0.5 }, 'top_p', 'sampling.topP'],
    [{ temperature: 0 }, 'temperature', 'sampling.temperature'],
    [{ seed: 1 }, 'seed', 'sampling.seed'],
    [{ stop_sequences: ['x'] }, 'stop_sequences', 'stop'],
    [{ extra_body: {} }, 'extra_body', 'extraBody'],
    [{ sampling: { top_p: 0.5 } }, 'sampling.top_p', 'sampling.topP'],
    [{ sampling: { temprature: 0.5 } }, 'sampling.temprature', 'sampling.temperature'],
  ])('completion %o: names %s and suggests %s, before anything is sent', (fields, name, suggestion) => {
    const before = sim.report().requests.length;
    const error = thrown(() => client.streamCompletion({ prompt: [1], ...fields } as never));
    expect(error.message).toBe(`invalid ${name}: unknown request field (did you mean ${suggestion}?)`);
    expect(sim.report().requests.length).toBe(before);
  });

  it.each([
    [{ max_tokens: 8 }, 'max_tokens', 'maxTokens'],
    [{ tool_choice: 'auto' }, 'tool_choice', 'toolChoice'],
    [{ response_format: {} }, 'response_format', 'responseFormat'],
  ])('chat %o: names %s and suggests %s', (fields, name, suggestion) => {
    const error = thrown(() =>
      client.streamChat({ messages: [{ role: 'user', content: 'hi' }], ...fields } as never),
    );
    expect(error.message).toBe(`invalid ${name}: unknown request field (did you mean ${suggestion}?)`);
  });

  it('without a near name: says where server fields go (extraBody)', () => {
    const error = thrown(() => client.streamCompletion({ prompt: [1], n: 2 } as never));
    expect(error.message).toMatch(/^invalid n: unknown request field \(expected one of .*extraBody\)$/);
  });

  it('every known field passes (the check knows the whole request type)', async () => {
    const controller = new AbortController();
    const result = await client
      .streamCompletion({
        prompt: [1, 2],
        maxTokens: 2,
        sampling: {
          temperature: 0,
          topP: 1,
          topK: 1,
          minP: 0,
          seed: 1,
          repetitionPenalty: 1,
          presencePenalty: 0,
          frequencyPenalty: 0,
        },
        stop: ['\u0000never'],
        priority: -5,
        signal: controller.signal,
        extraBody: {},
        model: 'sim-model',
        logprobs: false,
        native: false,
      })
      .final();
    expect(result.ids.length).toBe(2);
  });
});

describe('numeric ranges', () => {
  const request = (sampling: object, extra: object = {}) =>
    client.streamCompletion({ prompt: [1], maxTokens: 1, sampling, ...extra } as never);
  it.each([
    ['topP', { topP: 0 }, 'invalid sampling.topP: 0 (expected a number in (0, 1])'],
    ['topP', { topP: 1.000001 }, 'invalid sampling.topP: 1.000001 (expected a number in (0, 1])'],
    ['topP', { topP: -0.5 }, 'invalid sampling.topP: -0.5 (expected a number in (0, 1])'],
    ['minP', { minP: -0.01 }, 'invalid sampling.minP: -0.01 (expected a number in [0, 1])'],
    ['minP', { minP: 1.01 }, 'invalid sampling.minP: 1.01 (expected a number in [0, 1])'],
    ['temperature', { temperature: -0.1 }, 'invalid sampling.temperature: -0.1 (expected a number ≥ 0)'],
    ['topK', { topK: 1.5 }, 'invalid sampling.topK: 1.5 (expected an integer)'],
    ['seed', { seed: 2 ** 53 }, 'invalid sampling.seed: 9007199254740992 (expected an integer)'],
    [
      'repetitionPenalty',
      { repetitionPenalty: 0 },
      'invalid sampling.repetitionPenalty: 0 (expected a number > 0)',
    ],
  ])('%s out of range: %o', (_name, sampling, message) => {
    expect(thrown(() => request(sampling)).message).toBe(message);
  });

  it.each([
    [{ topP: Number.MIN_VALUE }],
    [{ topP: 1 }],
    [{ minP: 0 }],
    [{ minP: 1 }],
    [{ temperature: 0 }],
    [{ topK: -1 }],
  ])('the boundaries that are values pass: %o', async (sampling) => {
    const result = await request(sampling).final();
    expect(result.ids.length).toBe(1);
  });

  it.each([
    [{ maxTokens: 1.5 }, 'invalid maxTokens: 1.5 (expected an integer ≥ 1)'],
    [{ maxTokens: 0 }, 'invalid maxTokens: 0 (expected an integer ≥ 1)'],
    [{ maxTokens: 2 ** 53 }, 'invalid maxTokens: 9007199254740992 (expected an integer ≥ 1)'],
    [{ priority: 1.5 }, 'invalid priority: 1.5 (expected an integer)'],
    [{ logprobs: 'yes' }, 'invalid logprobs: "yes" (expected a boolean)'],
    [{ native: 1 }, 'invalid native: 1 (expected a boolean)'],
  ])('request %o', (fields, message) => {
    expect(thrown(() => client.streamCompletion({ prompt: [1], ...fields } as never)).message).toBe(message);
  });
});
