/**
 * Chat streams against the simulator, for every dialect it emulates: text
 * deltas, the assembled message, token ids where the server sends them,
 * reasoning, tool calls assembled from awkwardly split fragments, usage in each
 * position, in-stream errors, truncation, and resume (vLLM only).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wireFactsFor } from '../../src/dialects/wire-facts.js';
import type { IdsDelivery } from '../../src/dialects/wire-facts-types.js';
import type { ChatEvent, ChatRequest, ChatResult, ClientOptions, DialectName } from '../../src/index.js';
import { detokenize, generate, type Simulator, startSimulator, tokenize } from '../../src/sim/index.js';
import { TOOL_ARGUMENTS, toolArgumentFragments } from '../../src/sim/steps.js';
import { resolveWire } from '../../src/sim/versions.js';
import { BOS_ID, VOCAB } from '../../src/sim/vocab.js';
import { caught, testClient } from '../helpers/client.js';
import { dataJson, post } from '../sim/helpers.js';

const DIALECTS = ['vllm', 'sglang', 'llamacpp', 'openai', 'openrouter', 'together'] as const;
type SimName = (typeof DIALECTS)[number];

const SEED = 11;
const N = 12;
const MESSAGES = [{ role: 'user', content: 'Say something.' }];
/** The sim's chat template for MESSAGES, written out here so a template change shows up. */
const RENDERED = '<|im_start|>user\nSay something.<|im_end|>\n<|im_start|>assistant\n';
const TOOLS = [
  {
    type: 'function',
    function: { name: 'search', parameters: { type: 'object', properties: { query: { type: 'string' } } } },
  },
];

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ dialect: 'vllm', seed: SEED });
});
afterAll(async () => {
  await sim.close();
});

/** Prompt ids the sim sees for MESSAGES (llama.cpp adds BOS). */
function promptIds(dialect: SimName): number[] {
  const ids = tokenize(RENDERED);
  return dialect === 'llamacpp' ? [BOS_ID, ...ids] : ids;
}

/** The ids the sim generates for MESSAGES: computed independently of the client. */
/** The wire-facts row a plain simulator name emulates (the current server's); hosted names are their rows. */
function chatRow(dialect: SimName) {
  const facts = resolveWire(dialect)?.facts;
  if (facts === undefined) throw new Error(`no wire-facts row for the simulator's ${dialect}`);
  return facts.chat;
}

function expectedIds(dialect: SimName, count = N): number[] {
  return generate(promptIds(dialect), count, { seed: SEED });
}

interface Run {
  events: ChatEvent[];
  result: ChatResult;
}

function clientFor(dialect: SimName, headers: Record<string, string> = {}, options: ClientOptions = {}) {
  return testClient(sim.url, {
    dialect: dialect as DialectName,
    headers: { 'x-sim-dialect': dialect, ...headers },
    ...options,
  });
}

async function runChat(
  dialect: SimName,
  request: Partial<ChatRequest> = {},
  headers: Record<string, string> = {},
  options: ClientOptions = {},
): Promise<Run> {
  const { client } = clientFor(dialect, headers, options);
  try {
    const stream = client.streamChat({ messages: MESSAGES, maxTokens: N, ...request });
    const events: ChatEvent[] = [];
    for await (const event of stream) events.push(event);
    const result = await stream.final();
    return { events, result };
  } finally {
    await client.close();
  }
}

function textOf(events: ChatEvent[], type: 'text' | 'reasoning'): string {
  let text = '';
  for (const event of events) if (event.type === type) text += event.text;
  return text;
}

describe.each(DIALECTS)('chat on %s', (dialect) => {
  it('text deltas concatenate to the generated text; final() has the assembled message', async () => {
    const ids = expectedIds(dialect);
    const { events, result } = await runChat(dialect);
    const text = textOf(events, 'text');
    expect(text).toBe(detokenize(ids));
    expect(text.length).toBeGreaterThan(0);
    expect(result.message).toEqual({ role: 'assistant', content: text, reasoning: undefined, toolCalls: [] });
    expect(result.finishReason).toBe('length');
    const done = events.at(-1);
    expect(done?.type).toBe('done');
    if (done?.type === 'done') expect(done.message).toEqual(result.message);
    expect(events.filter((event) => event.type === 'done')).toHaveLength(1);
  });
});

