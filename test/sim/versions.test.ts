/**
 * Named versions (issue 14): every row of the wire-facts table the simulator has
 * an encoder for is a `--dialect` / `x-sim-dialect` value, and each answers with
 * that row's refusals and wire facts.
 */
import { describe, expect, it } from 'vitest';
import { WIRE_FACTS, wireFactsByLabel } from '../../src/dialects/wire-facts.js';
import { generate, SIM_VERSIONS, SIM_WIRES, startSimulator } from '../../src/sim/index.js';
import { caught, testClient } from '../helpers/client.js';
import { dataJson, post } from './helpers.js';

const chat = (extra: Record<string, unknown> = {}) => ({
  messages: [{ role: 'user', content: 'hi' }],
  max_tokens: 4,
  ...extra,
});

describe('named versions', () => {
  it('every table row with a sim encoder is a dialect, by its label', () => {
    expect(SIM_VERSIONS).toEqual(WIRE_FACTS.map((row) => row.label));
    for (const label of [
      'vllm@0.11',
      'vllm@0.10.1',
      'sglang@0.5',
      'llamacpp@b4748',
      'llamacpp@2026',
      'together',
      'fireworks',
    ]) {
      expect(SIM_WIRES).toContain(label);
    }
  });

  it.each([
    ['vllm', 'vllm@0.11'],
    ['sglang', 'sglang@0.5'],
    ['llamacpp', 'llamacpp@2026'],
  ])('plain %s answers exactly as %s (ids, clocks and timings aside)', async (plain, label) => {
    const sim = await startSimulator({ dialect: plain });
    try {
      const bodies = [
        ['/v1/completions', { prompt: [1, 2], max_tokens: 3, stream: true, return_token_ids: true }],
        [
          '/v1/chat/completions',
          chat({ stream: true, sim_reasoning: 1, stream_options: { include_usage: true } }),
        ],
        ['/v1/chat/completions', chat({ stream: true, priority: 2 })],
        ['/v1/chat/completions', chat({ stream: true, return_token_ids: true })],
      ] as const;
      for (const [path, body] of bodies) {
        const same = (text: string) => text.replace(/"(id|created)":("[^"]*"|\d+)|"timings":\{[^}]*\}/g, '');
        const asPlain = await post(sim.url, path, body);
        const asLabel = await post(sim.url, path, body, { 'x-sim-dialect': label });
        expect(asPlain.status, `${path} ${JSON.stringify(body)}`).toBe(asLabel.status);
        expect(same(asPlain.text), `${path} ${JSON.stringify(body)}`).toBe(same(asLabel.text));
      }
      const versionPath = wireFactsByLabel(label)!.detection.path!;
      const version = await post(sim.url, versionPath, undefined, {}, 'GET');
      expect(version.status).toBe(200);
      // The version endpoint names the row's version (llama.cpp: the recorded build), plain or named.
      const named = await post(sim.url, versionPath, undefined, { 'x-sim-dialect': label }, 'GET');
      expect(version.text).toBe(named.text);
    } finally {
      await sim.close();
    }
  });

  it('startSimulator and x-sim-dialect take a label; the report says which; an unknown one is refused', async () => {
    await expect(startSimulator({ dialect: 'vllm@9' })).rejects.toThrow(
      /unknown dialect 'vllm@9'.*llamacpp@2026/,
    );
    const sim = await startSimulator({ dialect: 'llamacpp@2026' });
    try {
      await post(sim.url, '/v1/completions', { prompt: [1], max_tokens: 1 });
      await post(
        sim.url,
        '/v1/completions',
        { prompt: [1], max_tokens: 1 },
        { 'x-sim-dialect': 'sglang@0.5' },
      );
      const bad = await post(sim.url, '/v1/completions', { prompt: [1] }, { 'x-sim-dialect': 'sglang@0.1' });
      expect(bad.status).toBe(400);
      expect(bad.text).toContain("unknown dialect 'sglang@0.1'");
      const requests = sim.report().requests;
      expect(requests.map((r) => [r.dialect, r.version])).toEqual([
        ['llamacpp', 'llamacpp@2026'],
        ['sglang', 'sglang@0.5'],
        ['vllm', 'sglang@0.1'],
      ]);
      const props = JSON.parse((await post(sim.url, '/props', undefined, {}, 'GET')).text);
      expect(props.build_info).toBe('b10587-3f545becc');
    } finally {
      await sim.close();
    }
  });
});

describe('refusals, from the rows', () => {
  it('sglang@0.5: return_token_ids on a streamed chat is the 400 SGLang sends; not streamed it is served; plain sglang is sglang@0.5 and refuses it too', async () => {
    const sim = await startSimulator({ dialect: 'sglang@0.5' });
    try {
      const refused = await post(
        sim.url,
        '/v1/chat/completions',
        chat({ stream: true, return_token_ids: true }),
      );
      expect(refused.status).toBe(400);
      expect(JSON.parse(refused.text)).toEqual({
        object: 'error',
        message:
          'return_token_ids is not supported with streaming on /v1/chat/completions. Please set stream=false when using return_token_ids=true.',
        type: 'BadRequestError',
        param: null,
        code: 400,
      });
      expect((await post(sim.url, '/v1/chat/completions', chat({ return_token_ids: true }))).status).toBe(
        200,
      );
      const completions = await post(sim.url, '/v1/completions', {
        prompt: [1],
        max_tokens: 2,
        stream: true,
        return_token_ids: true,
      });
      expect(completions.status).toBe(200);
      const plain = await post(
        sim.url,
        '/v1/chat/completions',
        chat({ stream: true, return_token_ids: true }),
        {
          'x-sim-dialect': 'sglang',
        },
      );
      expect(plain.status).toBe(400);
      expect(plain.text).toBe(refused.text);
    } finally {
      await sim.close();
    }
  });

  it('vllm@0.11: a non-zero priority is a 400 naming the value, unless priority scheduling is on; 0 is served', async () => {
    const sim = await startSimulator({ dialect: 'vllm@0.11' });
    const scheduling = await startSimulator({ dialect: 'vllm@0.11', priorityScheduling: true });
    try {
      for (const path of ['/v1/completions', '/v1/chat/completions']) {
        const body = path === '/v1/completions' ? { prompt: [1], max_tokens: 2 } : chat();
        const refused = await post(sim.url, path, { ...body, priority: -5, stream: true });
        expect(refused.status).toBe(400);
        expect(JSON.parse(refused.text).error).toEqual({
          message: 'Got priority -5 but Priority scheduling is not enabled.',
          type: 'BadRequestError',
          param: null,
          code: 400,
        });
        expect((await post(sim.url, path, { ...body, priority: 0 })).status).toBe(200);
        expect((await post(scheduling.url, path, { ...body, priority: -5 })).status).toBe(200);
      }
    } finally {
      await sim.close();
      await scheduling.close();
    }
  });
});

describe('in-stream errors as the rows write them', () => {
  it.each([
    ['vllm@0.11', { message: 'M', type: 'InternalServerError', param: null, code: 500 }],
    ['sglang@0.5', { object: 'error', message: 'M', type: 'SERVICE_UNAVAILABLE', param: null, code: 503 }],
  ])('%s', async (label, expected) => {
    const sim = await startSimulator({ dialect: label });
    try {
      const res = await post(
        sim.url,
        '/v1/completions',
        { prompt: [1], max_tokens: 4, stream: true },
        {
          'x-sim-fault': 'error-after:2',
        },
      );
      const errorBlock = res.text.split('\n\n').find((block) => block.includes('"error"'))!;
      const { error } = JSON.parse(errorBlock.slice('data: '.length));
      expect({ ...error, message: 'M' }).toEqual(expected);
      expect(error.message).toContain('simulated failure after 2 tokens');
      expect(res.text.endsWith('data: [DONE]\n\n')).toBe(true);
      // A tokenwire client reports it as the server's error, with the tokens before it.
      const { client } = testClient(sim.url, {
        dialect: label.split('@')[0] as 'vllm' | 'sglang',
        headers: { 'x-sim-fault': 'error-after:2' },
      });
      try {
        const failure = await caught(() => client.streamCompletion({ prompt: [1], maxTokens: 4 }).final());
        expect(failure.code).toBe('server_error');
        expect(failure.message).toContain('simulated failure after 2 tokens');
        expect(failure.partial).toHaveLength(2);
      } finally {
        await client.close();
      }
    } finally {
      await sim.close();
    }
  });
});

describe('fireworks', () => {
  it('a tokenwire client gets every id live, and usage from the server', async () => {
    const sim = await startSimulator({ dialect: 'fireworks' });
    const { client } = testClient(sim.url, { dialect: 'fireworks' });
    try {
      const result = await client.streamCompletion({ prompt: [1, 2, 3], maxTokens: 5 }).final();
      expect(result.tokens.map((token) => token.id)).toEqual(generate([1, 2, 3], 5));
      expect(result.stats.idsIncomplete ?? false).toBe(false);
      expect(result.usage).toMatchObject({ promptTokens: 3, completionTokens: 5, computed: false });
      const chat = await client
        .streamChat({ messages: [{ role: 'user', content: 'hi' }], maxTokens: 4 })
        .final();
      expect(chat.tokenIds).toHaveLength(4);
      expect(sim.report().requests.map((r) => r.version)).toEqual(['fireworks', 'fireworks']);
    } finally {
      await client.close();
      await sim.close();
    }
  });
});

describe('vLLM versions', () => {
  it('vllm@0.11 sends reasoning in delta.reasoning; vllm@0.10.1 in reasoning_content and ignores return_token_ids', async () => {
    const sim = await startSimulator({ dialect: 'vllm@0.11' });
    try {
      const ask = chat({ stream: true, return_token_ids: true, sim_reasoning: 2 });
      const current = dataJson((await post(sim.url, '/v1/chat/completions', ask)).text);
      expect(Object.keys(current[1].choices[0].delta)).toEqual(['reasoning']);
      expect(current[0].prompt_token_ids).toBeInstanceOf(Array);
      expect(current[1].choices[0].token_ids).toHaveLength(1);
      const legacy = dataJson(
        (await post(sim.url, '/v1/chat/completions', ask, { 'x-sim-dialect': 'vllm@0.10.1' })).text,
      );
      expect(Object.keys(legacy[1].choices[0].delta)).toEqual(['reasoning_content']);
      expect(JSON.stringify(legacy)).not.toContain('token_ids');
      // Its way to ids: logprob tokens spelled token_id:N.
      const spelled = dataJson(
        (
          await post(
            sim.url,
            '/v1/completions',
            { prompt: [1, 2, 3], max_tokens: 3, stream: true, logprobs: 1, return_tokens_as_token_ids: true },
            { 'x-sim-dialect': 'vllm@0.10.1' },
          )
        ).text,
      );
      expect(spelled.flatMap((e) => e.choices[0]?.logprobs?.tokens ?? [])).toEqual(
        generate([1, 2, 3], 3).map((id) => `token_id:${id}`),
      );
    } finally {
      await sim.close();
    }
  });
});

describe('llamacpp@2026 wire facts beyond the recordings’ structure', () => {
  it('chat usage only with include_usage; an in-stream error is data: {"error"} with no [DONE]', async () => {
    const sim = await startSimulator({ dialect: 'llamacpp@2026' });
    try {
      const plain = dataJson((await post(sim.url, '/v1/chat/completions', chat({ stream: true }))).text);
      expect(plain[0].choices[0].delta).toEqual({ role: 'assistant', content: null });
      expect(plain.some((event) => 'usage' in event)).toBe(false);
      const withUsage = dataJson(
        (
          await post(
            sim.url,
            '/v1/chat/completions',
            chat({ stream: true, stream_options: { include_usage: true } }),
          )
        ).text,
      );
      expect(withUsage.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: 4 } });
      const failed = await post(
        sim.url,
        '/v1/completions',
        { prompt: [1], max_tokens: 8, stream: true },
        {
          'x-sim-fault': 'error-after:2',
        },
      );
      expect(
        failed.text.endsWith(
          'data: {"error":{"code":500,"message":"simulated failure after 2 tokens (sim fault error-after)","type":"server_error"}}\n\n',
        ),
      ).toBe(true);
      expect(failed.text).not.toContain('[DONE]');
    } finally {
      await sim.close();
    }
  });
});
