/**
 * Completions per dialect against the simulator: where the ids come from (live,
 * at the end, none), usage in each position, what the server sees of priority
 * and sampling, every HTTP error body shape the sim produces, and `dialect:
 * 'auto'` detection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wireFactsFor } from '../../src/dialects/wire-facts.js';
import type { IdsDelivery } from '../../src/dialects/wire-facts-types.js';
import type { ClientOptions, CompletionEvent, CompletionRequest, DialectName } from '../../src/index.js';
import { detokenize, generate, type Simulator, startSimulator } from '../../src/sim/index.js';
import { resolveWire } from '../../src/sim/versions.js';
import { VOCAB } from '../../src/sim/vocab.js';
import { caught, testClient } from '../helpers/client.js';

const DIALECTS = ['vllm', 'sglang', 'llamacpp', 'openai', 'openrouter', 'together'] as const;
type SimName = (typeof DIALECTS)[number];

const SEED = 5;
const PROMPT = [1, 17, 29, 301];
const N = 10;
const IDS = generate(PROMPT, N, { seed: SEED });

/** Where completion ids come from, per dialect, as the wire-facts table says. */
const IDS_FROM = Object.fromEntries(
  DIALECTS.map((dialect) => [dialect, wireFactsFor(dialect).completions.ids.delivery]),
) as Record<SimName, IdsDelivery>;

/** The completions facts of the row a plain simulator name emulates (the current server's). */
function completionsRow(dialect: SimName) {
  const facts = resolveWire(dialect)?.facts;
  if (facts === undefined) throw new Error(`no wire-facts row for the simulator's ${dialect}`);
  return facts.completions;
}

let sim: Simulator;
beforeAll(async () => {
  // Priority scheduling on: 'what the server sees' sends non-zero priorities (vLLM's 400 otherwise).
  sim = await startSimulator({ dialect: 'vllm', seed: SEED, priorityScheduling: true });
});
afterAll(async () => {
  await sim.close();
});

function clientFor(dialect: SimName, headers: Record<string, string> = {}, options: ClientOptions = {}) {
  return testClient(sim.url, {
    dialect: dialect as DialectName,
    headers: { 'x-sim-dialect': dialect, ...headers },
    ...options,
  });
}

async function complete(
  dialect: SimName,
  request: Partial<CompletionRequest> = {},
  headers: Record<string, string> = {},
) {
  const { client } = clientFor(dialect, headers);
  try {
    const stream = client.streamCompletion({ prompt: PROMPT, maxTokens: N, ...request });
    const events: CompletionEvent[] = [];
    for await (const event of stream) events.push(event);
    return { events, result: await stream.final() };
  } finally {
    await client.close();
  }
}

/** The body of the last generation request the sim received. */
function lastBody(): Record<string, unknown> {
  const posts = sim.report().requests.filter((r) => r.method === 'POST');
  return posts.at(-1)?.body as Record<string, unknown>;
}

describe.each(DIALECTS)('completions on %s', (dialect) => {
  it(`token ids are ${IDS_FROM[dialect]}; the text is the generated text`, async () => {
    // No token of this run ends inside a UTF-8 character, so llama.cpp sends every id too.
    expect(IDS.some((id) => VOCAB.completion.has(id))).toBe(false);
    const { events, result } = await complete(dialect);
    const tokens = events.filter((event) => event.type === 'token');
    const done = events.at(-1);
    expect(done?.type).toBe('done');
    expect(result.text).toBe(detokenize(IDS));
    expect(tokens.map((token) => token.text).join('')).toBe(detokenize(IDS));
    const tokenIds = done?.type === 'done' ? done.tokenIds : 'missing';
    switch (IDS_FROM[dialect]) {
      case 'live':
        expect(tokens.map((token) => token.id)).toEqual(IDS);
        expect(tokenIds).toEqual(IDS);
        break;
      case 'end':
        expect(tokens.every((token) => token.id === undefined)).toBe(true);
        expect(tokens.length).toBeGreaterThan(0);
        expect(tokenIds).toEqual(IDS);
        break;
      case 'none':
        expect(tokens.every((token) => token.id === undefined)).toBe(true);
        expect(tokenIds).toBeUndefined();
        break;
    }
    expect(result.finishReason).toBe('length');
    expect(result.stats.idsIncomplete).toBe(false);
  });

  it('usage comes from the server in its position', async () => {
    const { result } = await complete(dialect);
    expect(result.usage).toEqual({
      promptTokens: PROMPT.length,
      completionTokens: N,
      totalTokens: PROMPT.length + N,
      computed: false,
      // A lone simulator caches nothing: 0, said only where the row says always (llama.cpp 2026).
      ...(completionsRow(dialect).usage.cachedTokens?.when === 'always' ? { cachedPromptTokens: 0 } : {}),
    });
  });

  it('usage is computed, and marked so, when the server sends none', async () => {
    // Only the usage-chunk servers can be told not to send it; the others always do.
    const { result } = await complete(dialect, { extraBody: { stream_options: { include_usage: false } } });
    const usageChunk = completionsRow(dialect).usage.when === 'include_usage';
    expect(result.usage.computed).toBe(usageChunk);
    if (usageChunk) {
      expect(result.usage.promptTokens).toBe(PROMPT.length);
      if (IDS_FROM[dialect] === 'live') expect(result.usage.completionTokens).toBe(N);
    }
  });
});