/** Where each dialect's chat ids come from, as the wire-facts table says: live per delta, at the end (sglext), or not at all. */
const CHAT_IDS = Object.fromEntries(
  DIALECTS.map((dialect) => [dialect, wireFactsFor(dialect).chat.ids.delivery]),
) as Record<SimName, IdsDelivery>;

describe.each(DIALECTS)('chat token ids on %s', (dialect) => {
  it(`are ${CHAT_IDS[dialect]}`, async () => {
    const ids = expectedIds(dialect);
    const { events, result } = await runChat(dialect);
    const texts = events.filter((event) => event.type === 'text');
    const liveIds = texts.flatMap((event) => event.ids ?? []);
    switch (CHAT_IDS[dialect]) {
      case 'live':
        // The ids are the server's, exactly as generated, and each text delta carries its own.
        expect(liveIds).toEqual(ids);
        expect(result.tokenIds).toEqual(ids);
        for (const event of texts) expect(event.ids?.length).toBeGreaterThan(0);
        break;
      case 'end':
        expect(liveIds).toEqual([]);
        expect(result.tokenIds).toEqual(ids);
        break;
      case 'none':
        expect(liveIds).toEqual([]);
        expect(result.tokenIds).toBeUndefined();
        break;
    }
  });
});

describe.each(DIALECTS)('chat reasoning on %s', (dialect) => {
  it('arrives as reasoning events and in message.reasoning, apart from the content', async () => {
    const ids = expectedIds(dialect);
    const { events, result } = await runChat(dialect, {}, { 'x-sim-reasoning': '3' });
    const reasoningEvents = events.filter((event) => event.type === 'reasoning');
    expect(reasoningEvents).toHaveLength(3);
    const reasoning = textOf(events, 'reasoning');
    expect(reasoning).toBe(detokenize(ids.slice(0, 3)));
    expect(result.message.reasoning).toBe(reasoning);
    expect(textOf(events, 'text')).toBe(detokenize(ids.slice(3)));
    expect(result.message.content).toBe(detokenize(ids.slice(3)));
    // Reasoning tokens count as generated tokens: ids (where sent) and usage include them.
    if (CHAT_IDS[dialect] !== 'none') expect(result.tokenIds).toEqual(ids);
    expect(result.usage.completionTokens).toBe(N);
  });

  it('the body extra sim_reasoning works the same way', async () => {
    const ids = expectedIds(dialect);
    const { result } = await runChat(dialect, { extraBody: { sim_reasoning: 2 } });
    expect(result.message.reasoning).toBe(detokenize(ids.slice(0, 2)));
    expect(result.message.content).toBe(detokenize(ids.slice(2)));
  });
});

/** The arguments the sim streams, parsed by hand (not by JSON.parse of the same string). */
const PARSED_ARGUMENTS = { query: 'caf\u00e9 "\u8a9e" \u{1f642}', path: 'C:\\tmp', limit: 3 };

