/**
 * Wire shapes per dialect over real sockets: llama.cpp b4748 against the recorded
 * bytes in test/fixtures/llamacpp (llamacpp-2026's are checked in recorded-compare), the others against PROTOCOLS.md field names.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate, type Simulator, startSimulator } from '../../src/sim/index.js';
import { VOCAB } from '../../src/sim/vocab.js';
import { blocks, dataJson, post } from './helpers.js';

const FIXTURES = new URL('../fixtures/llamacpp/', import.meta.url);
const fixture = (name: string): string => readFileSync(new URL(name, FIXTURES), 'utf8');

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ seed: 3 });
});
afterAll(async () => {
  await sim.close();
});

const as = (dialect: string, extra: Record<string, string> = {}) => ({ 'x-sim-dialect': dialect, ...extra });

/** A prompt whose greedy output has a first-half UTF-8 piece at index 1..5 (seed 3). */
function splitPrompt(): { prompt: number[]; index: number; ids: number[] } {
  for (let p = 3; p < 5000; p++) {
    const ids = generate([1, p], 8, { seed: 3 });
    const index = ids.findIndex((id) => VOCAB.completion.has(id));
    if (index >= 1 && index <= 5) return { prompt: [1, p], index, ids };
  }
  throw new Error('no prompt found');
}

