/**
 * The real `openai` package against the simulator's faults, with its own fetch and
 * with `fetch: createFetch()` (rows in sdk-faults.ts; the README table states them).
 */
import OpenAI from 'openai';
import { describe, expect, test } from 'vitest';
import { startSimulator } from '../../src/sim/index.js';
import { expectOutcome } from './sdk-check.js';
import { MAX_TOKENS, ROWS } from './sdk-faults.js';
import { runOpenAI } from './sdk-harness.js';
import { sdkRig } from './sdk-rig.js';

const rig = sdkRig(runOpenAI);

describe('openai-node, its own fetch', () => {
  for (const row of ROWS) {
    test(`${row.fault || 'no fault'} (${row.dialect}): ${row.openai.kind}`, async () => {
      const full = await rig.baseline(row.dialect);
      const run = await runOpenAI((await rig.simFor(row)).url, row.fault, undefined, row.budgetMs, {
        maxTokens: MAX_TOKENS,
        dialect: row.dialect,
      });
      expectOutcome(run, row.openai, full);
    });
  }
});

describe('openai-node with fetch: createFetch()', () => {
  for (const row of ROWS) {
    test(`${row.fault || 'no fault'} (${row.dialect}): ${row.openaiFetch.kind} ${row.openaiFetch.code ?? ''}`, async () => {
      const full = await rig.baseline(row.dialect);
      const run = await runOpenAI((await rig.simFor(row)).url, row.fault, rig.rowFetch(row), 5_000, {
        maxTokens: MAX_TOKENS,
        dialect: row.dialect,
      });
      expectOutcome(run, row.openaiFetch, full);
      if (row.openaiFetch.code !== undefined) {
        // openai-node lets the body's error through as it is: a TokenwireError with its tokens.
        expect(run.error?.name).toMatch(/Error$/);
        expect(run.error?.partial).toBe(row.openaiFetch.text === 'none' ? 0 : run.error?.partial);
        expect(run.error?.partial).toBeGreaterThanOrEqual(row.openaiFetch.text === 'partial' ? 1 : 0);
      }
    });
  }
});

describe('resume through the fetch', () => {
  test('a reset after 3 tokens: the re-sent request is the original body with prompt + the 3 ids and 13 tokens left; openai sees one stream', async () => {
    const fresh = await startSimulator({ dialect: 'vllm', model: 'm', tokenDelayMs: 2 });
    rig.freshSims.push(fresh);
    const full = await runOpenAI(fresh.url, '', undefined, 5_000, { maxTokens: MAX_TOKENS });
    const run = await runOpenAI(fresh.url, 'reset-after:3:once', rig.rowFetch(ROWS[0]!), 5_000, {
      maxTokens: MAX_TOKENS,
    });
    expect(run.kind).toBe('ok');
    expect(run.text).toBe(full.text);
    expect(run.finishReason).toBe('length');
    const generations = fresh.report().requests.filter((r) => r.path === '/v1/completions');
    expect(generations).toHaveLength(3);
    const [, first, second] = generations.map((r) => r.body as Record<string, unknown>);
    // The fetch asked for ids (the caller's body did not), kept everything else as the caller sent it.
    expect(first).toMatchObject({
      model: 'm',
      prompt: [1, 2, 3],
      max_tokens: 16,
      stream: true,
      return_token_ids: true,
    });
    const prompt = second!.prompt as number[];
    expect(prompt.slice(0, 3)).toEqual([1, 2, 3]);
    expect(prompt).toHaveLength(6);
    expect(second).toMatchObject({ model: 'm', max_tokens: 13, stream: true, return_token_ids: true });
    expect(fresh.report().faultsFired['reset-after']).toBe(1);
  });
});

test('after a resume, the usage chunk openai gets counts the whole call (prompt once, every completion token)', async () => {
  const fresh = await startSimulator({ dialect: 'vllm', model: 'm', tokenDelayMs: 2 });
  rig.freshSims.push(fresh);
  const client = new OpenAI({
    baseURL: `${fresh.url}/v1`,
    apiKey: 'sk-test-key-123456',
    maxRetries: 0,
    fetch: rig.rowFetch(ROWS[0]!),
  });
  const stream = await client.completions.create(
    {
      model: 'm',
      prompt: [1, 2, 3],
      max_tokens: MAX_TOKENS,
      stream: true,
      stream_options: { include_usage: true },
    },
    { headers: { 'x-sim-fault': 'reset-after:5:once' } },
  );
  let usage: OpenAI.CompletionUsage | undefined;
  let chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    if (chunk.usage) usage = chunk.usage;
  }
  expect(fresh.report().faultsFired['reset-after']).toBe(1);
  expect(chunks).toBeGreaterThan(MAX_TOKENS);
  expect(usage).toMatchObject({
    prompt_tokens: 3,
    completion_tokens: MAX_TOKENS,
    total_tokens: 3 + MAX_TOKENS,
  });
});

