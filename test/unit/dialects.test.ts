/**
 * Dialect modules are pure: request bodies and event decoding, table-tested
 * without a network.
 */
import { describe, expect, it } from 'vitest';
import type { DecodeSink, Dialect, ToolCallDelta, WireError, WireUsage } from '../../src/dialects/dialect.js';
import { detectDialect, dialectByName, dialectFromUrl } from '../../src/dialects/index.js';
import type { SseEvent } from '../../src/sse/parser.js';
import type { DialectName } from '../../src/types.js';

type Call = [string, ...unknown[]];

function recorder(): { sink: DecodeSink; calls: Call[] } {
  const calls: Call[] = [];
  const sink: DecodeSink = {
    tokens: (ids, text, logprobs) =>
      calls.push(['tokens', ids ? [...ids] : undefined, text, logprobs ? [...logprobs] : undefined]),
    promptIds: (ids) => calls.push(['promptIds', [...ids]]),
    completionIds: (ids) => calls.push(['completionIds', [...ids]]),
    finish: (reason) => calls.push(['finish', reason]),
    usage: (usage: WireUsage) => calls.push(['usage', usage]),
    serverTokenCount: (n) => calls.push(['serverTokenCount', n]),
    end: () => calls.push(['end']),
    error: (error: WireError) => calls.push(['error', error]),
    contextTruncated: (detail) => calls.push(['contextTruncated', detail]),
    parseError: (preview) => calls.push(['parseError', preview]),
    reasoning: (text, ids) => calls.push(ids ? ['reasoning', text, [...ids]] : ['reasoning', text]),
    toolCall: (delta: ToolCallDelta) => calls.push(['toolCall', delta]),
  };
  return { sink, calls };
}

const data = (json: unknown): SseEvent => ({
  event: '',
  data: typeof json === 'string' ? json : JSON.stringify(json),
  error: undefined,
  id: undefined,
});
const get = (name: DialectName): Dialect => dialectByName(name)!;
const completionWire = { path: '/v1/completions', body: {} };

function decodeCompletion(name: DialectName, events: SseEvent[], wire = completionWire): Call[] {
  const { sink, calls } = recorder();
  for (const event of events) get(name).decodeCompletion(event, sink, wire);
  return calls;
}

function decodeChat(name: DialectName, events: SseEvent[]): Call[] {
  const { sink, calls } = recorder();
  for (const event of events) get(name).decodeChat(event, sink);
  return calls;
}

describe('request bodies', () => {
  const request = {
    prompt: [1, 2],
    maxTokens: 5,
    priority: 3,
    sampling: { temperature: 0, topK: 4, minP: 0.1, repetitionPenalty: 1.1, seed: 7 },
  };
  const input = { model: 'm', prompt: [1, 2], maxTokens: 5, request };

  it('vLLM asks for ids and usage, passes priority as is (lower first)', () => {
    const { path, body } = get('vllm').completionRequest(input);
    expect(path).toBe('/v1/completions');
    expect(body).toEqual({
      model: 'm',
      prompt: [1, 2],
      stream: true,
      max_tokens: 5,
      stream_options: { include_usage: true },
      return_token_ids: true,
      priority: 3,
      temperature: 0,
      seed: 7,
      top_k: 4,
      min_p: 0.1,
      repetition_penalty: 1.1,
    });
  });

  it('SGLang negates priority (higher first there)', () => {
    expect(get('sglang').completionRequest(input).body.priority).toBe(-3);
  });

  it('llama.cpp asks ids through logprobs, drops priority, spells repeat_penalty', () => {
    const { body } = get('llamacpp').completionRequest(input);
    expect(body.logprobs).toBe(1);
    expect(body).not.toHaveProperty('priority');
    expect(body).not.toHaveProperty('stream_options');
    expect(body.repeat_penalty).toBe(1.1);
    expect(body).not.toHaveProperty('repetition_penalty');
  });

  it('llama.cpp native uses /completion with n_predict', () => {
    const wire = get('llamacpp').completionRequest({
      ...input,
      request: { ...request, native: true, stop: 'x' },
    });
    expect(wire.path).toBe('/completion');
    expect(wire.body).toMatchObject({ prompt: [1, 2], n_predict: 5, stream: true, stop: ['x'], top_k: 4 });
  });

  it('OpenAI gets no top_k/min_p/repetition_penalty and no priority', () => {
    const { body } = get('openai').completionRequest(input);
    expect(body).toEqual({
      model: 'm',
      prompt: [1, 2],
      stream: true,
      max_tokens: 5,
      stream_options: { include_usage: true },
      temperature: 0,
      seed: 7,
    });
  });

  it.each(['openrouter', 'together', 'fireworks'] as const)('%s drops priority', (name) => {
    expect(get(name).completionRequest(input).body).not.toHaveProperty('priority');
  });

  it('vLLM chat continuation continues the assistant message', () => {
    const messages = [{ role: 'user', content: 'hi' }];
    const wire = get('vllm').chatRequest({ model: 'm', request: { messages }, continueAssistant: 'Hel' })!;
    expect(wire.body).toMatchObject({
      messages: [...messages, { role: 'assistant', content: 'Hel' }],
      continue_final_message: true,
      add_generation_prompt: false,
    });
    expect(
      get('openai').chatRequest({ model: 'm', request: { messages }, continueAssistant: 'Hel' }),
    ).toBeUndefined();
  });
});

