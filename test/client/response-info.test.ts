/**
 * done.responseId, done.model and usage.cachedPromptTokens over a loopback node:http
 * server that scripts each attempt's chunks (vLLM shape: `id` and `model` on every chunk,
 * `token_ids`, usage with `prompt_tokens_details.cached_tokens` in a last `choices: []`
 * chunk, as vllm/entrypoints/openai/completion/serving.py `completion_stream_generator`
 * writes them): which attempt's id a resumed or retried stream reports, a resume whose
 * server names another model, and the cached count of a resumed call.
 */
import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { testClient } from '../helpers/client.js';
import { type SeenRequest, startServer, type TestServer } from '../helpers/http-server.js';

const PROMPT = [5, 6, 7, 8];
const IDS = Array.from({ length: 40 }, (_, i) => 1000 + i);

/** One attempt's answer: its id and model, the tokens to send, then a cut or the end. */
interface Script {
  id: string;
  model: string;
  /** Tokens (from IDS, after those the request's prompt already carries) to send. */
  tokens: number;
  /** Cut the connection after the tokens (else finish with `length`, usage and [DONE]). */
  cut?: boolean;
  /** A first chunk with no token (a role-less empty chunk) before the tokens. */
  emptyFirst?: boolean;
  /** `prompt_tokens_details.cached_tokens` of the usage chunk. */
  cached?: number;
}

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function line(id: string, model: string, choices: unknown[], usage?: unknown): string {
  return `data: ${JSON.stringify({ id, object: 'text_completion', created: 1, model, choices, ...(usage ? { usage } : {}) })}\n\n`;
}

/** Serves the scripts in order, one per request; the continuation's prompt says where to go on. */
function scripted(scripts: Script[]) {
  let n = 0;
  return (req: SeenRequest, res: ServerResponse): void => {
    const script = scripts[n++];
    const body = req.json as { prompt: number[]; max_tokens: number };
    const done = body.prompt.length - PROMPT.length;
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    let out = '';
    if (script.emptyFirst)
      out += line(script.id, script.model, [{ index: 0, text: '', finish_reason: null }]);
    for (let i = 0; i < script.tokens; i++) {
      const last = !script.cut && i === script.tokens - 1;
      const id = IDS[done + i];
      out += line(script.id, script.model, [
        { index: 0, text: ` t${id}`, token_ids: [id], finish_reason: last ? 'length' : null },
      ]);
    }
    if (script.cut) {
      res.write(out);
      // Flushed, then cut: the client has the tokens and sees the connection reset.
      setTimeout(() => res.socket?.destroy(), 20);
      return;
    }
    const usage: Record<string, unknown> = {
      prompt_tokens: body.prompt.length,
      completion_tokens: script.tokens,
      total_tokens: body.prompt.length + script.tokens,
    };
    if (script.cached !== undefined) usage.prompt_tokens_details = { cached_tokens: script.cached };
    out += line(script.id, script.model, [], usage);
    res.end(`${out}data: [DONE]\n\n`);
  };
}

async function run(scripts: Script[], maxTokens: number) {
  server = await startServer(scripted(scripts));
  const { client, logs } = testClient(server.url, {
    dialect: 'vllm',
    retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
  });
  const stream = client.streamCompletion({ prompt: PROMPT, maxTokens });
  const events = [];
  for await (const event of stream) events.push(event);
  const result = await stream.final();
  await client.close();
  const last = events.at(-1);
  if (last?.type !== 'done') throw new Error('no done event');
  return { done: last, result, logs };
}

