/**
 * What each dialect's decoder reads of a response's identity and cache: the chunks'
 * `id` and `model` (once per attempt: from the first JSON chunk, while the sink says it
 * is pending) and `usage.prompt_tokens_details.cached_tokens` (llama.cpp native:
 * `timings.cache_n` and `model` on its final event). Pure: decoders and a recording sink.
 */
import { describe, expect, it } from 'vitest';
import type { DecodeSink, WireUsage } from '../../src/dialects/dialect.js';
import { dialectByName } from '../../src/dialects/index.js';
import type { SseEvent } from '../../src/sse/parser.js';
import type { DialectName } from '../../src/types.js';

type Call = [string, ...unknown[]];

/** A sink that records the calls that matter here, pending until response() is called. */
function recorder(): { sink: DecodeSink; calls: Call[] } {
  const calls: Call[] = [];
  const sink = {
    responsePending: true,
    response(id: string | undefined, model: string | undefined) {
      calls.push(['response', id, model]);
      sink.responsePending = false;
    },
    tokens: (ids: readonly number[] | undefined, text: string) =>
      calls.push(['tokens', ids ? [...ids] : undefined, text]),
    promptIds: () => {},
    completionIds: () => {},
    finish: (reason: string) => calls.push(['finish', reason]),
    usage: (usage: WireUsage) => calls.push(['usage', usage]),
    serverTokenCount: () => {},
    end: () => calls.push(['end']),
    error: () => calls.push(['error']),
    contextTruncated: () => calls.push(['contextTruncated']),
    parseError: () => calls.push(['parseError']),
    reasoning: () => {},
    toolCall: () => {},
  };
  return { sink, calls };
}

const data = (json: unknown): SseEvent => ({
  event: '',
  data: typeof json === 'string' ? json : JSON.stringify(json),
  error: undefined,
  id: undefined,
});

const OPENAI_STYLE: DialectName[] = [
  'vllm',
  'sglang',
  'openai',
  'openrouter',
  'together',
  'fireworks',
  'llamacpp',
];
const completionWire = { path: '/v1/completions', body: {} };

function completionChunk(id: string, model: string, text: string, finish: string | null = null) {
  return {
    id,
    object: 'text_completion',
    created: 1,
    model,
    choices: [{ index: 0, text, finish_reason: finish }],
  };
}

describe('id and model, once per attempt', () => {
  it.each(OPENAI_STYLE)('%s completions: read from the first JSON chunk only', (name) => {
    const { sink, calls } = recorder();
    const dialect = dialectByName(name)!;
    for (const event of [
      data(completionChunk('cmpl-1', 'served', 'a')),
      data(completionChunk('cmpl-other', 'other', 'b', 'length')),
      data('[DONE]'),
    ])
      dialect.decodeCompletion(event, sink, completionWire);
    expect(calls.filter((c) => c[0] === 'response')).toEqual([['response', 'cmpl-1', 'served']]);
    expect(calls[0]).toEqual(['response', 'cmpl-1', 'served']);
  });

  it.each(OPENAI_STYLE)('%s chat: the role chunk is the first JSON chunk', (name) => {
    const { sink, calls } = recorder();
    const dialect = dialectByName(name)!;
    const chunk = (delta: unknown, finish: string | null = null) => ({
      id: 'chatcmpl-1',
      object: 'chat.completion.chunk',
      model: 'served',
      choices: [{ index: 0, delta, finish_reason: finish }],
    });
    for (const event of [
      data(chunk({ role: 'assistant', content: '' })),
      data(chunk({ content: 'hi' })),
      data(chunk({}, 'stop')),
    ])
      dialect.decodeChat(event, sink);
    expect(calls.filter((c) => c[0] === 'response')).toEqual([['response', 'chatcmpl-1', 'served']]);
  });

  it('an error event, [DONE] or a parse error before the first JSON chunk does not count as it', () => {
    const { sink, calls } = recorder();
    const vllm = dialectByName('vllm')!;
    vllm.decodeCompletion(data('not json'), sink, completionWire);
    vllm.decodeCompletion(data({ error: { message: 'x' } }), sink, completionWire);
    expect(calls.some((c) => c[0] === 'response')).toBe(false);
    vllm.decodeCompletion(data(completionChunk('cmpl-2', 'm', 'a')), sink, completionWire);
    expect(calls.filter((c) => c[0] === 'response')).toEqual([['response', 'cmpl-2', 'm']]);
  });

  it('a missing, empty or non-string id or model is undefined', () => {
    for (const [id, model, expected] of [
      [undefined, undefined, [undefined, undefined]],
      ['', '', [undefined, undefined]],
      [7, ['m'], [undefined, undefined]],
      ['gen-1', null, ['gen-1', undefined]],
    ] as const) {
      const { sink, calls } = recorder();
      dialectByName('openrouter')!.decodeCompletion(
        data({ id, model, choices: [{ index: 0, text: 'a', finish_reason: null }] }),
        sink,
        completionWire,
      );
      expect(calls[0]).toEqual(['response', ...expected]);
    }
  });

  it('a sink that is not pending is never called (nothing per chunk after the first)', () => {
    const { sink, calls } = recorder();
    (sink as { responsePending: boolean }).responsePending = false;
    dialectByName('vllm')!.decodeCompletion(data(completionChunk('cmpl-1', 'm', 'a')), sink, completionWire);
    expect(calls.some((c) => c[0] === 'response')).toBe(false);
  });
});