describe('completion decoding', () => {
  it('vLLM: several ids per chunk, prompt ids, finish, usage chunk, [DONE]', () => {
    const calls = decodeCompletion('vllm', [
      data({
        choices: [{ index: 0, text: 'ab', token_ids: [5, 6], prompt_token_ids: [1, 2], finish_reason: null }],
      }),
      data({ choices: [{ index: 0, text: '', token_ids: [7], finish_reason: 'length' }] }),
      data({ choices: [], usage: { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 } }),
      data('[DONE]'),
    ]);
    expect(calls).toEqual([
      ['promptIds', [1, 2]],
      ['tokens', [5, 6], 'ab', undefined],
      ['tokens', [7], '', undefined],
      ['finish', 'length'],
      ['usage', { promptTokens: 2, completionTokens: 3, totalTokens: 5 }],
      ['end'],
    ]);
  });

  it('vLLM legacy "token_id:N" logprob tokens', () => {
    const calls = decodeCompletion('vllm', [
      data({
        choices: [
          { text: 'x', logprobs: { tokens: ['token_id:42'], token_logprobs: [-0.5] }, finish_reason: null },
        ],
      }),
    ]);
    expect(calls).toEqual([['tokens', [42], 'x', [-0.5]]]);
  });

  it('SGLang completions: ids live in choices[i].token_ids, prompt ids on the first chunk', () => {
    // serving_completions.py _generate_completion_stream (004c82e0): token_ids per chunk,
    // prompt_token_ids on each choice's first chunk, finish_reason and matched_stop on the last.
    const calls = decodeCompletion('sglang', [
      data({
        choices: [{ index: 0, text: 'h', token_ids: [5], prompt_token_ids: [1, 2], finish_reason: null }],
      }),
      data({ choices: [{ index: 0, text: 'i', token_ids: [6], finish_reason: 'stop', matched_stop: 2 }] }),
      data('[DONE]'),
    ]);
    expect(calls).toEqual([
      ['promptIds', [1, 2]],
      ['tokens', [5], 'h', undefined],
      ['tokens', [6], 'i', undefined],
      ['finish', 'stop'],
      ['end'],
    ]);
  });

  it('Together completions: choices[0].delta.token_id beside choices[0].text; null is a token without id', () => {
    expect(
      decodeCompletion('together', [
        data({ choices: [{ index: 0, text: 'a', delta: { token_id: 77 }, finish_reason: null }] }),
        data({ choices: [{ index: 0, text: 'b', delta: { token_id: null }, finish_reason: null }] }),
        data({ choices: [{ index: 0, text: '', delta: { token_id: 2 }, finish_reason: 'eos' }] }),
      ]),
    ).toEqual([
      ['tokens', [77], 'a', undefined],
      ['tokens', undefined, 'b', undefined],
      ['tokens', [2], '', undefined],
      ['finish', 'stop'],
    ]);
  });

  it('OpenAI: text only, ids undefined', () => {
    expect(decodeCompletion('openai', [data({ choices: [{ text: 'a', finish_reason: null }] })])).toEqual([
      ['tokens', undefined, 'a', undefined],
    ]);
  });

  it('llama.cpp native: tokens, server count, and a final stop event with usage', () => {
    const wire = { path: '/completion', body: {} };
    const calls = decodeCompletion(
      'llamacpp',
      [
        data({ index: 0, content: 'a', tokens: [5], stop: false, tokens_predicted: 1, tokens_evaluated: 3 }),
        data({
          index: 0,
          content: '',
          tokens: [],
          stop: true,
          stop_type: 'limit',
          tokens_predicted: 1,
          tokens_evaluated: 3,
        }),
      ],
      wire,
    );
    expect(calls).toEqual([
      ['tokens', [5], 'a', undefined],
      ['serverTokenCount', 1],
      ['serverTokenCount', 1],
      ['usage', { promptTokens: 3, completionTokens: 1, totalTokens: 4 }],
      ['finish', 'length'],
      ['end'],
    ]);
  });

  it.each([
    [
      'data: {"error": {...}}',
      data({ error: { message: 'boom', type: 'server_error', code: 500 } }),
      { message: 'boom', type: 'server_error', code: 500 },
    ],
    [
      'data: {"error": "text"}',
      data({ error: 'boom' }),
      { message: 'boom', code: undefined, type: undefined },
    ],
    [
      'error: field',
      { event: '', data: '', error: '{"code":500,"message":"boom","type":"server_error"}', id: undefined },
      { message: 'boom', code: 500, type: 'server_error' },
    ],
    [
      'error: field, not JSON',
      { event: '', data: '', error: 'plain words', id: undefined },
      { message: 'plain words' },
    ],
  ])('in-stream error %s', (_name, event, expected) => {
    const calls = decodeCompletion('vllm', [event as SseEvent]);
    expect(calls).toEqual([['error', expected]]);
  });

  it('invalid JSON is a parse error with the whole data (the stream scrubs secrets, then cuts the preview)', () => {
    const calls = decodeCompletion('vllm', [data(`{bad ${'x'.repeat(500)}`)]);
    expect(calls[0][0]).toBe('parseError');
    expect(calls[0][1]).toBe(`{bad ${'x'.repeat(500)}`);
  });
});