describe('what the server sees', () => {
  const PRIORITY: Record<SimName, number | undefined> = {
    vllm: 3,
    sglang: -3,
    llamacpp: undefined,
    openai: undefined,
    openrouter: undefined,
    together: undefined,
  };

  it.each(DIALECTS)('priority on %s', async (dialect) => {
    sim.resetReport();
    await complete(dialect, { priority: 3 });
    const body = lastBody();
    if (PRIORITY[dialect] === undefined) expect(body).not.toHaveProperty('priority');
    else expect(body.priority).toBe(PRIORITY[dialect]);
  });

  it.each(['vllm', 'sglang'] as const)('priority 0 on %s is a value, not "unset"', async (dialect) => {
    sim.resetReport();
    await complete(dialect, { priority: 0 });
    expect(lastBody().priority).toBe(0);
  });

  const SAMPLING = {
    temperature: 0,
    topP: 0.9,
    topK: 40,
    minP: 0.05,
    seed: 1,
    repetitionPenalty: 1.1,
    presencePenalty: 0.2,
    frequencyPenalty: 0.3,
  };
  const COMMON = {
    temperature: 0,
    top_p: 0.9,
    seed: 1,
    presence_penalty: 0.2,
    frequency_penalty: 0.3,
  };

  it.each(DIALECTS)('sampling keys on %s', async (dialect) => {
    sim.resetReport();
    await complete(dialect, { sampling: SAMPLING });
    const body = lastBody();
    expect(body).toMatchObject(COMMON);
    if (dialect === 'openai') {
      // OpenAI rejects the extended keys: they are not sent.
      for (const key of ['top_k', 'min_p', 'repetition_penalty', 'repeat_penalty'])
        expect(body).not.toHaveProperty(key);
    } else if (dialect === 'llamacpp') {
      expect(body).toMatchObject({ top_k: 40, min_p: 0.05, repeat_penalty: 1.1 });
      expect(body).not.toHaveProperty('repetition_penalty');
    } else {
      expect(body).toMatchObject({ top_k: 40, min_p: 0.05, repetition_penalty: 1.1 });
    }
  });

  it.each(DIALECTS)('%s: how ids and usage are asked for', async (dialect) => {
    sim.resetReport();
    await complete(dialect);
    const body = lastBody();
    if (dialect === 'vllm' || dialect === 'sglang') expect(body.return_token_ids).toBe(true);
    else expect(body).not.toHaveProperty('return_token_ids');
    if (dialect === 'llamacpp') {
      expect(body.logprobs).toBe(1);
      expect(body).not.toHaveProperty('stream_options');
    } else {
      expect(body.stream_options).toEqual({ include_usage: true });
    }
    expect(body.prompt).toEqual(PROMPT);
    expect(body.max_tokens).toBe(N);
  });
});

