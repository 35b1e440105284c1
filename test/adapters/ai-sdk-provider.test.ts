/**
 * `tokenwire/ai-sdk`: the real AI SDK (`streamText`, `generateText`) on tokenwire's
 * Client through createTokenwire, against the simulator — resumed streams give
 * exactly the uninterrupted text; failures reach the SDK as TokenwireErrors.
 */
import { createHash } from 'node:crypto';
import { generateText, streamText } from 'ai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTokenwire, type TokenwireProvider } from '../../src/ai-sdk/index.js';
import { type Cluster, type Simulator, startCluster, startSimulator } from '../../src/sim/index.js';

const MAX_TOKENS = 16;
let sim: Simulator;
const providers: TokenwireProvider[] = [];
const sims: Simulator[] = [];

beforeAll(async () => {
  sim = await startSimulator({ dialect: 'vllm', model: 'm' });
  (globalThis as { AI_SDK_LOG_WARNINGS?: boolean }).AI_SDK_LOG_WARNINGS = false;
});
afterAll(async () => {
  await Promise.all(providers.map((p) => p.close()));
  await sim.close();
  await Promise.all(sims.map((s) => s.close()));
});

/**
 * Clocks: generous by default (a clean run must not be resumed because the machine is busy);
 * the keepalive case uses a short first-token clock.
 */
function provider(
  fault: string | undefined,
  dialect = 'vllm',
  on: Pick<Simulator, 'url'> = sim,
  firstTokenMs = 3_000,
): TokenwireProvider {
  const headers: Record<string, string> = { 'x-sim-dialect': dialect };
  if (fault) headers['x-sim-fault'] = fault;
  const p = createTokenwire({
    baseUrl: on.url,
    dialect: dialect as 'vllm',
    headers,
    failedRequestsDir: false,
    logger: () => {},
    retry: { maxAttempts: 6, baseDelayMs: 1, maxDelayMs: 20 },
    timeouts: { firstTokenMs, idleMs: 3_000, totalMs: 15_000 },
  });
  providers.push(p);
  return p;
}

interface Streamed {
  text: string;
  error: unknown;
  finishReason: string | undefined;
  metadata: { tokenIds: number[] | null; stats: Record<string, number | boolean> } | undefined;
}

async function stream(
  model: ReturnType<TokenwireProvider['completionModel']>,
  promptIds?: number[],
): Promise<Streamed> {
  const result = streamText({
    model,
    prompt: 'Once upon a time',
    maxOutputTokens: MAX_TOKENS,
    temperature: 0,
    maxRetries: 0,
    onError: () => {},
    providerOptions: promptIds ? { tokenwire: { promptIds } } : undefined,
  });
  const out: Streamed = { text: '', error: undefined, finishReason: undefined, metadata: undefined };
  for await (const part of result.fullStream) {
    if (part.type === 'text-delta') out.text += part.text;
    else if (part.type === 'error') out.error = part.error;
    else if (part.type === 'finish') out.finishReason = part.finishReason;
  }
  if (out.error === undefined) {
    out.metadata = (await result.providerMetadata)?.tokenwire as Streamed['metadata'];
  }
  return out;
}