describe('llama.cpp b4748 (named: plain llamacpp is 2026) vs the recorded llama-server bytes', () => {
  it('native /completion: same event fields and order, final stop event, no [DONE]', async () => {
    const res = await post(
      sim.url,
      '/completion',
      { prompt: [1, 2, 3], n_predict: 8, stream: true },
      as('llamacpp@b4748'),
    );
    const recorded = dataJson(fixture('native-completion.sse'));
    const events = dataJson(res.text);
    expect(res.headers['content-type']).toBe('text/event-stream');
    expect(res.headers.server).toBe('llama.cpp');
    expect(res.text).not.toContain('[DONE]');
    expect(blocks(res.text).every((block) => block.startsWith('data: {'))).toBe(true);
    expect(events).toHaveLength(recorded.length);
    expect(Object.keys(events[0])).toEqual(Object.keys(recorded[0]));
    expect(Object.keys(events.at(-1)!)).toEqual(Object.keys(recorded.at(-1)!));
    expect(Object.keys(events.at(-1)!.timings)).toEqual(Object.keys(recorded.at(-1)!.timings));
    expect(events.slice(0, 8).map((e) => e.tokens[0])).toEqual(generate([1, 2, 3], 8, { seed: 3 }));
    expect(events.slice(0, 8).map((e) => e.tokens_predicted)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(events.at(-1)).toMatchObject({
      content: '',
      tokens: [],
      stop: true,
      stop_type: 'limit',
      tokens_predicted: 8,
    });
  });

  it('/v1/completions with logprobs: chat-style logprobs.content, final chunk with usage and timings, then [DONE]', async () => {
    const res = await post(
      sim.url,
      '/v1/completions',
      {
        prompt: [1, 2, 3],
        max_tokens: 8,
        stream: true,
        logprobs: 1,
        stream_options: { include_usage: true },
      },
      as('llamacpp@b4748'),
    );
    const recorded = dataJson(fixture('v1-completions-logprobs.sse'));
    const events = dataJson(res.text);
    expect(res.text.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(Object.keys(events[0])).toEqual(Object.keys(recorded[0]));
    expect(Object.keys(events[0].choices[0])).toEqual(Object.keys(recorded[0].choices[0]));
    expect(Object.keys(events[0].choices[0].logprobs.content[0])).toEqual(
      Object.keys(recorded[0].choices[0].logprobs.content[0]),
    );
    expect(events[0].id).toMatch(/^chatcmpl-/);
    const last = events.at(-1)!;
    expect(Object.keys(last)).toEqual(Object.keys(recorded.at(-1)!));
    expect(last.choices[0]).toEqual({ text: '', index: 0, logprobs: null, finish_reason: 'length' });
    expect(last.usage).toEqual({ completion_tokens: 8, prompt_tokens: 3, total_tokens: 11 });
    // stream_options is ignored: no separate choices:[] usage chunk.
    expect(events.filter((e) => e.choices.length === 0)).toHaveLength(0);
  });

  it('chat stream: no role chunk, delta.content first, final delta {} with usage and timings', async () => {
    const res = await post(
      sim.url,
      '/v1/chat/completions',
      { messages: [{ role: 'user', content: 'Hello world' }], max_tokens: 8, stream: true },
      as('llamacpp@b4748'),
    );
    const recorded = dataJson(fixture('v1-chat-stream.sse'));
    const events = dataJson(res.text);
    expect(Object.keys(events[0])).toEqual(Object.keys(recorded[0]));
    expect(Object.keys(events[0].choices[0])).toEqual(Object.keys(recorded[0].choices[0]));
    expect(Object.keys(events[0].choices[0].delta)).toEqual(['content']);
    expect(Object.keys(events.at(-1)!)).toEqual(Object.keys(recorded.at(-1)!));
    expect(events.at(-1)!.choices[0].delta).toEqual({});
  });

  it('a token that leaves an incomplete UTF-8 character gets no event; the next carries the combined text', async () => {
    const { prompt, index, ids } = splitPrompt();
    const res = await post(
      sim.url,
      '/completion',
      { prompt, n_predict: 8, stream: true },
      as('llamacpp@b4748'),
    );
    const events = dataJson(res.text).filter((e) => !e.stop);
    expect(events).toHaveLength(7);
    const sentIds = events.map((e) => e.tokens[0]);
    expect(sentIds).toEqual(ids.filter((_, i) => i !== index));
    const next = events[index];
    expect(next.tokens_predicted).toBe(index + 2); // skips a number, like the recording
    const combined = Buffer.concat([VOCAB.bytes[ids[index]], VOCAB.bytes[ids[index + 1]]]).toString('utf8');
    expect(next.content).toBe(combined);
    expect(dataJson(res.text).at(-1)!.tokens_predicted).toBe(8);
  });

  it('in-stream error is the non-standard `error:` line; [DONE] after it on /v1 only', async () => {
    const v1 = await post(
      sim.url,
      '/v1/completions',
      { prompt: [1, 2, 3], max_tokens: 8, stream: true },
      as('llamacpp@b4748', { 'x-sim-fault': 'error-after:2' }),
    );
    const native = await post(
      sim.url,
      '/completion',
      { prompt: [1, 2, 3], n_predict: 8, stream: true },
      as('llamacpp@b4748', { 'x-sim-fault': 'error-after:2' }),
    );
    const v1Blocks = blocks(v1.text);
    expect(v1Blocks.slice(-2)[0]).toMatch(/^error: \{"code":500,"message":".*","type":"server_error"\}$/);
    expect(v1Blocks.at(-1)).toBe('data: [DONE]');
    expect(blocks(native.text).at(-1)).toMatch(/^error: \{"code":500,/);
    expect(blocks(native.text)).toHaveLength(3);
  });

  it('HTTP errors, tokenize/detokenize, models, health, props in llama.cpp shapes', async () => {
    const missing = await post(sim.url, '/v1/completions', { max_tokens: 1 }, as('llamacpp@b4748'));
    expect(missing.status).toBe(500);
    expect(JSON.parse(missing.text)).toEqual({
      error: { code: 500, message: '"prompt" is required', type: 'server_error' },
    });
    const notFound = await post(sim.url, '/nope', {}, as('llamacpp@b4748'));
    expect(JSON.parse(notFound.text)).toEqual(JSON.parse(fixture('error-http-404.txt').split('\r\n\r\n')[1]));
    const tok = JSON.parse(
      (await post(sim.url, '/tokenize', { content: ' café 語' }, as('llamacpp@b4748'))).text,
    );
    expect(Object.keys(tok)).toEqual(['tokens']);
    const detok = JSON.parse(
      (await post(sim.url, '/detokenize', { tokens: [1, ...tok.tokens] }, as('llamacpp@b4748'))).text,
    );
    expect(detok).toEqual({ content: '<s> café 語' });
    const pieces = JSON.parse(
      (await post(sim.url, '/tokenize', { content: '\u00ff', with_pieces: true }, as('llamacpp@b4748'))).text,
    );
    expect(pieces.tokens[0]).toEqual({ id: 3 + 0xc3, piece: [0xc3] });
    const models = JSON.parse(
      (await post(sim.url, '/v1/models', undefined, as('llamacpp@b4748'), 'GET')).text,
    );
    expect(models.data[0].owned_by).toBe('llamacpp');
    expect(JSON.parse((await post(sim.url, '/health', undefined, as('llamacpp@b4748'), 'GET')).text)).toEqual(
      {
        status: 'ok',
      },
    );
    expect((await post(sim.url, '/props', undefined, as('llamacpp@b4748'), 'GET')).status).toBe(200);
    // String prompts get BOS on llama.cpp only.
    const str = dataJson(
      (
        await post(
          sim.url,
          '/v1/completions',
          { prompt: 'hi', max_tokens: 1, stream: true },
          as('llamacpp@b4748'),
        )
      ).text,
    );
    expect(str.at(-1)!.usage.prompt_tokens).toBe(2);
  });
});

describe('vLLM dialect', () => {
  it('completions with return_token_ids: token_ids per chunk, prompt_token_ids on the first only, finish on the last token, usage chunk, [DONE]', async () => {
    const res = await post(sim.url, '/v1/completions', {
      prompt: [1, 2, 3],
      max_tokens: 5,
      stream: true,
      return_token_ids: true,
      stream_options: { include_usage: true },
    });
    const events = dataJson(res.text);
    expect(res.text.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(Object.keys(events[0])).toEqual(['id', 'object', 'created', 'model', 'choices']);
    expect(events[0].id).toMatch(/^cmpl-/);
    expect(events[0].object).toBe('text_completion');
    expect(Object.keys(events[0].choices[0])).toEqual([
      'index',
      'text',
      'logprobs',
      'finish_reason',
      'stop_reason',
      'prompt_token_ids',
      'token_ids',
    ]);
    expect(events[0].choices[0].prompt_token_ids).toEqual([1, 2, 3]);
    expect(events[1].choices[0].prompt_token_ids).toBeUndefined();
    expect(events.slice(0, 5).flatMap((e) => e.choices[0].token_ids)).toEqual(
      generate([1, 2, 3], 5, { seed: 3 }),
    );
    expect(events[4].choices[0].finish_reason).toBe('length');
    expect(events[5]).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 },
    });
  });

  it('holds back the bytes of a split UTF-8 character: id with text "", bytes with the next token', async () => {
    const { prompt, index, ids } = splitPrompt();
    const events = dataJson(
      (
        await post(sim.url, '/v1/completions', {
          prompt,
          max_tokens: 8,
          stream: true,
          return_token_ids: true,
        })
      ).text,
    );
    expect(events[index].choices[0].token_ids).toEqual([ids[index]]);
    expect(events[index].choices[0].text).toBe('');
    expect(events[index + 1].choices[0].text).not.toContain('\uFFFD');
  });

  it('several ids per chunk with idsPerChunk', async () => {
    const multi = await startSimulator({ idsPerChunk: 3, seed: 3 });
    try {
      const events = dataJson(
        (
          await post(multi.url, '/v1/completions', {
            prompt: [1, 2, 3],
            max_tokens: 7,
            stream: true,
            return_token_ids: true,
          })
        ).text,
      );
      expect(events.map((e) => e.choices[0].token_ids.length)).toEqual([3, 3, 1]);
    } finally {
      await multi.close();
    }
  });

  it('legacy logprobs, spelled token_id:N with return_tokens_as_token_ids', async () => {
    const events = dataJson(
      (
        await post(sim.url, '/v1/completions', {
          prompt: [1, 2, 3],
          max_tokens: 2,
          stream: true,
          logprobs: 2,
          return_tokens_as_token_ids: true,
        })
      ).text,
    );
    const lp = events[0].choices[0].logprobs;
    expect(Object.keys(lp).sort()).toEqual(['text_offset', 'token_logprobs', 'tokens', 'top_logprobs']);
    expect(lp.tokens[0]).toBe(`token_id:${generate([1, 2, 3], 1, { seed: 3 })[0]}`);
    expect(Object.keys(lp.top_logprobs[0])).toHaveLength(2);
  });

  it('chat: role chunk first, content deltas, token_ids, reasoning (plain vllm is vllm@0.11), tool calls split inside escapes', async () => {
    const plain = dataJson(
      (
        await post(sim.url, '/v1/chat/completions', {
          messages: [{ role: 'user', content: 'hi' }],
          max_tokens: 4,
          stream: true,
          return_token_ids: true,
          sim_reasoning: 2,
        })
      ).text,
    );
    expect(plain[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
    expect(plain[0].prompt_token_ids).toBeInstanceOf(Array);
    expect(Object.keys(plain[1].choices[0].delta)).toEqual(['reasoning']);
    expect(Object.keys(plain[3].choices[0].delta)).toEqual(['content']);
    expect(plain[1].choices[0].token_ids).toHaveLength(1);
    const tools = dataJson(
      (
        await post(sim.url, '/v1/chat/completions', {
          messages: [{ role: 'user', content: 'hi' }],
          // The whole call is more than the default 16 tokens, and max_tokens bounds it.
          max_tokens: 200,
          stream: true,
          tools: [{ type: 'function', function: { name: 'search', parameters: {} } }],
        })
      ).text,
    );
    const header = tools[1].choices[0].delta.tool_calls[0];
    expect(header).toMatchObject({ index: 0, type: 'function', function: { name: 'search', arguments: '' } });
    expect(header.id).toMatch(/^call_/);
    const fragments = tools
      .slice(2)
      .map((e) => e.choices[0].delta.tool_calls[0].function.arguments as string);
    // The \u00e9 escape and an escaped quote are each cut across two fragments.
    expect(fragments.join('')).toContain('\\u00e9');
    expect(fragments.some((f) => f.includes('\\u00e9'))).toBe(false);
    expect(fragments.some((f, i) => f.endsWith('\\') && fragments[i + 1]?.startsWith('"'))).toBe(true);
    expect(JSON.parse(fragments.join(''))).toEqual({ query: 'café "語" 🙂', path: 'C:\\tmp', limit: 3 });
    expect(tools.at(-1)!.choices[0].finish_reason).toBe('tool_calls');
  });

  it('non-streaming bodies, errors, tokenize, models', async () => {
    const body = JSON.parse(
      (await post(sim.url, '/v1/completions', { prompt: [1, 2, 3], max_tokens: 4, return_token_ids: true }))
        .text,
    );
    expect(body.choices[0]).toMatchObject({
      finish_reason: 'length',
      token_ids: generate([1, 2, 3], 4, { seed: 3 }),
    });
    expect(body.usage).toEqual({ prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 });
    const unauthorized = await post(
      sim.url,
      '/v1/completions',
      { prompt: [1] },
      { 'x-sim-fault': 'status:401' },
    );
    expect(JSON.parse(unauthorized.text)).toEqual({ error: 'Unauthorized' });
    const bad = await post(sim.url, '/v1/completions', { prompt: [1] }, { 'x-sim-fault': 'status:400' });
    expect(Object.keys(JSON.parse(bad.text).error)).toEqual(['message', 'type', 'param', 'code']);
    const inStream = dataJson(
      (
        await post(
          sim.url,
          '/v1/completions',
          { prompt: [1], max_tokens: 5, stream: true },
          { 'x-sim-fault': 'error-after:1' },
        )
      ).text,
    );
    // vllm@0.11's ErrorResponse, as its row's example (create_streaming_error_response).
    expect(Object.keys(inStream.at(-1)!.error)).toEqual(['message', 'type', 'param', 'code']);
    const tok = JSON.parse((await post(sim.url, '/tokenize', { model: 'sim-model', prompt: 'hello' })).text);
    expect(Object.keys(tok)).toEqual(['count', 'max_model_len', 'tokens']);
    expect(
      JSON.parse((await post(sim.url, '/detokenize', { model: 'sim-model', tokens: tok.tokens })).text),
    ).toEqual({ prompt: 'hello' });
    const models = JSON.parse((await post(sim.url, '/v1/models', undefined, {}, 'GET')).text);
    expect(models.data[0].owned_by).toBe('vllm');
  });
});

describe('SGLang, OpenAI, OpenRouter, Together', () => {
  it('SGLang: completion ids live, chat ids at the end in sglext (output_ids per choice, input_ids flat), flat errors', async () => {
    const ids = generate([1, 2, 3], 4, { seed: 3 });
    const res = await post(
      sim.url,
      '/v1/completions',
      { prompt: [1, 2, 3], max_tokens: 4, stream: true, return_token_ids: true },
      as('sglang'),
    );
    const events = dataJson(res.text).filter((e) => e.choices.length > 0);
    expect(events.flatMap((e) => e.choices[0].token_ids ?? [])).toEqual(ids);
    expect(events[0].choices[0].prompt_token_ids).toEqual([1, 2, 3]);
    const chat = dataJson(
      (
        await post(
          sim.url,
          '/v1/chat/completions',
          {
            messages: [{ role: 'user', content: 'hi' }],
            max_tokens: 4,
            stream: true,
            return_output_ids_in_sglext: true,
            return_input_ids_in_sglext: true,
          },
          as('sglang'),
        )
      ).text,
    );
    expect(chat.filter((e) => e.choices.length > 0).every((e) => e.choices[0].token_ids === undefined)).toBe(
      true,
    );
    const ext = chat.find((e) => e.sglext);
    expect(ext).toMatchObject({ choices: [], sglext: { output_ids: [expect.any(Array)] } });
    expect(ext?.sglext.output_ids[0]).toHaveLength(4);
    expect(typeof ext?.sglext.input_ids[0]).toBe('number');
    const error = JSON.parse(
      (await post(sim.url, '/v1/completions', { prompt: [1] }, as('sglang', { 'x-sim-fault': 'status:503' })))
        .text,
    );
    expect(Object.keys(error)).toEqual(['object', 'message', 'type', 'param', 'code']);
    expect(
      JSON.parse((await post(sim.url, '/v1/detokenize', { tokens: [300] }, as('sglang'))).text),
    ).toHaveProperty('text');
  });

  it('OpenAI: text only, refusal in the role chunk, usage chunk, x-request-id and rate-limit headers, no /tokenize', async () => {
    const res = await post(
      sim.url,
      '/v1/chat/completions',
      {
        messages: [{ role: 'user', content: 'hi' }],
        max_tokens: 3,
        stream: true,
        return_token_ids: true,
        stream_options: { include_usage: true },
      },
      as('openai'),
    );
    const events = dataJson(res.text);
    expect(res.text).not.toContain('token_id');
    expect(events[0].choices[0].delta).toEqual({ role: 'assistant', content: '', refusal: null });
    expect(events.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: 3 } });
    expect(res.headers['x-request-id']).toBeDefined();
    expect(res.headers['x-ratelimit-remaining-requests']).toBeDefined();
    expect((await post(sim.url, '/tokenize', { prompt: 'x' }, as('openai'))).status).toBe(404);
  });

  it('OpenRouter: processing comments first, reasoning, usage on the last chunk, error chunk with finish_reason "error"', async () => {
    const res = await post(
      sim.url,
      '/v1/chat/completions',
      { messages: [{ role: 'user', content: 'hi' }], max_tokens: 3, stream: true, sim_reasoning: 1 },
      as('openrouter'),
    );
    expect(res.text.startsWith(': OPENROUTER PROCESSING\n\n')).toBe(true);
    const events = dataJson(res.text);
    expect(events[0].choices[0].delta.reasoning).toBeTypeOf('string');
    expect(events.at(-1)!.usage).toMatchObject({ completion_tokens: 3 });
    const failed = dataJson(
      (
        await post(
          sim.url,
          '/v1/chat/completions',
          { messages: [{ role: 'user', content: 'hi' }], max_tokens: 3, stream: true },
          as('openrouter', { 'x-sim-fault': 'error-after:1' }),
        )
      ).text,
    );
    expect(failed.at(-1)).toMatchObject({ error: { code: 502 }, choices: [{ finish_reason: 'error' }] });
  });

  it('Together: one id per chunk in choices[0].delta.token_id, usage on the final chunk', async () => {
    const completions = dataJson(
      (
        await post(
          sim.url,
          '/v1/completions',
          { prompt: [1, 2, 3], max_tokens: 3, stream: true },
          as('together'),
        )
      ).text,
    );
    expect(completions.map((e) => e.choices[0].delta.token_id)).toEqual(generate([1, 2, 3], 3, { seed: 3 }));
    expect(completions.at(-1)).toMatchObject({
      choices: [{ finish_reason: 'length' }],
      usage: { completion_tokens: 3 },
    });
    const chat = dataJson(
      (
        await post(
          sim.url,
          '/v1/chat/completions',
          { messages: [{ role: 'user', content: 'hi' }], max_tokens: 2, stream: true },
          as('together'),
        )
      ).text,
    );
    expect(chat.every((e) => typeof e.choices[0].delta.token_id === 'number')).toBe(true);
  });
});
