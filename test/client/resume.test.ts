/**
 * Retries and resume by continuation, against the simulator: whatever breaks a
 * greedy stream after k tokens, the consumer sees exactly the ids of the
 * uninterrupted run, each once, in order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wireFactsFor } from '../../src/dialects/wire-facts.js';
import type { LogRecord } from '../../src/index.js';
import { type Simulator, startSimulator } from '../../src/sim/index.js';
import { caught, testClient } from '../helpers/client.js';

const PROMPT = [1, 17, 29, 301];
const N = 32;

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ dialect: 'vllm', seed: 7 });
});
afterAll(async () => {
  await sim.close();
});

function clientFor(dialect: string, fault: string | undefined, extra: Record<string, unknown> = {}) {
  return testClient(sim.url, {
    dialect: dialect as never,
    headers: { 'x-sim-dialect': dialect, ...(fault ? { 'x-sim-fault': fault } : {}) },
    retry: { maxAttempts: 6, baseDelayMs: 1, maxDelayMs: 20 },
    timeouts: { idleMs: 300, firstTokenMs: 2000 },
    ...extra,
  });
}

async function baseline(dialect: string, native = false): Promise<number[]> {
  const { client } = clientFor(dialect, undefined);
  const result = await client
    .streamCompletion({ prompt: PROMPT, maxTokens: N, sampling: { temperature: 0 }, native })
    .final();
  await client.close();
  expect(result.ids).toHaveLength(N);
  return result.ids as number[];
}

describe('resume by continuation (vLLM dialect)', () => {
  let expected: number[];
  beforeAll(async () => {
    expected = await baseline('vllm');
  });

  it('a reset after every k from 1 to 31 still yields exactly the 32 uninterrupted ids', async () => {
    for (let k = 1; k < N; k++) {
      const { client, logs } = clientFor('vllm', `reset-after:${k}:once`);
      const result = await client
        .streamCompletion({ prompt: PROMPT, maxTokens: N, sampling: { temperature: 0 } })
        .final();
      await client.close();
      expect(result.ids, `reset after ${k}`).toEqual(expected);
      expect(result.stats.resumes, `reset after ${k}`).toBe(1);
      expect(result.finishReason).toBe('length');
      expect(result.usage.completionTokens).toBe(N);
      expect(result.usage.promptTokens).toBe(PROMPT.length);
      expect(logs.some((r: LogRecord) => r.event === 'resume')).toBe(true);
    }
  });

  it('the continuation request carries prompt + received ids and the remaining max_tokens', async () => {
    sim.resetReport();
    const { client } = clientFor('vllm', 'truncate-after:5:once');
    await client.streamCompletion({ prompt: PROMPT, maxTokens: N, sampling: { temperature: 0 } }).final();
    await client.close();
    const posts = sim.report().requests.filter((r: { path: string }) => r.path === '/v1/completions');
    expect(posts).toHaveLength(2);
    expect(posts[1].body).toMatchObject({ prompt: [...PROMPT, ...expected.slice(0, 5)], max_tokens: N - 5 });
  });

  it.each([
    ['truncation', 'truncate-after:9:once'],
    ['an idle stall', 'stall-after:9:2000:once'],
    ['an in-stream overload error', 'error-after:20:once'],
  ])('survives %s', async (_name, fault) => {
    const { client } = clientFor('vllm', fault);
    const result = await client
      .streamCompletion({ prompt: PROMPT, maxTokens: N, sampling: { temperature: 0 } })
      .final();
    await client.close();
    expect(result.ids).toEqual(expected);
  });

  it('survives a fault in every attempt: a reset after each 5 tokens (6 resumes)', async () => {
    const { client } = clientFor('vllm', 'reset-after:5', { retry: { maxAttempts: 10, baseDelayMs: 1 } });
    const result = await client
      .streamCompletion({ prompt: PROMPT, maxTokens: N, sampling: { temperature: 0 } })
      .final();
    await client.close();
    expect(result.ids).toEqual(expected);
    expect(result.stats.resumes).toBe(6);
    expect(result.stats.attempts).toBe(7);
    expect(result.usage.completionTokens).toBe(N);
  });

  it('honours a stop string that straddles the resume point (checked client-side)', async () => {
    const plain = clientFor('vllm', undefined);
    const full = await plain.client
      .streamCompletion({ prompt: PROMPT, maxTokens: N, sampling: { temperature: 0 } })
      .final();
    await plain.client.close();
    const k = 10;
    const boundary = full.tokens.slice(0, k).reduce((n, t) => n + t.text.length, 0);
    const stop = full.text.slice(boundary - 2, boundary + 2);
    expect(full.text.indexOf(stop)).toBe(boundary - 2);
    const { client } = clientFor('vllm', `truncate-after:${k}:once`);
    const result = await client
      .streamCompletion({ prompt: PROMPT, maxTokens: N, sampling: { temperature: 0 }, stop: [stop] })
      .final();
    await client.close();
    expect(result.stats.resumes).toBe(1);
    expect(result.finishReason).toBe('stop');
    // vLLM held the stop string's first two characters back: they were never sent before the
    // break. Recovered from its detokenizer, they are seen as the stop string's beginning, and
    // the result is the uninterrupted one: the text before the stop string, the same ids.
    const again = clientFor('vllm', undefined);
    const reference = await again.client
      .streamCompletion({ prompt: PROMPT, maxTokens: N, sampling: { temperature: 0 }, stop: [stop] })
      .final();
    await again.client.close();
    expect(result.text).toBe(full.text.slice(0, boundary - 2));
    expect(result.text).toBe(reference.text);
    expect(result.ids).toEqual(reference.ids);
    expect(result.finishReason).toBe(reference.finishReason);
  });

  it('a text prompt resumes exactly from the prompt ids vLLM sent', async () => {
    const request = { prompt: 'Once upon a time', maxTokens: 12, sampling: { temperature: 0 } };
    const plain = clientFor('vllm', undefined);
    const full = await plain.client.streamCompletion(request).final();
    await plain.client.close();
    sim.resetReport();
    const { client, logs } = clientFor('vllm', 'truncate-after:6:once');
    const result = await client.streamCompletion(request).final();
    await client.close();
    expect(result.ids).toEqual(full.ids);
    expect(result.text).toBe(full.text);
    expect(result.stats.resumes).toBe(1);
    expect(logs.some((r) => r.event === 'resume_approximate')).toBe(false);
    const posts = sim.report().requests.filter((r: { path: string }) => r.path === '/v1/completions');
    // The continuation is sent as ids: the prompt's ids (from the server) plus the 6 received.
    expect(Array.isArray((posts[1].body as { prompt: unknown }).prompt)).toBe(true);
  });

  it('a text prompt without server prompt ids resumes approximately from the text, and says so', async () => {
    const own = await startSimulator({ dialect: 'llamacpp', seed: 3 });
    const { client, logs } = testClient(own.url, {
      dialect: 'llamacpp',
      headers: { 'x-sim-fault': 'reset-after:4:once' },
      retry: { maxAttempts: 3, baseDelayMs: 1 },
    });
    const result = await client.streamCompletion({ prompt: 'Once upon a time', maxTokens: 10 }).final();
    await client.close();
    const posts = own.report().requests.filter((r: { path: string }) => r.path === '/v1/completions');
    await own.close();
    expect(result.stats.resumes).toBe(1);
    expect(result.tokens).toHaveLength(10);
    expect(logs.some((r) => r.event === 'resume_approximate')).toBe(true);
    const firstFour = result.tokens
      .slice(0, 4)
      .map((t) => t.text)
      .join('');
    expect((posts[1].body as { prompt: unknown }).prompt).toBe(`Once upon a time${firstFour}`);
  });

  it('a pre-aborted signal fails at once with aborted and sends nothing', async () => {
    sim.resetReport();
    const { client } = clientFor('vllm', undefined);
    const error = await caught(() =>
      client.streamCompletion({ prompt: PROMPT, maxTokens: 4, signal: AbortSignal.abort() }).final(),
    );
    await client.close();
    expect(error.code).toBe('aborted');
    expect(sim.report().requests).toHaveLength(0);
  });

  it('exhausted attempts fail with the last real error and every token so far', async () => {
    const { client } = clientFor('vllm', 'reset-after:3', { retry: { maxAttempts: 2, baseDelayMs: 1 } });
    const error = await caught(() =>
      client.streamCompletion({ prompt: PROMPT, maxTokens: N, sampling: { temperature: 0 } }).final(),
    );
    await client.close();
    expect(error.code).toBe('connection_reset');
    expect((error.partial as { id: number }[]).map((t) => t.id)).toEqual(expected.slice(0, 6));
  });
});

/** The sim's dialects whose completions the wire-facts table says resume exactly. */
const RESUMABLE = (['vllm', 'sglang', 'llamacpp', 'openai', 'openrouter', 'together'] as const).filter(
  (dialect) => wireFactsFor(dialect).completions.resume,
);

