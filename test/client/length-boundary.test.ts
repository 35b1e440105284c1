/**
 * A stream that breaks after k tokens, before the finish reason, for k = 0, 1,
 * maxTokens − 1 and maxTokens, completions and chat, every fault kind (reset,
 * truncation, in-stream error, idle stall). Whatever k, the caller gets exactly
 * maxTokens tokens, `finishReason: 'length'` and exact usage; at k = maxTokens no
 * continuation is sent at all (it would ask for `max_tokens: 1` and get one token too
 * many).
 *
 * The server is a small loopback one rather than the simulator: the simulator sends
 * the finish reason with the last token, so it cannot break between the two.
 */
import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatEvent } from '../../src/index.js';
import { testClient } from '../helpers/client.js';
import { type SeenRequest, startServer, type TestServer } from '../helpers/http-server.js';

const PROMPT = [1, 2, 3];
const MAX = 6;
/** The id generated at position `i` (0-based, counted from the end of PROMPT). */
const idAt = (i: number): number => 100 + i;
const textAt = (i: number): string => `w${i} `;
const FAULTS = ['reset', 'truncate', 'error', 'stall'] as const;
type Fault = (typeof FAULTS)[number];

interface Body {
  prompt?: number[];
  messages?: { role: string; content: string }[];
  max_tokens: number;
}

/** Where generation resumes: after the ids (completions) or the words (chat) already given. */
function startPosition(body: Body): number {
  if (body.prompt !== undefined) return body.prompt.length - PROMPT.length;
  const last = body.messages?.at(-1);
  return last?.role === 'assistant' ? last.content.split(' ').length - 1 : 0;
}

function chunk(chat: boolean, i: number, finish: string | null): string {
  const choice = chat
    ? { index: 0, delta: { content: textAt(i) }, token_ids: [idAt(i)], finish_reason: finish }
    : { index: 0, text: textAt(i), token_ids: [idAt(i)], finish_reason: finish };
  return `data: ${JSON.stringify({ id: 'x', choices: [choice] })}\n\n`;
}

/** Per test case: how many requests it made (the fault applies to the first only). */
const requestsByCase = new Map<string, Body[]>();

function serve(req: SeenRequest, res: ServerResponse): void {
  const body = req.json as Body;
  const id = String(req.headers['x-case']);
  const seen = requestsByCase.get(id) ?? [];
  seen.push(body);
  requestsByCase.set(id, seen);
  const [fault, k] = String(req.headers['x-fault']).split(':');
  const breakAfter = seen.length === 1 ? Number(k) : undefined;
  const chat = req.url.includes('chat');
  const start = startPosition(body);
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  for (let n = 0; n < body.max_tokens; n++) {
    if (n === breakAfter) {
      breakStream(res, fault as Fault);
      return;
    }
    // The finish reason rides on the last token, unless the stream breaks before it.
    const last = n === body.max_tokens - 1 && breakAfter === undefined;
    res.write(chunk(chat, start + n, last ? 'length' : null));
  }
  if (breakAfter === body.max_tokens) {
    breakStream(res, fault as Fault);
    return;
  }
  res.write(
    `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: PROMPT.length + start, completion_tokens: body.max_tokens, total_tokens: PROMPT.length + start + body.max_tokens } })}\n\n`,
  );
  res.end('data: [DONE]\n\n');
}

function breakStream(res: ServerResponse, fault: Fault): void {
  switch (fault) {
    case 'reset':
      // Let the tokens leave before the RST overtakes them.
      setTimeout(() => res.socket?.resetAndDestroy(), 5);
      return;
    case 'truncate':
      res.end();
      return;
    case 'error':
      res.end(
        'data: {"error":{"message":"overloaded","type":"ServiceUnavailable","code":503}}\n\ndata: [DONE]\n\n',
      );
      return;
    case 'stall':
      // Nothing more, connection kept open: the client's clock ends it.
      return;
  }
}

let server: TestServer;
beforeAll(async () => {
  server = await startServer(serve);
});
afterAll(async () => {
  await server.close();
});

const CASES = FAULTS.flatMap((fault) =>
  [0, 1, MAX - 1, MAX].flatMap((k) => (['completion', 'chat'] as const).map((kind) => ({ fault, k, kind }))),
);

describe('a break after k of maxTokens tokens, before the finish reason', () => {
  it.each(CASES)('$kind, $fault after $k', async ({ fault, k, kind }) => {
    const id = `${kind}-${fault}-${k}`;
    const { client, logs } = testClient(server.url, {
      dialect: 'vllm',
      headers: { 'x-case': id, 'x-fault': `${fault}:${k}` },
      retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
      timeouts: { idleMs: 150, firstTokenMs: 150 },
    });
    let ids: (number | undefined)[];
    let text: string;
    let finishReason: string;
    let usage: { promptTokens?: number; completionTokens?: number };
    if (kind === 'completion') {
      const result = await client.streamCompletion({ prompt: PROMPT, maxTokens: MAX }).final();
      ({ ids, text, finishReason, usage } = result);
    } else {
      const stream = client.streamChat({ messages: [{ role: 'user', content: 'go' }], maxTokens: MAX });
      const events: ChatEvent[] = [];
      for await (const event of stream) events.push(event);
      const result = await stream.final();
      ids = result.tokenIds ?? [];
      text = result.message.content;
      finishReason = result.finishReason;
      usage = result.usage;
    }
    await client.close();
    const expectedIds = Array.from({ length: MAX }, (_, i) => idAt(i));
    expect(ids, id).toEqual(expectedIds);
    expect(text, id).toBe(expectedIds.map((_, i) => textAt(i)).join(''));
    expect(finishReason, id).toBe('length');
    expect(usage.completionTokens, id).toBe(MAX);
    if (kind === 'completion') expect(usage.promptTokens, id).toBe(PROMPT.length);
    const requests = requestsByCase.get(id) ?? [];
    // k = maxTokens: nothing is left to generate, so nothing more is asked for.
    expect(requests.length, id).toBe(k === MAX ? 1 : 2);
    for (const body of requests) expect(body.max_tokens, id).toBeGreaterThanOrEqual(1);
    if (k > 0 && k < MAX) expect(requests[1].max_tokens, id).toBe(MAX - k);
    if (k === MAX)
      expect(
        logs.some((r) => r.event === 'length_reached'),
        id,
      ).toBe(true);
  });
});
