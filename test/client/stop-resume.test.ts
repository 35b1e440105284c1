/**
 * Stop strings across a resume point. The server of a continuation checks stop
 * strings in its new output only, so a stop string that began before the break is
 * the client's to find: after a resume, text that may continue such a stop string is
 * held back until it is decided, so that nothing after the stop string's beginning
 * is ever delivered, and text that turns out not to be one is delivered in order.
 *
 * The server scripts its tokens by position (one word per token) and breaks the first
 * request after 2 tokens; it never applies stop strings itself, as a continuation's
 * server would not for one that straddles the break.
 */
import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatEvent, CompletionEvent } from '../../src/index.js';
import { testClient } from '../helpers/client.js';
import { type SeenRequest, startServer, type TestServer } from '../helpers/http-server.js';

const PROMPT = [1, 2, 3];
const BREAK_AFTER = 2;

interface Body {
  prompt?: number[];
  messages?: { role: string; content: string }[];
  max_tokens: number;
}

let script: string[] = [];
let requests = 0;

function serve(req: SeenRequest, res: ServerResponse): void {
  requests++;
  const body = req.json as Body;
  const chat = req.url.includes('chat');
  const last = body.messages?.at(-1);
  const start = body.prompt
    ? body.prompt.length - PROMPT.length
    : last?.role === 'assistant'
      ? script.findIndex((_t, i) => script.slice(0, i).join('') === last.content && i > 0)
      : 0;
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  for (let n = 0; n < body.max_tokens && start + n < script.length; n++) {
    if (requests === 1 && n === BREAK_AFTER) {
      res.end();
      return;
    }
    const i = start + n;
    const finish = n === body.max_tokens - 1 || i === script.length - 1 ? 'length' : null;
    const choice = chat
      ? { index: 0, delta: { content: script[i] }, token_ids: [100 + i], finish_reason: finish }
      : { index: 0, text: script[i], token_ids: [100 + i], finish_reason: finish };
    res.write(`data: ${JSON.stringify({ id: 'x', choices: [choice] })}\n\n`);
  }
  res.end('data: [DONE]\n\n');
}

let server: TestServer;
beforeAll(async () => {
  server = await startServer(serve);
});
afterAll(async () => {
  await server.close();
});

interface Outcome {
  /** The text of every event, in order, as the consumer saw it. */
  texts: string[];
  ids: (number | undefined)[];
  finishReason: string;
  text: string;
}

async function run(kind: 'completion' | 'chat', tokens: string[], stop: string[]): Promise<Outcome> {
  script = tokens;
  requests = 0;
  const { client } = testClient(server.url, {
    dialect: 'sglang',
    retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
  });
  try {
    if (kind === 'completion') {
      const stream = client.streamCompletion({ prompt: PROMPT, maxTokens: tokens.length, stop });
      const events: CompletionEvent[] = [];
      for await (const event of stream) events.push(event);
      const result = await stream.final();
      expect(result.stats.resumes).toBe(1);
      return {
        texts: events.flatMap((e) => (e.type === 'token' ? [e.text] : [])),
        ids: result.ids,
        finishReason: result.finishReason,
        text: result.text,
      };
    }
    const stream = client.streamChat({
      messages: [{ role: 'user', content: 'go' }],
      maxTokens: tokens.length,
      stop,
    });
    const events: ChatEvent[] = [];
    for await (const event of stream) events.push(event);
    const result = await stream.final();
    expect(result.stats.resumes).toBe(1);
    return {
      texts: events.flatMap((e) => (e.type === 'text' ? [e.text] : [])),
      ids: result.tokenIds ?? [],
      finishReason: result.finishReason,
      text: result.message.content,
    };
  } finally {
    await client.close();
  }
}

describe.each(['completion'] as const)('%s: stop strings across a resume', (kind) => {
  it('"a" before the break, "b" and "c" after: it ends where SGLang ends it, nothing past the completing token', async () => {
    const out = await run(kind, ['x', 'a', 'b', 'c', 'd', 'e'], ['abc']);
    expect(out.finishReason).toBe('stop');
    // SGLang sends every token's text until the one that completes the stop string (whose
    // text it trims): 'b' was sent, 'c' is not, and neither is anything after.
    expect(out.text).toBe('xab');
    expect(out.texts.join('')).toBe('xab');
    expect(out.texts).not.toContain('c');
    // The ids of the tokens that made the stop string are generated tokens: they count.
    expect(out.ids).toEqual([100, 101, 102, 103]);
  });

  it('held text that turns out not to be a stop string is delivered, in order, with nothing lost', async () => {
    const out = await run(kind, ['x', 'a', 'b', 'd', 'e'], ['abc']);
    expect(out.finishReason).toBe('length');
    expect(out.text).toBe('xabde');
    expect(out.texts.join('')).toBe('xabde');
    expect(out.ids).toEqual([100, 101, 102, 103, 104]);
  });

  it('held text at the end of the stream is delivered before done', async () => {
    const out = await run(kind, ['x', 'a', 'b'], ['abc']);
    expect(out.finishReason).toBe('length');
    expect(out.text).toBe('xab');
    expect(out.texts.join('')).toBe('xab');
  });

  it('a stop string whose beginning spans two tokens before the break', async () => {
    const out = await run(kind, ['ab', 'cd', 'ef', 'gh'], ['bcdeX', 'cde']);
    expect(out.finishReason).toBe('stop');
    // 'cd' was delivered before the break: the stop string's beginning stays delivered.
    expect(out.text).toBe('abcd');
    expect(out.texts.join('')).toBe('abcd');
  });

  it('several stop strings: held while any may still match, stopped by the one that completes', async () => {
    const out = await run(kind, ['q', 'xy', 'z', 'w', 'v'], ['yzv', 'yzw']);
    expect(out.finishReason).toBe('stop');
    // 'z' was sent before 'w' completed 'yzw' (as SGLang sends it); 'w' and 'v' are not.
    expect(out.text).toBe('qxyz');
    expect(out.texts).not.toContain('w');
  });
});