describe('streamText through tokenwire/ai-sdk: reset-after faults give exactly the uninterrupted text', () => {
  const kinds = [
    {
      name: 'completion, text prompt',
      model: (p: TokenwireProvider) => p.completionModel('m'),
      ids: undefined,
    },
    {
      name: 'completion, token-id prompt',
      model: (p: TokenwireProvider) => p.completionModel('m'),
      ids: [1, 2, 3],
    },
    { name: 'chat', model: (p: TokenwireProvider) => p.chatModel('m'), ids: undefined },
  ];
  for (const kind of kinds) {
    // k = 1, a middle, the last token before the end; and a reset after every 4 tokens (not once).
    for (const fault of [
      'reset-after:1:once',
      'reset-after:7:once',
      `reset-after:${MAX_TOKENS - 1}:once`,
      'reset-after:4',
    ]) {
      test(`${kind.name}, ${fault}`, async () => {
        // A fresh simulator: a `:once` fault fires for the first request carrying it only.
        const fresh = await startSimulator({ dialect: 'vllm', model: 'm' });
        sims.push(fresh);
        const clean = await stream(kind.model(provider(undefined, 'vllm', fresh)), kind.ids);
        expect(clean.error).toBeUndefined();
        expect(clean.text.length).toBeGreaterThan(0);
        expect(clean.metadata?.stats.resumes).toBe(0);
        const faulty = await stream(kind.model(provider(fault, 'vllm', fresh)), kind.ids);
        expect(fresh.report().faultsFired['reset-after']).toBeGreaterThanOrEqual(1);
        expect(faulty.error).toBeUndefined();
        expect(faulty.text).toBe(clean.text);
        expect(faulty.finishReason).toBe(clean.finishReason);
        expect(faulty.metadata?.stats.resumes).toBeGreaterThanOrEqual(1);
        if (kind.name !== 'chat') {
          expect(faulty.metadata?.tokenIds).toEqual(clean.metadata?.tokenIds);
          expect(faulty.metadata?.tokenIds).toHaveLength(MAX_TOKENS);
        }
      });
    }
  }
});

describe('failures reach the AI SDK as TokenwireErrors, after the text before them', () => {
  const cases = [
    {
      fault: 'keepalive-forever:20',
      code: 'first_token_timeout',
      text: false,
      message: 'no token within 400 ms',
    },
    {
      fault: 'truncate-after:3',
      dialect: 'sglang',
      code: 'stream_truncated',
      text: true,
      message: 'without a finish reason',
    },
    {
      fault: 'error-after:3',
      dialect: 'llamacpp',
      code: 'server_error',
      text: true,
      message: 'simulated failure after 3 tokens',
    },
    { fault: 'html-200', code: 'protocol_error', text: false, message: 'Sign in' },
    { fault: 'status:401', code: 'http_error', text: false, message: 'HTTP 401' },
  ];
  for (const c of cases) {
    test(`${c.fault}${c.dialect ? ` (${c.dialect})` : ''}: ${c.code}`, async () => {
      const out = await stream(provider(c.fault, c.dialect ?? 'vllm', sim, 400).chatModel('m'));
      const error = out.error as { code?: string; message?: string; partial?: unknown[] };
      expect(error?.code).toBe(c.code);
      expect(error?.message).toContain(c.message);
      expect(out.text.length > 0).toBe(c.text);
      expect(error?.partial?.length).toBe(c.text ? 3 : 0);
    });
  }
});

describe('generateText through tokenwire/ai-sdk', () => {
  test('text, finish reason, usage and the ids in providerMetadata; a reset resumed', async () => {
    const fresh = await startSimulator({ dialect: 'vllm', model: 'm' });
    sims.push(fresh);
    const model = provider(undefined, 'vllm', fresh).completionModel('m');
    const clean = await generateText({
      model,
      prompt: 'x',
      maxOutputTokens: 8,
      maxRetries: 0,
      providerOptions: { tokenwire: { promptIds: [5, 6] } },
    });
    const resumed = await generateText({
      model: provider('reset-after:3:once', 'vllm', fresh).completionModel('m'),
      prompt: 'x',
      maxOutputTokens: 8,
      maxRetries: 0,
      providerOptions: { tokenwire: { promptIds: [5, 6] } },
    });
    expect(resumed.text).toBe(clean.text);
    expect(clean.finishReason).toBe('length');
    expect(resumed.usage.inputTokens).toBe(2);
    expect(resumed.usage.outputTokens).toBe(8);
    const meta = resumed.providerMetadata?.tokenwire as { tokenIds: number[]; stats: { resumes: number } };
    expect(meta.tokenIds).toEqual((clean.providerMetadata!.tokenwire as { tokenIds: number[] }).tokenIds);
    expect(meta.tokenIds).toHaveLength(8);
    expect(meta.stats.resumes).toBe(1);
  });

  test('a bad promptIds is invalid_option, naming the option', async () => {
    await expect(
      generateText({
        model: provider(undefined).completionModel('m'),
        prompt: 'x',
        maxRetries: 0,
        providerOptions: { tokenwire: { promptIds: [1, -2] } },
      }),
    ).rejects.toThrow(/providerOptions\.tokenwire\.promptIds/);
  });
});