describe('HTTP error bodies: the server’s message reaches err.message', () => {
  const CASES: [SimName, string, RegExp, number | string | undefined][] = [
    // nested {"error": {"message", "type", "code"}}
    ['vllm', 'status:400', /: simulated HTTP 400 \(sim fault status\)$/, 400],
    ['llamacpp', 'status:400', /: simulated HTTP 400 \(sim fault status\)$/, 400],
    ['openai', 'status:429', /: simulated HTTP 429 \(sim fault status\)$/, 'rate_limit_exceeded'],
    ['openrouter', 'status:400', /: simulated HTTP 400 \(sim fault status\)$/, 400],
    ['together', 'status:500', /: simulated HTTP 500 \(sim fault status\)$/, 'server_error'],
    // flat {"object": "error", "message", ...}
    ['sglang', 'status:400', /: simulated HTTP 400 \(sim fault status\)$/, 400],
    ['sglang', 'status:503', /: simulated HTTP 503 \(sim fault status\)$/, 503],
    // a bare string: vLLM's {"error": "Unauthorized"}
    ['vllm', 'status:401', /: Unauthorized$/, undefined],
    // a proxy's HTML page
    ['vllm', 'status:502', /: HTML page: 502 Bad Gateway$/, undefined],
    ['openai', 'status:504', /: HTML page: 504 Gateway Time-out$/, undefined],
  ];

  it.each(CASES)('%s %s', async (dialect, fault, message, serverCode) => {
    const error = await caught(() => complete(dialect, {}, { 'x-sim-fault': fault }));
    const status = Number(fault.split(':')[1]);
    expect(error.code).toBe('http_error');
    expect(error.status).toBe(status);
    expect(error.message).toMatch(new RegExp(`^HTTP ${status} \\(POST http://`));
    expect(error.message).toMatch(message);
    expect(error.serverCode).toBe(serverCode);
  });

  it.each([
    ['vllm', /: Not Found$/],
    ['sglang', /: Not Found$/],
    ['llamacpp', /: File Not Found$/],
    ['openai', /: Invalid URL \(POST \/nope\/v1\/completions\)$/],
  ] as const)('%s: an unknown path (FastAPI {"detail"} on vLLM/SGLang)', async (dialect, message) => {
    const { client } = testClient(`${sim.url}/nope`, {
      dialect,
      headers: { 'x-sim-dialect': dialect },
    });
    const error = await caught(() => client.streamCompletion({ prompt: PROMPT, maxTokens: N }).final());
    await client.close();
    expect(error.code).toBe('http_error');
    expect(error.status).toBe(404);
    expect(error.message).toMatch(message);
  });

  it('a request the server refuses (validation error with param) names the server’s reason', async () => {
    const error = await caught(() => complete('vllm', { extraBody: { max_tokens: -1 } }));
    expect(error.status).toBe(400);
    expect(error.message).toMatch(/'max_tokens' must be a non-negative integer, got -1$/);
  });
});

describe("dialect: 'auto'", () => {
  /**
   * What detection can see of each sim. OpenRouter and Together are recognised from
   * their URL only (documented); on loopback their model lists carry no `owned_by`,
   * so they get the generic `openai` dialect.
   */
  const DETECTED: Record<SimName, DialectName> = {
    vllm: 'vllm',
    sglang: 'sglang',
    llamacpp: 'llamacpp',
    openai: 'openai',
    openrouter: 'openai',
    together: 'openai',
  };

  it.each(DIALECTS)('a %s server', async (dialect) => {
    // A sim whose default dialect is this one: detection sends no x-sim-dialect header.
    const own = await startSimulator({ dialect, seed: SEED });
    const { client, logs } = testClient(own.url, { debug: true });
    try {
      expect(await client.dialect()).toBe(DETECTED[dialect]);
      expect(logs.find((record) => record.event === 'dialect')).toMatchObject({ using: DETECTED[dialect] });
      // Detected once per client, and generation then works with it.
      const result = await client.streamCompletion({ prompt: PROMPT, maxTokens: N }).final();
      expect(result.text).toBe(detokenize(IDS));
      // The generic dialect still picks ids up where a known server puts them (Together).
      if (IDS_FROM[dialect] === 'live') expect(result.ids).toEqual(IDS);
      const models = own.report().requests.filter((r) => r.path === '/v1/models');
      expect(models).toHaveLength(1);
    } finally {
      await client.close();
      await own.close();
    }
  });
});