describe('chat decoding', () => {
  it('text, reasoning, tool-call fragments and vLLM ids', () => {
    const calls = decodeChat('vllm', [
      data({ choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] }),
      data({ choices: [{ index: 0, delta: { reasoning_content: 'think' }, finish_reason: null }] }),
      data({ choices: [{ index: 0, delta: { content: 'Hi' }, token_ids: [3], finish_reason: null }] }),
      data({
        choices: [
          {
            index: 0,
            delta: { tool_calls: [{ index: 0, id: 'c1', function: { name: 'f', arguments: '{"a"' } }] },
            finish_reason: null,
          },
        ],
      }),
      data({
        choices: [
          {
            index: 0,
            delta: { tool_calls: [{ index: 0, function: { arguments: ':1}' } }] },
            finish_reason: 'tool_calls',
          },
        ],
      }),
    ]);
    expect(calls).toEqual([
      ['reasoning', 'think'],
      ['tokens', [3], 'Hi', undefined],
      ['toolCall', { index: 0, id: 'c1', name: 'f', arguments: '{"a"' }],
      ['toolCall', { index: 0, id: undefined, name: undefined, arguments: ':1}' }],
      ['finish', 'tool_calls'],
    ]);
  });

  it('a reasoning-only delta carries its ids with the reasoning, not as empty text', () => {
    const calls = decodeChat('vllm', [
      data({
        choices: [{ index: 0, delta: { reasoning_content: 'hm' }, token_ids: [4, 5], finish_reason: null }],
      }),
      data({ choices: [{ index: 0, delta: { content: 'A' }, token_ids: [6], finish_reason: null }] }),
    ]);
    expect(calls).toEqual([
      ['reasoning', 'hm', [4, 5]],
      ['tokens', [6], 'A', undefined],
    ]);
  });

  it('OpenRouter reasoning field and Together delta.token_id', () => {
    expect(decodeChat('openrouter', [data({ choices: [{ delta: { reasoning: 'r' } }] })])).toEqual([
      ['reasoning', 'r'],
    ]);
    expect(decodeChat('together', [data({ choices: [{ delta: { content: 'x', token_id: 12 } }] })])).toEqual([
      ['tokens', [12], 'x', undefined],
    ]);
  });
});

describe('auto-detection', () => {
  it.each([
    [{ data: [{ id: 'm', owned_by: 'vllm' }] }, {}, 'vllm'],
    [{ data: [{ id: 'm', owned_by: 'sglang' }] }, {}, 'sglang'],
    [{ data: [{ id: 'm', owned_by: 'llamacpp' }] }, {}, 'llamacpp'],
    [{ data: [{ id: 'gpt', owned_by: 'system' }] }, {}, 'openai'],
    [{ data: [] }, { server: 'llama.cpp' }, 'llamacpp'],
    [{ data: [{ id: 'm', owned_by: 'someone', root: 'm', max_model_len: 4096 }] }, {}, 'vllm'],
    [{ data: [{ id: 'm', owned_by: 'someone' }] }, {}, undefined],
  ])('%o %o → %s', (models, headers, expected) => {
    expect(detectDialect(models, headers as Record<string, string>)).toBe(expected);
  });

  it('recognises hosted providers from the URL', () => {
    expect(dialectFromUrl('https://openrouter.ai/api')).toBe('openrouter');
    expect(dialectFromUrl('https://api.together.xyz')).toBe('together');
    expect(dialectFromUrl('https://api.fireworks.ai/inference')).toBe('fireworks');
    expect(dialectFromUrl('https://api.openai.com')).toBe('openai');
    expect(dialectFromUrl('http://127.0.0.1:8000')).toBeUndefined();
  });
});

describe('n > 1 (unsupported)', () => {
  it('reads only choice 0 and skips chunks of other choices', () => {
    const calls = decodeCompletion('vllm', [
      data({ choices: [{ index: 0, text: 'a', token_ids: [1], finish_reason: null }] }),
      data({ choices: [{ index: 1, text: 'X', token_ids: [9], finish_reason: null }] }),
      data({ choices: [{ index: 1, text: 'Y', token_ids: [8], finish_reason: 'length' }] }),
      data({ choices: [{ index: 0, text: 'b', token_ids: [2], finish_reason: 'length' }] }),
    ]);
    expect(calls).toEqual([
      ['tokens', [1], 'a', undefined],
      ['tokens', [2], 'b', undefined],
      ['finish', 'length'],
    ]);
  });
});
