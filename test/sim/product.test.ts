/**
 * The simulator as a product (issue 13): a response is streamed as it is
 * generated, max_tokens past the model length is vLLM's 400, tool calls obey
 * max_tokens, faults reach non-streaming answers and tokenize, an unknown model
 * is vLLM's 404, and the report is served as JSON.
 */
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { startSimulator } from '../../src/sim/index.js';
import { dataJson, post } from './helpers.js';

const MIB = 1024 * 1024;

/** Reads `events` SSE data events of a stream, then closes it; resolves with the heap growth seen by then. */
function readSomeEvents(
  url: string,
  body: unknown,
  events: number,
): Promise<{ seen: number; heapGrowth: number }> {
  const before = process.memoryUsage().heapUsed;
  return new Promise((resolve, reject) => {
    const req = request(`${url}/v1/completions`, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/json' },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      let seen = 0;
      let peak = 0;
      res.on('data', (chunk: Buffer) => {
        seen += chunk.toString('utf8').split('data: ').length - 1;
        peak = Math.max(peak, process.memoryUsage().heapUsed - before);
        if (seen >= events) {
          res.destroy();
          resolve({ seen, heapGrowth: peak });
        }
      });
      res.on('end', () => resolve({ seen, heapGrowth: peak }));
    });
    req.end(JSON.stringify(body));
  });
}

describe('a response is streamed as it is generated', () => {
  it('max_tokens: 100000000 on vLLM is the 400 vLLM sends (OpenAIServing._validate_input), at once', async () => {
    const sim = await startSimulator({ dialect: 'vllm' });
    try {
      for (const key of ['max_tokens', 'max_completion_tokens']) {
        const path = key === 'max_tokens' ? '/v1/completions' : '/v1/chat/completions';
        const body =
          key === 'max_tokens'
            ? { prompt: [1, 2, 3], max_tokens: 100_000_000, stream: true }
            : {
                messages: [{ role: 'user', content: 'hi' }],
                max_completion_tokens: 100_000_000,
                stream: true,
              };
        const res = await post(sim.url, path, body);
        expect(res.status).toBe(400);
        const error = JSON.parse(res.text).error;
        const promptTokens = /your request has (\d+) input tokens/.exec(error.message)?.[1];
        expect(error).toEqual({
          message: `'max_tokens' or 'max_completion_tokens' is too large: 100000000. This model's maximum context length is 1048576 tokens and your request has ${promptTokens} input tokens (100000000 > 1048576 - ${promptTokens}). (parameter=max_tokens, value=100000000)`,
          type: 'BadRequestError',
          param: 'max_tokens',
          code: 400,
        });
      }
    } finally {
      await sim.close();
    }
  });

  it('the model length is an option: prompt + max_tokens = length is served, one more is refused', async () => {
    const sim = await startSimulator({ dialect: 'vllm', maxModelLen: 10 });
    try {
      const ok = await post(sim.url, '/v1/completions', { prompt: [1, 2, 3], max_tokens: 7, stream: true });
      expect(ok.status).toBe(200);
      expect(dataJson(ok.text).at(-1)!.choices[0].finish_reason).toBe('length');
      const over = await post(sim.url, '/v1/completions', { prompt: [1, 2, 3], max_tokens: 8 });
      expect(over.status).toBe(400);
      expect(JSON.parse(over.text).error.message).toContain('(8 > 10 - 3)');
      // A prompt that fills the context leaves no room at all (vLLM: input_tokens).
      const full = await post(sim.url, '/v1/completions', {
        prompt: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        max_tokens: 1,
      });
      expect(full.status).toBe(400);
      expect(JSON.parse(full.text).error).toMatchObject({
        message:
          "This model's maximum context length is 10 tokens. However, your request has 10 input tokens. Please reduce the length of the input messages. (parameter=input_tokens, value=10)",
        param: 'input_tokens',
        code: 400,
      });
    } finally {
      await sim.close();
    }
  });

  it('servers that do not refuse (llama.cpp) stop at the end of the context with finish_reason length', async () => {
    const sim = await startSimulator({ dialect: 'llamacpp', maxModelLen: 12 });
    try {
      const res = await post(sim.url, '/v1/completions', {
        prompt: [1, 2, 3],
        max_tokens: 100_000_000,
        stream: true,
      });
      expect(res.status).toBe(200);
      const events = dataJson(res.text);
      const final = events.at(-1)!;
      expect(final.choices[0].finish_reason).toBe('length');
      expect(final.usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 9 });
    } finally {
      await sim.close();
    }
  });

  it('memory stays bounded by what is in flight: a 1,000,000-token stream starts without building it', async () => {
    const sim = await startSimulator({ dialect: 'llamacpp' });
    try {
      const { seen, heapGrowth } = await readSomeEvents(
        sim.url,
        { prompt: [1, 2, 3], max_tokens: 1_000_000, stream: true },
        50,
      );
      expect(seen).toBeGreaterThanOrEqual(50);
      // Building the million steps first took hundreds of MiB before the first byte.
      expect(heapGrowth).toBeLessThan(48 * MIB);
      // The simulator sees the close when its socket reports it: poll (bounded) rather than
      // sleep a fixed 20 ms, which a loaded machine overran.
      const deadline = Date.now() + 5_000;
      while (sim.report().requests[0]?.outcome !== 'client-closed' && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const [record] = sim.report().requests;
      expect(record.outcome).toBe('client-closed');
      expect(record.tokensSent).toBeLessThan(1_000_000);
    } finally {
      await sim.close();
    }
  });
});