describe('response id and model', () => {
  it('one attempt: the id and model of its chunks, on done and on final()', async () => {
    const { done, result, logs } = await run([{ id: 'cmpl-one', model: 'served-a', tokens: 3 }], 3);
    expect(done.responseId).toBe('cmpl-one');
    expect(done.model).toBe('served-a');
    expect(result.responseId).toBe('cmpl-one');
    expect(result.model).toBe('served-a');
    expect(done.stats.endpoints.map((e) => [e.responseId, e.model])).toEqual([['cmpl-one', 'served-a']]);
    expect(done.usage.cachedPromptTokens).toBeUndefined();
    expect(logs.filter((r) => r.level === 'warn')).toEqual([]);
  });

  it('a resume keeps the first attempt’s id; every attempt’s id is on its stats.endpoints entry', async () => {
    const { done } = await run(
      [
        { id: 'cmpl-first', model: 'served-a', tokens: 2, cut: true },
        { id: 'cmpl-second', model: 'served-a', tokens: 4 },
      ],
      6,
    );
    expect(done.stats.resumes).toBe(1);
    expect(done.tokenIds).toEqual(IDS.slice(0, 6));
    expect(done.responseId).toBe('cmpl-first');
    expect(done.model).toBe('served-a');
    expect(done.stats.endpoints.map((e) => [e.responseId, e.model, e.tokens])).toEqual([
      ['cmpl-first', 'served-a', 2],
      ['cmpl-second', 'served-a', 4],
    ]);
  });

  it('a retry before any token is a new response: the id and model are the retry’s', async () => {
    const { done, logs } = await run(
      [
        { id: 'cmpl-lost', model: 'served-a', tokens: 0, emptyFirst: true, cut: true },
        { id: 'cmpl-kept', model: 'served-b', tokens: 3 },
      ],
      3,
    );
    expect(done.stats.attempts).toBe(2);
    expect(done.stats.resumes).toBe(0);
    expect(done.responseId).toBe('cmpl-kept');
    expect(done.model).toBe('served-b');
    expect(done.stats.endpoints.map((e) => e.responseId)).toEqual(['cmpl-lost', 'cmpl-kept']);
    expect(logs.find((r) => r.event === 'model_changed')).toBeUndefined();
  });

  it('a resume on a server that names another model is a model_changed warning; the first model is kept', async () => {
    const { done, logs } = await run(
      [
        { id: 'cmpl-first', model: 'served-a', tokens: 2, cut: true },
        { id: 'cmpl-second', model: 'served-b', tokens: 4 },
      ],
      6,
    );
    expect(done.model).toBe('served-a');
    expect(done.stats.endpoints.map((e) => e.model)).toEqual(['served-a', 'served-b']);
    const changed = logs.filter((r) => r.event === 'model_changed');
    expect(changed).toHaveLength(1);
    expect(changed[0]).toMatchObject({
      level: 'warn',
      model: 'served-b',
      previousModel: 'served-a',
      tokensReceived: 2,
    });
  });

  it('a long attempt after a long one with the same id and model: the second’s id is read too', async () => {
    // Same bytes around text and ids in both attempts: the first attempt's learned fast-path
    // template would match the second's first chunk; it is forgotten when an attempt starts.
    // The second attempt is cut too: none of its chunks would go the full way otherwise.
    const { done } = await run(
      [
        { id: 'cmpl-same', model: 'served-a', tokens: 20, cut: true },
        { id: 'cmpl-same', model: 'served-a', tokens: 10, cut: true },
        { id: 'cmpl-third', model: 'served-a', tokens: 10 },
      ],
      40,
    );
    expect(done.tokenIds).toEqual(IDS);
    expect(done.stats.endpoints.map((e) => [e.responseId, e.model, e.tokens])).toEqual([
      ['cmpl-same', 'served-a', 20],
      ['cmpl-same', 'served-a', 10],
      ['cmpl-third', 'served-a', 10],
    ]);
  });
});

describe('cached prompt tokens', () => {
  it('are usage.prompt_tokens_details.cached_tokens, boundaries 0 and the whole prompt', async () => {
    for (const cached of [0, 1, 3, 4]) {
      const { done } = await run([{ id: 'cmpl-c', model: 'm', tokens: 2, cached }], 2);
      expect(done.usage).toEqual({
        promptTokens: 4,
        completionTokens: 2,
        totalTokens: 6,
        computed: false,
        cachedPromptTokens: cached,
      });
      await server?.close();
      server = undefined;
    }
  });

  it('after a resume: the last attempt’s count, at most the call’s prompt tokens', async () => {
    // The resumed attempt's prompt is the 4 prompt ids + 2 received: 6 tokens, 5 cached.
    const { done } = await run(
      [
        { id: 'cmpl-a', model: 'm', tokens: 2, cut: true },
        { id: 'cmpl-b', model: 'm', tokens: 4, cached: 5 },
      ],
      6,
    );
    expect(done.usage).toEqual({
      promptTokens: 4,
      completionTokens: 6,
      totalTokens: 10,
      computed: false,
      cachedPromptTokens: 4,
    });
  });
});
