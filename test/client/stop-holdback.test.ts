/**
 * Text a server held back as a possible stop string when the stream broke (vLLM: the last
 * longest − 1 characters; llama.cpp: all unsent text while it ends with a stop string's
 * beginning; SGLang: nothing — wire facts `stopHoldback`, emulated by the simulator). The
 * ids of the held tokens arrived, their text did not: a resume recovers it from the server's
 * detokenizer, so the result is the uninterrupted one (text, ids, finish reason), or, when
 * that is impossible, the stream fails with `partial` instead of silently lacking text.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CompletionResult, DialectName, TokenwireError } from '../../src/index.js';
import { detokenize, type Simulator, startSimulator } from '../../src/sim/index.js';
import { testClient } from '../helpers/client.js';

const PROMPT = [1, 17, 29, 301];
const N = 20;
const SEED = 11;
/** Never in the output, 4 characters: vLLM holds back the last 3. */
const NEVER = 'Q#Q#';

async function run(
  url: string,
  dialect: DialectName,
  stop: string[],
  fault?: string,
  extraBody?: Record<string, unknown>,
): Promise<{ result?: CompletionResult; error?: TokenwireError; logs: { event: string }[] }> {
  const { client, logs } = testClient(url, {
    dialect,
    headers: fault === undefined ? {} : { 'x-sim-fault': fault },
    retry: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 5 },
  });
  try {
    const result = await client
      .streamCompletion({ prompt: PROMPT, maxTokens: N, sampling: { temperature: 0 }, stop, extraBody })
      .final();
    return { result, logs };
  } catch (error) {
    return { error: error as TokenwireError, logs };
  } finally {
    await client.close();
  }
}

/** A simulator of its own (a `:once` fault fires once per server). */
async function withSim<T>(dialect: string, fn: (sim: Simulator) => Promise<T>): Promise<T> {
  const sim = await startSimulator({ dialect, seed: SEED });
  try {
    return await fn(sim);
  } finally {
    await sim.close();
  }
}

describe('vLLM holds back the last longest − 1 characters', () => {
  it('a break while text is held: the resumed text has it (today it silently lacked it)', async () => {
    await withSim('vllm', async (sim) => {
      const reference = await run(sim.url, 'vllm', [NEVER]);
      expect(reference.result?.finishReason).toBe('length');
      for (const k of [1, 2, 3, 7, 12]) {
        const { result, logs } = await run(sim.url, 'vllm', [NEVER], `truncate-after:${k}:once`);
        expect(result?.stats.resumes, `break after ${k}`).toBe(1);
        expect(result?.text, `break after ${k}`).toBe(reference.result?.text);
        expect(result?.ids).toEqual(reference.result?.ids);
        expect(logs.some((r) => r.event === 'resume_stop_text')).toBe(false);
      }
    });
  });

  it('the simulator holds as vLLM does: the break lost text, ids all came', async () => {
    await withSim('vllm', async (sim) => {
      const { client } = testClient(sim.url, {
        dialect: 'vllm',
        headers: { 'x-sim-fault': 'truncate-after:6' },
      });
      const stream = client.streamCompletion({ prompt: PROMPT, maxTokens: N, stop: [NEVER] });
      const error = await stream.final().then(
        () => undefined,
        (e: TokenwireError) => e,
      );
      await client.close();
      const full = await run(sim.url, 'vllm', [NEVER]);
      expect(error?.partial.map((t) => t.id)).toEqual(full.result?.ids.slice(0, 6));
      const text = error?.partial.map((t) => t.text).join('') ?? '';
      // Exactly the last 3 characters were held (none of the sim's first 6 tokens is shorter in total).
      expect(full.result?.text.startsWith(text)).toBe(true);
      expect([...(full.result?.text ?? '').slice(text.length)].length).toBeGreaterThan(0);
      // Exactly the last 3 characters of the 6 tokens' text were held.
      const six = detokenize((full.result?.ids ?? []).slice(0, 6) as number[]);
      expect(text).toBe([...six].slice(0, -3).join(''));
    });
  });

  it('a stop string begun in held text and completed after the break ends the stream where vLLM would', async () => {
    await withSim('vllm', async (sim) => {
      const plain = await run(sim.url, 'vllm', []);
      const tokens = plain.result?.tokens ?? [];
      for (const k of [3, 5, 9]) {
        const boundary = tokens.slice(0, k).reduce((n, t) => n + t.text.length, 0);
        const text = plain.result?.text ?? '';
        // Two characters before the break (held by vLLM), four after.
        const stop = text.slice(boundary - 2, boundary + 4);
        if (text.indexOf(stop) !== boundary - 2) continue;
        const reference = await run(sim.url, 'vllm', [stop]);
        expect(reference.result?.finishReason).toBe('stop');
        const { result } = await run(sim.url, 'vllm', [stop], `truncate-after:${k}:once`);
        expect(result?.stats.resumes).toBe(1);
        expect(result?.finishReason).toBe('stop');
        expect(result?.text).toBe(reference.result?.text);
        // The ids end with the token that completed the stop string, as vLLM's do, although the
        // continuation's server showed its text only tokens later (it held it back too).
        expect(result?.ids).toEqual(reference.result?.ids);
        expect(result?.usage.completionTokens).toBe(reference.result?.ids.length);
      }
    });
  });

  it('include_stop_str_in_output turns the holdback off: nothing to recover, nothing asked', async () => {
    await withSim('vllm', async (sim) => {
      const extra = { include_stop_str_in_output: true };
      const reference = await run(sim.url, 'vllm', [NEVER], undefined, extra);
      sim.resetReport();
      const { result } = await run(sim.url, 'vllm', [NEVER], 'truncate-after:5:once', extra);
      expect(result?.text).toBe(reference.result?.text);
      expect(sim.report().requests.filter((r) => r.path === '/detokenize')).toHaveLength(0);
    });
  });
});