describe('tool calls obey max_tokens', () => {
  const tools = [{ type: 'function', function: { name: 'search', parameters: { type: 'object' } } }];
  const ask = (max: number, stream: boolean) => ({
    messages: [{ role: 'user', content: 'find it' }],
    tools,
    max_tokens: max,
    stream,
    stream_options: stream ? { include_usage: true } : undefined,
    return_token_ids: true,
  });

  it('the whole call needs N ids: N is tool_calls, N-1 and 1 are length with exactly that many ids', async () => {
    const sim = await startSimulator({ dialect: 'vllm' });
    try {
      const full = dataJson((await post(sim.url, '/v1/chat/completions', ask(1000, true))).text);
      const ids = full.flatMap((e) => e.choices[0]?.token_ids ?? []);
      const n = ids.length;
      expect(n).toBeGreaterThan(3);
      expect(full.find((e) => e.choices[0]?.finish_reason)!.choices[0].finish_reason).toBe('tool_calls');
      for (const max of [n, n - 1, 1]) {
        const events = dataJson((await post(sim.url, '/v1/chat/completions', ask(max, true))).text);
        const got = events.flatMap((e) => e.choices[0]?.token_ids ?? []);
        expect(got).toEqual(ids.slice(0, max));
        expect(events.find((e) => e.choices[0]?.finish_reason)!.choices[0].finish_reason).toBe(
          max === n ? 'tool_calls' : 'length',
        );
        expect(events.at(-1)!.usage.completion_tokens).toBe(max);
        const body = JSON.parse((await post(sim.url, '/v1/chat/completions', ask(max, false))).text);
        expect(body.choices[0].token_ids).toEqual(ids.slice(0, max));
        expect(body.choices[0].finish_reason).toBe(max === n ? 'tool_calls' : 'length');
        expect(body.usage.completion_tokens).toBe(max);
      }
    } finally {
      await sim.close();
    }
  });
});