it('the table says which completions resume: vLLM, SGLang, llama.cpp, Together', () => {
  expect(RESUMABLE).toEqual(['vllm', 'sglang', 'llamacpp', 'together']);
});

describe.each([
  ['llamacpp', true],
  ...RESUMABLE.filter((dialect) => dialect !== 'vllm').map((dialect) => [dialect, false] as const),
] as const)('resume on %s (native %s)', (dialect, native) => {
  // A prompt whose greedy continuation has no token ending inside a UTF-8 character
  // (llama.cpp would drop that token's id, and an incomplete id list is never resumed).
  const prompt = [1, 2, 3];

  it('a reset after k in 1, 2, 7, 16, 31 yields the uninterrupted ids', async () => {
    const own = await startSimulator({ dialect, seed: 7 });
    const options = (fault?: string) =>
      testClient(own.url, {
        dialect,
        headers: fault ? { 'x-sim-fault': fault } : {},
        retry: { maxAttempts: 3, baseDelayMs: 1 },
      });
    const request = { prompt, maxTokens: N, sampling: { temperature: 0 }, native };
    const plain = options();
    const expected = (await plain.client.streamCompletion(request).final()).ids;
    await plain.client.close();
    expect(expected).toHaveLength(N);
    for (const k of [1, 2, 7, 16, 31]) {
      const { client } = options(`reset-after:${k}:once`);
      const result = await client.streamCompletion(request).final();
      await client.close();
      expect(result.ids, `reset after ${k}`).toEqual(expected);
      expect(result.stats.resumes, `reset after ${k}`).toBe(1);
    }
    await own.close();
  });
});

