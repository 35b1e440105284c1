/**
 * stream.batches(): the same events as iterating the stream, in arrays of what
 * arrived together, over real loopback servers (the simulator and node:http).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CompletionEvent } from '../../src/index.js';
import { type Simulator, startSimulator } from '../../src/sim/index.js';
import { caught, testClient } from '../helpers/client.js';
import {
  completionChunk as chunk,
  endlessTokens,
  startServer,
  type TestServer,
  tokenBurst,
} from '../helpers/http-server.js';

let sim: Simulator | undefined;
let server: TestServer | undefined;
afterEach(async () => {
  await sim?.close();
  await server?.close();
  sim = undefined;
  server = undefined;
});

describe('stream.batches()', () => {
  it('gives exactly the events of plain iteration, in order, fewer arrays than events', async () => {
    sim = await startSimulator({ dialect: 'vllm', seed: 5 });
    const { client } = testClient(sim.url, { dialect: 'vllm' });
    const request = { prompt: [1, 2, 3], maxTokens: 300, sampling: { seed: 9, temperature: 0 } };
    const events: CompletionEvent[] = [];
    for await (const event of client.streamCompletion(request)) events.push(event);
    const batched: CompletionEvent[] = [];
    let batches = 0;
    for await (const batch of client.streamCompletion(request).batches()) {
      expect(batch.length).toBeGreaterThan(0);
      batches++;
      batched.push(...batch);
    }
    // Two requests: their stats and their server ids differ, all else is the same.
    const strip = (list: CompletionEvent[]) =>
      list.map((e) => (e.type === 'done' ? { ...e, stats: undefined, responseId: undefined } : e));
    expect(strip(batched)).toEqual(strip(events));
    expect(batched.at(-1)?.type).toBe('done');
    expect(batches).toBeLessThan(batched.length);
    await client.close();
  });

  it('a burst of events written at once arrives as large batches', async () => {
    const n = 2000;
    server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let body = '';
      for (let i = 0; i < n; i++) body += `data: ${chunk('x', [i], i === n - 1 ? 'length' : null)}\n\n`;
      res.end(`${body}data: [DONE]\n\n`);
    });
    const { client } = testClient(server.url, { dialect: 'vllm' });
    const sizes: number[] = [];
    const ids: number[] = [];
    for await (const batch of client.streamCompletion({ prompt: [1] }).batches()) {
      sizes.push(batch.length);
      for (const event of batch) if (event.type === 'token') ids.push(event.id!);
    }
    expect(ids).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(Math.max(...sizes)).toBeGreaterThan(50);
    await client.close();
  });

  it('throws the stream error after the batches of the tokens that came before it', async () => {
    server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`data: ${chunk('a', [1])}\n\ndata: ${chunk('b', [2])}\n\n`);
      setTimeout(() => res.destroy(), 30);
    });
    const { client } = testClient(server.url, { dialect: 'vllm' });
    const seen: number[] = [];
    const error = await caught(async () => {
      for await (const batch of client.streamCompletion({ prompt: [1] }).batches()) {
        for (const event of batch) if (event.type === 'token') seen.push(event.id!);
      }
    });
    expect(seen).toEqual([1, 2]);
    expect(['stream_truncated', 'connection_reset']).toContain(error.code);
    expect((error.partial as { id: number }[]).map((t) => t.id)).toEqual([1, 2]);
    await client.close();
  });

  it('breaking out of the loop closes the connection (the server sees it)', async () => {
    server = await startServer(endlessTokens());
    const { client } = testClient(server.url, { dialect: 'vllm' });
    const closed = server.nextClientClose();
    let tokens = 0;
    for await (const batch of client.streamCompletion({ prompt: [1] }).batches()) {
      tokens += batch.length;
      if (tokens >= 3) break;
    }
    await closed;
    expect(server.clientClosed).toBe(1);
    await client.close();
  });

  it('a consumer that falls behind gets the backlog in batches and the paused socket resumes', async () => {
    const n = 12_000;
    server = await startServer(tokenBurst(n));
    const { client } = testClient(server.url, { dialect: 'vllm', timeouts: { idleMs: 200 } });
    const stream = client.streamCompletion({ prompt: [1] });
    // Longer than the idle clock without reading: the backlog passes the high-water mark.
    await new Promise((resolve) => setTimeout(resolve, 600));
    let tokens = 0;
    let last: CompletionEvent | undefined;
    for await (const batch of stream.batches()) {
      for (const event of batch) if (event.type === 'token') tokens++;
      last = batch.at(-1);
    }
    expect(tokens).toBe(n);
    expect(last?.type === 'done' && last.finishReason).toBe('length');
    await client.close();
  });
});