describe.each(DIALECTS)('chat tool calls on %s', (dialect) => {
  it('are assembled from fragments split inside escapes, with finish reason tool_calls', async () => {
    // The whole call is 48 ids, and max_tokens bounds a tool call too (test/sim/product.test.ts).
    const { events, result } = await runChat(dialect, { tools: TOOLS, maxTokens: 64 });
    const calls = events.filter((event) => event.type === 'tool_call');
    expect(calls).toHaveLength(1);
    const call = calls[0].type === 'tool_call' ? calls[0].call : undefined;
    expect(call).toEqual({
      index: 0,
      id: expect.stringMatching(/^call_[0-9a-f]{24}$/),
      name: 'search',
      arguments: TOOL_ARGUMENTS,
      parsedArguments: PARSED_ARGUMENTS,
    });
    expect(result.message.toolCalls).toEqual([call]);
    expect(result.message.content).toBe('');
    expect(result.finishReason).toBe('tool_calls');
    // The tool call comes once, complete, before done.
    expect(events.at(-2)?.type).toBe('tool_call');
  });

  it('the sim really split the arguments inside the \\u00e9 and \\" escapes on the wire', async () => {
    // Guards the test above: a friendly split would let naive concatenation pass too.
    const raw = await post(
      sim.url,
      '/v1/chat/completions',
      { messages: MESSAGES, tools: TOOLS, stream: true },
      { 'x-sim-dialect': dialect },
    );
    const fragments = dataJson(raw.text)
      .map((json) => json.choices?.[0]?.delta?.tool_calls?.[0]?.function?.arguments)
      .filter((args): args is string => typeof args === 'string' && args !== '');
    expect(fragments.join('')).toBe(TOOL_ARGUMENTS);
    expect(fragments.some((fragment) => /\\u[0-9a-f]{0,3}$/.test(fragment))).toBe(true);
    expect(
      fragments.some((fragment, i) => fragment.endsWith('\\') && fragments[i + 1]?.startsWith('"')),
    ).toBe(true);
  });
});

describe.each(DIALECTS)('chat usage on %s', (dialect) => {
  it('comes from the server in its position (not computed)', async () => {
    const { result } = await runChat(dialect);
    const prompt = promptIds(dialect).length;
    expect(result.usage).toEqual({
      promptTokens: prompt,
      completionTokens: N,
      totalTokens: prompt + N,
      computed: false,
      // A lone simulator caches nothing: 0, said only where the row says always (llama.cpp 2026).
      ...(chatRow(dialect).usage.cachedTokens?.when === 'always' ? { cachedPromptTokens: 0 } : {}),
    });
  });
});

describe.each(DIALECTS)('chat failures on %s', (dialect) => {
  it('an in-stream error after 3 tokens is server_error with the partial tokens', async () => {
    const ids = expectedIds(dialect);
    const error = await caught(() => runChat(dialect, {}, { 'x-sim-fault': 'error-after:3' }));
    expect(error.code).toBe('server_error');
    expect(error.message).toContain('simulated failure after 3 tokens');
    const partial = error.partial as { id: number | undefined; text: string }[];
    expect(partial.length).toBeGreaterThan(0);
    expect(partial.length).toBeLessThanOrEqual(3);
    expect(detokenize(ids).startsWith(partial.map((token) => token.text).join(''))).toBe(true);
    if (CHAT_IDS[dialect] === 'live') expect(partial.map((token) => token.id)).toEqual(ids.slice(0, 3));
  });

  it('EOF without a finish reason is stream_truncated with the partial tokens', async () => {
    const ids = expectedIds(dialect);
    const error = await caught(() => runChat(dialect, {}, { 'x-sim-fault': 'truncate-after:5' }));
    expect(error.code).toBe('stream_truncated');
    const partial = error.partial as { id: number | undefined; text: string }[];
    expect(partial.length).toBeGreaterThan(0);
    expect(detokenize(ids).startsWith(partial.map((token) => token.text).join(''))).toBe(true);
    if (CHAT_IDS[dialect] === 'live') expect(partial.map((token) => token.id)).toEqual(ids.slice(0, 5));
  });

  it('the usage is computed (and marked so) when the server sends none', async () => {
    // include_usage false: the rows whose usage needs include_usage then send none; the others always do.
    const { result } = await runChat(dialect, { extraBody: { stream_options: { include_usage: false } } });
    const usageChunk = chatRow(dialect).usage.when === 'include_usage';
    expect(result.usage.computed).toBe(usageChunk);
    if (usageChunk && CHAT_IDS[dialect] === 'live') {
      expect(result.usage.completionTokens).toBe(N);
      // The prompt is counted only where the server echoes its ids (llama.cpp does not).
      const echoed = chatRow(dialect).ids.promptField !== undefined;
      expect(result.usage.promptTokens).toBe(echoed ? promptIds(dialect).length : undefined);
    }
  });
});

const RETRY: ClientOptions = { retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 10 } };