describe('faults reach non-streaming answers and tokenize', () => {
  it('status, fail-first and stall-headers apply to tokenize and detokenize', async () => {
    const sim = await startSimulator({ dialect: 'vllm' });
    try {
      const status = await post(sim.url, '/tokenize', { prompt: 'hi' }, { 'x-sim-fault': 'status:503' });
      expect(status.status).toBe(503);
      const first = await post(
        sim.url,
        '/detokenize',
        { tokens: [300] },
        { 'x-sim-fault': 'fail-first:1:500' },
      );
      expect(first.status).toBe(500);
      const second = await post(
        sim.url,
        '/detokenize',
        { tokens: [300] },
        { 'x-sim-fault': 'fail-first:1:500' },
      );
      expect(second.status).toBe(200);
      const stalled = await post(
        sim.url,
        '/tokenize',
        { prompt: 'hi' },
        { 'x-sim-fault': 'stall-headers:30' },
      );
      expect(stalled.status).toBe(200);
      expect(sim.report().faultsFired).toMatchObject({ status: 1, 'fail-first': 1, 'stall-headers': 1 });
    } finally {
      await sim.close();
    }
  });

  it.each(['/tokenize', '/v1/completions'])(
    'reset-after and truncate-after cut the JSON body of %s',
    async (path) => {
      const sim = await startSimulator({ dialect: 'vllm' });
      const body = path === '/tokenize' ? { prompt: 'hello there' } : { prompt: [1, 2], max_tokens: 8 };
      try {
        const whole = await post(sim.url, path, body);
        const length = Number(whole.headers['content-length']);
        expect(whole.body.length).toBe(length);
        const reset = await post(sim.url, path, body, { 'x-sim-fault': 'reset-after:0' });
        expect(reset.status).toBe(200);
        expect(reset.error?.code).toMatch(/ECONNRESET|aborted/i);
        expect(reset.body.length).toBeLessThan(length);
        const cut = await post(sim.url, path, body, { 'x-sim-fault': 'truncate-after:0' });
        expect(cut.body.length).toBeLessThan(length);
        expect(cut.error).toBeDefined();
        expect(sim.report().faultsFired).toMatchObject({ 'reset-after': 1, 'truncate-after': 1 });
      } finally {
        await sim.close();
      }
    },
  );
});

describe('an unknown model is vLLM’s 404 (OpenAIServing._check_model)', () => {
  it('names the model; the served name and no name at all are served', async () => {
    const sim = await startSimulator({ dialect: 'vllm', model: 'my-model' });
    try {
      const res = await post(sim.url, '/v1/completions', { model: 'gpt-5', prompt: [1], max_tokens: 1 });
      expect(res.status).toBe(404);
      expect(JSON.parse(res.text)).toEqual({
        error: {
          message: 'The model `gpt-5` does not exist.',
          type: 'NotFoundError',
          param: 'model',
          code: 404,
        },
      });
      const chat = await post(sim.url, '/v1/chat/completions', {
        model: 'gpt-5',
        messages: [{ role: 'user', content: 'x' }],
      });
      expect(chat.status).toBe(404);
      expect(
        (await post(sim.url, '/v1/completions', { model: 'my-model', prompt: [1], max_tokens: 1 })).status,
      ).toBe(200);
      expect((await post(sim.url, '/v1/completions', { prompt: [1], max_tokens: 1 })).status).toBe(200);
    } finally {
      await sim.close();
    }
  });
});

describe('GET /sim/report', () => {
  it('is the report as JSON, for users without JavaScript', async () => {
    const sim = await startSimulator({ dialect: 'vllm' });
    try {
      await post(
        sim.url,
        '/v1/completions',
        { prompt: [1], max_tokens: 2, stream: true },
        {
          authorization: 'Bearer sk-hidden',
          'x-sim-fault': 'truncate-after:1',
        },
      );
      const res = await post(sim.url, '/sim/report', undefined, {}, 'GET');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      const report = JSON.parse(res.text);
      expect(report).toMatchObject({ faultsFired: { 'truncate-after': 1 }, clientClosedSockets: 0 });
      expect(report.requests).toHaveLength(1);
      expect(report.requests[0]).toMatchObject({ path: '/v1/completions', outcome: 'fault', tokensSent: 1 });
      expect(res.text).not.toContain('sk-hidden');
      // Asking for the report is not itself a request in it.
      expect(sim.report().requests).toHaveLength(1);
    } finally {
      await sim.close();
    }
  });
});