describe('response id, model and cached input tokens reach the AI SDK', () => {
  /** The ids a replica (seed 7) sent, in request order: `cmpl-`/`chatcmpl-` + sha256("7:seq"). */
  function simIds(cluster: Cluster, path: string, prefix: string): string[] {
    return cluster.replicas[0]
      .report()
      .requests.filter((r) => r.path === path)
      .map((r) => `${prefix}${createHash('sha256').update(`7:${r.seq}`).digest('hex').slice(0, 32)}`);
  }

  // One replica and its prefix cache (16-token blocks): the second call of a 40-token prompt
  // finds two blocks cached, 32 tokens. (The simulated vLLM serves `m` only: modelId is `m`.)
  const promptIds = Array.from({ length: 40 }, (_, i) => 100 + i);
  const options = { tokenwire: { promptIds } };
  let cluster: Cluster | undefined;
  afterAll(async () => cluster?.close());

  test('streamText (response-metadata part) and generateText (response): id, modelId, cacheRead', async () => {
    cluster = await startCluster({ replicas: 1, dialect: 'vllm', seed: 7, model: 'm' });
    const model = provider(undefined, 'vllm', cluster.replicas[0]).completionModel('m');
    const common = { model, prompt: 'x', maxOutputTokens: 2, maxRetries: 0, providerOptions: options };
    const cold = streamText({ ...common, onError: () => {} });
    await cold.consumeStream();
    const warm = await generateText(common);
    const [coldId, warmId] = simIds(cluster, '/v1/completions', 'cmpl-');
    expect((await cold.response).id).toBe(coldId);
    expect((await cold.response).modelId).toBe('m');
    expect(await cold.usage).toMatchObject({
      inputTokens: 40,
      inputTokenDetails: {
        noCacheTokens: undefined,
        cacheReadTokens: undefined,
        cacheWriteTokens: undefined,
      },
      outputTokens: 2,
    });
    expect(warm.response.id).toBe(warmId);
    expect(warm.response.modelId).toBe('m');
    expect(warm.usage).toMatchObject({
      inputTokens: 40,
      inputTokenDetails: { noCacheTokens: 8, cacheReadTokens: 32, cacheWriteTokens: undefined },
      cachedInputTokens: 32,
      outputTokens: 2,
    });
    // And streamed, when cached.
    const again = streamText({ ...common, onError: () => {} });
    await again.consumeStream();
    expect((await again.response).id).toBe(simIds(cluster, '/v1/completions', 'cmpl-')[2]);
    expect((await again.usage).inputTokenDetails).toEqual({
      noCacheTokens: 8,
      cacheReadTokens: 32,
      cacheWriteTokens: undefined,
    });
  });

  test('chat (SGLang, which echoes the request’s model): the id and the model the server named', async () => {
    // The request names `served-x` (extraBody), which SGLang echoes: not the AI SDK's
    // fallback, the provider's model id `m`.
    const fresh = await startSimulator({ dialect: 'sglang', model: 'm', seed: 7 });
    sims.push(fresh);
    const model = provider(undefined, 'sglang', fresh).chatModel('m');
    const common = {
      model,
      prompt: 'Hello',
      maxOutputTokens: 2,
      maxRetries: 0,
      providerOptions: { tokenwire: { extraBody: { model: 'served-x' } } },
    };
    const streamed = streamText({ ...common, onError: () => {} });
    await streamed.consumeStream();
    const generated = await generateText(common);
    const ids = fresh
      .report()
      .requests.filter((r) => r.path === '/v1/chat/completions')
      .map((r) => createHash('sha256').update(`7:${r.seq}`).digest('hex').slice(0, 32));
    expect(ids).toHaveLength(2);
    expect((await streamed.response).id).toBe(ids[0]);
    expect((await streamed.response).modelId).toBe('served-x');
    expect(generated.response.id).toBe(ids[1]);
    expect(generated.response.modelId).toBe('served-x');
  });
});