describe('chat resume', () => {
  it('vLLM: a reset after 4 tokens resumes by continuing the assistant message, same text', async () => {
    const baseline = await runChat('vllm');
    const ids = expectedIds('vllm');
    // Why the text can be the same: the partial text re-tokenizes to the ids the server generated.
    expect(tokenize(RENDERED + detokenize(ids.slice(0, 4)))).toEqual([
      ...promptIds('vllm'),
      ...ids.slice(0, 4),
    ]);
    sim.resetReport();
    const { client, logs } = clientFor('vllm', { 'x-sim-fault': 'reset-after:4:once' }, RETRY);
    const stream = client.streamChat({ messages: MESSAGES, maxTokens: N });
    const events: ChatEvent[] = [];
    for await (const event of stream) events.push(event);
    const result = await stream.final();
    await client.close();
    expect(logs.some((record) => record.event === 'resume')).toBe(true);
    expect(result.stats.resumes).toBe(1);
    expect(result.stats.attempts).toBe(2);
    expect(result.message.content).toBe(baseline.result.message.content);
    expect(textOf(events, 'text')).toBe(baseline.result.message.content);
    expect(result.tokenIds).toEqual(expectedIds('vllm'));
    expect(result.usage.completionTokens).toBe(N);
    expect(result.finishReason).toBe('length');
    const posts = sim.report().requests.filter((r) => r.path === '/v1/chat/completions');
    expect(posts).toHaveLength(2);
    const partial = detokenize(expectedIds('vllm').slice(0, 4));
    expect(posts[1].body).toMatchObject({
      continue_final_message: true,
      add_generation_prompt: false,
      max_tokens: N - 4,
      messages: [...MESSAGES, { role: 'assistant', content: partial }],
    });
    expect(posts[0].body).not.toHaveProperty('continue_final_message');
  });

  it('vLLM: a stop string that straddles the resume point is honoured (checked client-side)', async () => {
    // The server checks stop strings on its own output only: after a resume it cannot see
    // the beginning of one that was delivered before the break.
    const full = (await runChat('vllm')).result.message.content;
    const boundary = detokenize(expectedIds('vllm').slice(0, 4)).length;
    const stop = full.slice(boundary - 2, boundary + 2);
    expect(full.indexOf(stop)).toBe(boundary - 2);
    const { events, result } = await runChat(
      'vllm',
      { stop: [stop] },
      { 'x-sim-fault': 'truncate-after:4:once' },
      RETRY,
    );
    expect(result.stats.resumes).toBe(1);
    expect(result.finishReason).toBe('stop');
    // vLLM held the stop string's first two characters back: never sent before the break, they
    // are recovered from its detokenizer and seen as the stop string's beginning. The message
    // ends before it, as the uninterrupted one does.
    const reference = (await runChat('vllm', { stop: [stop] })).result;
    expect(reference.finishReason).toBe('stop');
    expect(result.message.content).toBe(full.slice(0, boundary - 2));
    expect(result.message.content).toBe(reference.message.content);
    expect(textOf(events, 'text')).toBe(full.slice(0, boundary - 2));
    // The ids end with the token that completed the stop string, as vLLM's do.
    const ids = result.tokenIds ?? [];
    expect(ids).toEqual(reference.tokenIds);
    expect(result.usage.completionTokens).toBe(ids.length);
  });

  it('vLLM: the resume is logged as approximate, and is inexact where re-tokenizing differs', async () => {
    // Seed 8: token 5 is the first half of a UTF-8 character, token 6 completes it. The sim's
    // tokenizer spells the whole character with other ids, so continuing from the text of 6
    // tokens conditions the server on another prefix than the one it generated from.
    const ids = generate(promptIds('vllm'), N, { seed: 8 });
    expect(VOCAB.completion.has(ids[4])).toBe(true);
    expect(tokenize(RENDERED + detokenize(ids.slice(0, 6)))).not.toEqual([
      ...promptIds('vllm'),
      ...ids.slice(0, 6),
    ]);
    const headers = { 'x-sim-seed': '8', 'x-sim-fault': 'truncate-after:6:once' };
    const { client, logs } = clientFor('vllm', headers, RETRY);
    const result = await client.streamChat({ messages: MESSAGES, maxTokens: N }).final();
    await client.close();
    expect(result.stats.resumes).toBe(1);
    expect(result.tokenIds?.slice(0, 6)).toEqual(ids.slice(0, 6));
    expect(result.message.content.startsWith(detokenize(ids.slice(0, 6)))).toBe(true);
    expect(logs.filter((record) => record.event === 'resume_approximate')).toHaveLength(1);
  });

  it('vLLM: no resume right after a token whose text the server held back (it would come twice)', async () => {
    // Seed 41: token 1 is the first half of a UTF-8 character, sent with its id and text ''.
    // The partial message cannot spell it, so a continuation would generate it again.
    const ids = generate(promptIds('vllm'), N, { seed: 41 });
    expect(VOCAB.completion.has(ids[1])).toBe(true);
    sim.resetReport();
    const error = await caught(() =>
      runChat('vllm', {}, { 'x-sim-seed': '41', 'x-sim-fault': 'reset-after:2:once' }, RETRY),
    );
    expect(error.code).toBe('connection_reset');
    expect((error.partial as { id: number }[]).map((token) => token.id)).toEqual(ids.slice(0, 2));
    expect(sim.report().requests.filter((r) => r.path === '/v1/chat/completions')).toHaveLength(1);
  });

  it.each(DIALECTS.filter((dialect) => dialect !== 'vllm'))(
    '%s: no resume — the reset fails with the partial tokens, one request only',
    async (dialect) => {
      sim.resetReport();
      // Without ':once' (which fires once per server and spec): a resume would fail again, visibly.
      const error = await caught(() => runChat(dialect, {}, { 'x-sim-fault': 'reset-after:4' }, RETRY));
      expect(error.code).toBe('connection_reset');
      expect((error.partial as unknown[]).length).toBeGreaterThan(0);
      const posts = sim.report().requests.filter((r) => r.path === '/v1/chat/completions');
      expect(posts).toHaveLength(1);
    },
  );

  it('vLLM: no resume in the middle of a tool call', async () => {
    // Faults fire at id counts; the tool fragments' ids are their text tokenized.
    const [first, second] = toolArgumentFragments();
    const afterTwo = tokenize(first).length + tokenize(second).length;
    sim.resetReport();
    const error = await caught(() =>
      runChat('vllm', { tools: TOOLS }, { 'x-sim-fault': `reset-after:${afterTwo}` }, RETRY),
    );
    expect(sim.report().requests[0].faults).toEqual(['reset-after']);
    expect(error.code).toBe('connection_reset');
    expect(sim.report().requests.filter((r) => r.path === '/v1/chat/completions')).toHaveLength(1);
  });

  it('vLLM: no resume once reasoning has arrived', async () => {
    sim.resetReport();
    const error = await caught(() =>
      runChat('vllm', {}, { 'x-sim-fault': 'reset-after:2', 'x-sim-reasoning': '3' }, RETRY),
    );
    expect(error.code).toBe('connection_reset');
    expect(sim.report().requests.filter((r) => r.path === '/v1/chat/completions')).toHaveLength(1);
  });
});

describe('chat with several ids per chunk (vLLM)', () => {
  let multi: Simulator;
  beforeAll(async () => {
    multi = await startSimulator({ dialect: 'vllm', seed: SEED, idsPerChunk: 3 });
  });
  afterAll(async () => {
    await multi.close();
  });

  it('each text delta carries all of its ids, in order', async () => {
    const ids = expectedIds('vllm');
    const { client } = testClient(multi.url, { dialect: 'vllm' });
    const stream = client.streamChat({ messages: MESSAGES, maxTokens: N });
    const texts: { text: string; ids?: number[] }[] = [];
    for await (const event of stream) if (event.type === 'text') texts.push(event);
    const result = await stream.final();
    await client.close();
    expect(texts.map((event) => event.ids?.length)).toEqual([3, 3, 3, 3]);
    expect(texts.flatMap((event) => event.ids ?? [])).toEqual(ids);
    expect(texts.map((event) => event.text).join('')).toBe(detokenize(ids));
    expect(result.tokenIds).toEqual(ids);
    expect(result.usage.completionTokens).toBe(N);
  });
});