describe('cached prompt tokens', () => {
  const usageChunk = (details: unknown) => ({
    id: 'cmpl-1',
    model: 'm',
    choices: [],
    usage: { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12, prompt_tokens_details: details },
  });

  it.each(OPENAI_STYLE)('%s: usage.prompt_tokens_details.cached_tokens', (name) => {
    for (const cached of [0, 1, 9, 10]) {
      const { sink, calls } = recorder();
      dialectByName(name)!.decodeCompletion(
        data(usageChunk({ cached_tokens: cached })),
        sink,
        completionWire,
      );
      expect(calls.find((c) => c[0] === 'usage')).toEqual([
        'usage',
        { promptTokens: 10, completionTokens: 2, totalTokens: 12, cachedPromptTokens: cached },
      ]);
    }
  });

  it('anything but a non-negative integer is no count', () => {
    for (const details of [null, {}, { cached_tokens: -1 }, { cached_tokens: 1.5 }, { cached_tokens: '3' }]) {
      const { sink, calls } = recorder();
      dialectByName('vllm')!.decodeCompletion(data(usageChunk(details)), sink, completionWire);
      expect(calls.find((c) => c[0] === 'usage')).toEqual([
        'usage',
        { promptTokens: 10, completionTokens: 2, totalTokens: 12 },
      ]);
    }
  });
});

describe('llama.cpp native /completion', () => {
  // Shapes as recorded in test/fixtures/llamacpp-2026/examples/20_native_completion_stream_rt.txt:
  // no `id` anywhere, `model` and `timings.cache_n` on the final `"stop": true` event only.
  const nativeWire = { path: '/completion', body: {} };

  it('no id; the model and timings.cache_n from the final event', () => {
    const { sink, calls } = recorder();
    const llamacpp = dialectByName('llamacpp')!;
    llamacpp.decodeCompletion(
      data({
        index: 0,
        content: ' a',
        tokens: [5],
        stop: false,
        id_slot: -1,
        tokens_predicted: 1,
        tokens_evaluated: 3,
      }),
      sink,
      nativeWire,
    );
    llamacpp.decodeCompletion(
      data({
        index: 0,
        content: '',
        tokens: [],
        stop: true,
        model: 'models/tiny-32.gguf',
        tokens_predicted: 1,
        tokens_evaluated: 3,
        stop_type: 'limit',
        timings: { cache_n: 2, prompt_n: 1 },
      }),
      sink,
      nativeWire,
    );
    expect(calls.filter((c) => c[0] === 'response')).toEqual([
      ['response', undefined, undefined],
      ['response', undefined, 'models/tiny-32.gguf'],
    ]);
    expect(calls.find((c) => c[0] === 'usage')).toEqual([
      'usage',
      { promptTokens: 3, completionTokens: 1, totalTokens: 4, cachedPromptTokens: 2 },
    ]);
  });

  it('b4748 had no cache_n: no count', () => {
    const { sink, calls } = recorder();
    dialectByName('llamacpp')!.decodeCompletion(
      data({
        content: '',
        stop: true,
        model: 'gpt-3.5-turbo',
        tokens_predicted: 8,
        tokens_evaluated: 3,
        stop_type: 'limit',
        timings: { prompt_n: 1 },
      }),
      sink,
      nativeWire,
    );
    expect(calls.find((c) => c[0] === 'usage')).toEqual([
      'usage',
      { promptTokens: 3, completionTokens: 8, totalTokens: 11 },
    ]);
  });
});