describe('vLLM chat', () => {
  async function chat(url: string, stop: string[], fault?: string) {
    const { client } = testClient(url, {
      dialect: 'vllm',
      headers: fault === undefined ? {} : { 'x-sim-fault': fault },
      retry: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 5 },
    });
    try {
      return await client
        .streamChat({
          messages: [{ role: 'user', content: 'go' }],
          maxTokens: N,
          sampling: { temperature: 0 },
          stop,
        })
        .final();
    } finally {
      await client.close();
    }
  }

  it('a break while text is held: the continued message has it', async () => {
    await withSim('vllm', async (sim) => {
      const reference = await chat(sim.url, [NEVER]);
      for (const k of [2, 5, 9]) {
        const result = await chat(sim.url, [NEVER], `truncate-after:${k}:once`);
        expect(result.stats.resumes, `break after ${k}`).toBe(1);
        expect(result.message.content, `break after ${k}`).toBe(reference.message.content);
      }
    });
  });
});

describe('llama.cpp holds back unsent text while it ends with a stop string’s beginning', () => {
  it('a break while text is held: the resumed text has it', async () => {
    await withSim('llamacpp@2026', async (sim) => {
      const plain = await run(sim.url, 'llamacpp', []);
      const text = plain.result?.text ?? '';
      const tokens = plain.result?.tokens ?? [];
      let checked = 0;
      for (const k of [2, 4, 6, 8]) {
        const boundary = tokens.slice(0, k).reduce((n, t) => n + t.text.length, 0);
        // The last character before the break begins a stop string that never completes.
        const stop = `${text.slice(boundary - 1, boundary)}\u0000never`;
        const reference = await run(sim.url, 'llamacpp', [stop]);
        const { result, error } = await run(sim.url, 'llamacpp', [stop], `truncate-after:${k}:once`);
        expect(error).toBeUndefined();
        expect(result?.stats.resumes).toBe(1);
        expect(result?.text).toBe(reference.result?.text);
        expect(result?.ids).toEqual(reference.result?.ids);
        checked++;
      }
      expect(checked).toBe(4);
    });
  });
});

describe('SGLang holds nothing back', () => {
  it('resumes without asking its detokenizer', async () => {
    await withSim('sglang', async (sim) => {
      const reference = await run(sim.url, 'sglang', [NEVER]);
      sim.resetReport();
      const { result } = await run(sim.url, 'sglang', [NEVER], 'truncate-after:5:once');
      expect(result?.text).toBe(reference.result?.text);
      expect(result?.ids).toEqual(reference.result?.ids);
      expect(sim.report().requests.filter((r) => r.path.endsWith('/detokenize'))).toHaveLength(0);
    });
  });
});

describe('when the held text cannot be recovered, the stream says so', () => {
  let sim: Simulator;
  let proxy: Server;
  let proxyUrl: string;
  beforeAll(async () => {
    sim = await startSimulator({ dialect: 'vllm', seed: SEED });
    // In front of the simulator: /detokenize answers 500, everything else goes through.
    proxy = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      if (req.url === '/detokenize') {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end('{"error":{"message":"boom","type":"InternalServerError","code":500}}');
        return;
      }
      const upstream = await fetch(sim.url + (req.url ?? '/'), {
        method: req.method,
        headers: {
          'content-type': 'application/json',
          ...(req.headers['x-sim-fault'] ? { 'x-sim-fault': String(req.headers['x-sim-fault']) } : {}),
        },
        body: req.method === 'POST' ? Buffer.concat(chunks) : undefined,
      });
      res.writeHead(upstream.status, {
        'content-type': upstream.headers.get('content-type') ?? 'text/plain',
      });
      res.end(Buffer.from(await upstream.arrayBuffer()));
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => proxy.close(resolve));
    await sim.close();
  });

  it('a failed detokenize: no resume, the break’s error with every token in partial and the reason', async () => {
    const { error, logs } = await run(proxyUrl, 'vllm', [NEVER], 'truncate-after:6:once');
    expect(error?.code).toBe('stream_truncated');
    expect(error?.message).toMatch(/not resumed: the server may have held back text/);
    expect(error?.message).toMatch(/detokenize request failed/);
    expect(error?.partial).toHaveLength(6);
    expect(logs.some((r) => r.event === 'resume_stop_text')).toBe(true);
  });

  it('without stop strings of two characters or more nothing can be held: it resumes', async () => {
    const { result, error } = await run(proxyUrl, 'vllm', ['Q'], 'truncate-after:5:once');
    expect(error?.message).toBeUndefined();
    expect(result?.stats.resumes).toBe(1);
  });
});