describe('createFetch options are checked at the door', () => {
  test('baseUrl, apiKey and model come from each request: passing one is invalid_option naming it (the key not shown)', async () => {
    const { createFetch } = await import('../../src/fetch/index.js');
    expect(() => createFetch({ baseUrl: 'http://x' } as never)).toThrow(
      /invalid option baseUrl: "http:\/\/x"/,
    );
    expect(() => createFetch({ apiKey: 'sk-secret-value' } as never)).toThrow(
      /invalid option apiKey: "\[hidden\]"/,
    );
    expect(() => createFetch({ apiKey: 'sk-secret-value' } as never)).not.toThrow(/sk-secret-value/);
    expect(() => createFetch({ errors: 'loud' as never })).toThrow(/invalid option errors: "loud"/);
    expect(() => createFetch({ timeouts: { idleMs: -1 } })).toThrow(/invalid option timeouts.idleMs: -1/);
    expect(() => createFetch({ telemetry: false } as never)).toThrow(
      /invalid option telemetry: false \(createFetch does not support fleets or telemetry/,
    );
    expect(() => createFetch({ endpoints: ['http://x'] } as never)).toThrow(/invalid option endpoints/);
  });
});

describe('non-streaming calls through the fetch: clocks and retries', () => {
  test('a completion comes back as the server sent it; a 503 before it is retried; a 400 is the SDK own error', async () => {
    const fresh = await startSimulator({ dialect: 'vllm', model: 'm' });
    rig.freshSims.push(fresh);
    const client = new OpenAI({
      baseURL: `${fresh.url}/v1`,
      apiKey: 'sk-test-key-123456',
      maxRetries: 0,
      fetch: rig.rowFetch(ROWS[0]!),
    });
    const plain = new OpenAI({ baseURL: `${fresh.url}/v1`, apiKey: 'sk-test-key-123456', maxRetries: 0 });
    const body = { model: 'm', prompt: [1, 2, 3], max_tokens: 8 };
    const expected = await plain.completions.create(body);
    const got = await client.completions.create(body);
    expect(got.choices[0]!.text).toBe(expected.choices[0]!.text);
    const before = fresh.report().requests.length;
    const retried = await client.completions.create(body, { headers: { 'x-sim-fault': 'fail-first:1:503' } });
    expect(retried.choices[0]!.text).toBe(expected.choices[0]!.text);
    expect(fresh.report().requests.length - before).toBe(2);
    await expect(
      client.completions.create(body, { headers: { 'x-sim-fault': 'status:400' } }),
    ).rejects.toMatchObject({
      status: 400,
    });
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toContain('m');
  });

  test('a server that never answers: headers_timeout twice (retried), then openai throws its timeout error', async () => {
    const fresh = await startSimulator({ dialect: 'vllm', model: 'm' });
    rig.freshSims.push(fresh);
    const { createFetch } = await import('../../src/fetch/index.js');
    const fetch = createFetch({
      failedRequestsDir: false,
      logger: () => {},
      retry: { maxAttempts: 2, baseDelayMs: 1 },
      timeouts: { headersMs: 200, totalMs: 5_000 },
    });
    rig.fetches.push(fetch);
    const client = new OpenAI({
      baseURL: `${fresh.url}/v1`,
      apiKey: 'sk-test-key-123456',
      maxRetries: 0,
      fetch,
    });
    const error = await client.completions
      .create(
        { model: 'm', prompt: [1], max_tokens: 4 },
        { headers: { 'x-sim-fault': 'stall-headers:3000' } },
      )
      .catch((e) => e);
    // openai-node turns a rejected fetch whose error says "timeout" into its own
    // APIConnectionTimeoutError, without a cause (openai 6.49 core: makeRequest).
    expect(error.message).toBe('Request timed out.');
    expect(fresh.report().requests.filter((r) => r.path === '/v1/completions')).toHaveLength(2);
  });
});

test('a failed stream through the fetch is captured (0600 in a 0700 dir, the SDK key redacted) and the error says where', async () => {
  const { mkdtemp, readFile, stat } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { createFetch } = await import('../../src/fetch/index.js');
  const dir = join(await mkdtemp(join(tmpdir(), 'tw-fetch-')), 'failed');
  const fetch = createFetch({ failedRequestsDir: dir, logger: () => {}, retry: false });
  rig.fetches.push(fetch);
  const key = 'sk-test-secret-key-987654321';
  const client = new OpenAI({ baseURL: `${rig.sim.url}/v1`, apiKey: key, maxRetries: 0, fetch });
  const stream = await client.completions.create(
    { model: 'm', prompt: [1, 2, 3], max_tokens: 8, stream: true },
    { headers: { 'x-sim-fault': 'truncate-after:2' } },
  );
  const error = await (async () => {
    for await (const _ of stream) {
      // read to the end
    }
  })().catch((e) => e);
  expect(error.code).toBe('stream_truncated');
  expect(error.partial).toHaveLength(2);
  expect(error.fixturePath).toMatch(new RegExp(`^${dir}`));
  const text = await readFile(error.fixturePath, 'utf8');
  expect(text).not.toContain(key);
  expect(JSON.parse(text).attempts[0].request.headers.authorization).toBe('[redacted]');
  expect((await stat(error.fixturePath)).mode & 0o777).toBe(0o600);
  expect((await stat(dir)).mode & 0o777).toBe(0o700);
});