describe('no resume from an incomplete id list (llama.cpp dropped an id)', () => {
  it('fails with the reset and the partial tokens instead of resuming from wrong ids', async () => {
    const own = await startSimulator({ dialect: 'llamacpp', seed: 7 });
    const { client, logs } = testClient(own.url, {
      dialect: 'llamacpp',
      headers: { 'x-sim-fault': 'reset-after:25' },
      retry: { maxAttempts: 3, baseDelayMs: 1 },
    });
    const error = await caught(() =>
      client
        .streamCompletion({ prompt: PROMPT, maxTokens: N, sampling: { temperature: 0 }, native: true })
        .final(),
    );
    await client.close();
    await own.close();
    expect(error.code).toBe('connection_reset');
    expect(logs.some((r) => r.event === 'ids_incomplete')).toBe(true);
    expect(logs.some((r) => r.event === 'resume')).toBe(false);
  });
});

describe.each(['openai', 'openrouter'] as const)('no exact resume on %s (no live ids)', (dialect) => {
  it('a reset after tokens fails with connection_reset and the partial tokens', async () => {
    const { client } = clientFor(dialect, 'reset-after:4');
    const error = await caught(() => client.streamCompletion({ prompt: PROMPT, maxTokens: N }).final());
    await client.close();
    expect(error.code).toBe('connection_reset');
    expect((error.partial as unknown[]).length).toBe(4);
  });
});

describe('dialect detection', () => {
  it('is retried like a request when the server is not up yet', async () => {
    const probe = await startSimulator({ dialect: 'vllm' });
    const port = probe.port;
    await probe.close();
    const { client, logs } = testClient(`http://127.0.0.1:${port}`, {
      dialect: 'auto',
      retry: { maxAttempts: 5, baseDelayMs: 150, maxDelayMs: 300 },
    });
    const stream = client.streamCompletion({ prompt: [1, 2, 3], maxTokens: 4 });
    const late = new Promise<Simulator>((resolve) =>
      setTimeout(() => resolve(startSimulator({ dialect: 'vllm', port })), 100),
    );
    const result = await stream.final();
    expect(result.ids).toHaveLength(4);
    expect(await client.dialect()).toBe('vllm');
    expect(logs.some((r) => r.event === 'retry' && String(r.reason).startsWith('dialect detection'))).toBe(
      true,
    );
    await client.close();
    await (await late).close();
  });
});

describe('retries before the first token', () => {
  it('a 429 with Retry-After: 1 makes the next request arrive no sooner than 1 s later', async () => {
    sim.resetReport();
    const { client } = clientFor('vllm', 'fail-first:1:429', { retry: { maxAttempts: 3, baseDelayMs: 1 } });
    const result = await client.streamCompletion({ prompt: PROMPT, maxTokens: 4 }).final();
    await client.close();
    expect(result.stats.attempts).toBe(2);
    const posts = sim.report().requests.filter((r: { path: string }) => r.path === '/v1/completions');
    expect(posts).toHaveLength(2);
    expect(posts[1].receivedAtMs - posts[0].receivedAtMs).toBeGreaterThanOrEqual(1000);
  });

  it('does not retry a 400', async () => {
    sim.resetReport();
    const { client } = clientFor('vllm', 'status:400', { retry: { maxAttempts: 3, baseDelayMs: 1 } });
    const error = await caught(() => client.streamCompletion({ prompt: PROMPT, maxTokens: 4 }).final());
    await client.close();
    expect(error.code).toBe('http_error');
    expect(error.status).toBe(400);
    expect(sim.report().requests.filter((r: { path: string }) => r.path === '/v1/completions')).toHaveLength(
      1,
    );
  });
});

describe('a break after the finish reason', () => {
  it('is complete: no resume past maxTokens when only [DONE]/usage was lost', async () => {
    const own = await startSimulator({ dialect: 'vllm', seed: 7 });
    const { client, logs } = testClient(own.url, {
      dialect: 'vllm',
      headers: { 'x-sim-fault': 'reset-after:8:once' },
      retry: { maxAttempts: 3, baseDelayMs: 1 },
    });
    const result = await client.streamCompletion({ prompt: [1, 17, 29], maxTokens: 8 }).final();
    await client.close();
    await own.close();
    expect(result.ids).toHaveLength(8);
    expect(result.finishReason).toBe('length');
    expect(result.usage).toMatchObject({ completionTokens: 8, computed: true });
    expect(result.stats.attempts).toBe(1);
    expect(logs.some((r) => r.event === 'lost_after_finish')).toBe(true);
  });
});
