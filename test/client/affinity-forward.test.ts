/**
 * A request's `session` / `affinityKey` reaches the server (or the router in front of
 * it) only where the wire-facts table says one reads it: vLLM's routers `x-session-id`,
 * SGLang and its gateway `x-smg-routing-key`, Fireworks `x-session-affinity`, OpenAI
 * chat `prompt_cache_key`; nothing to the others. Asserted on what the simulator
 * received, per dialect and endpoint.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DialectName } from '../../src/index.js';
import { type Simulator, startSimulator } from '../../src/sim/index.js';
import { testClient } from '../helpers/client.js';

const HEADERS = ['x-session-id', 'x-smg-routing-key', 'x-session-affinity'] as const;
const FIELD = 'prompt_cache_key';

/** Where each dialect carries the key: a header, the chat body field, or nowhere. */
const EXPECTED: Record<string, { header?: (typeof HEADERS)[number]; chatField?: boolean }> = {
  vllm: { header: 'x-session-id' },
  sglang: { header: 'x-smg-routing-key' },
  fireworks: { header: 'x-session-affinity' },
  openai: { chatField: true },
  together: {},
  openrouter: {},
  llamacpp: {},
};

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ dialect: 'vllm' });
});
afterAll(() => sim.close());

interface Seen {
  headers: Record<string, unknown>;
  body: Record<string, unknown>;
}

function last(): Seen {
  const record = sim.report().requests.at(-1)!;
  return { headers: record.headers, body: record.body as Record<string, unknown> };
}

async function send(
  dialect: string,
  kind: 'completion' | 'chat',
  request: Record<string, unknown> = {},
  clientHeaders: Record<string, string> = {},
): Promise<Seen> {
  const { client } = testClient(sim.url, {
    dialect: dialect as DialectName,
    headers: { 'x-sim-dialect': dialect, ...clientHeaders },
  });
  try {
    if (kind === 'completion')
      await client.streamCompletion({ prompt: [1, 2, 3], maxTokens: 2, ...request }).final();
    else
      await client
        .streamChat({ messages: [{ role: 'user', content: 'hi' }], maxTokens: 2, ...request })
        .final();
    return last();
  } finally {
    await client.close();
  }
}

/** The session carriers present in what the server saw: header names, and the field. */
function carriers(seen: Seen): Record<string, unknown> {
  const found: Record<string, unknown> = {};
  for (const name of HEADERS) if (seen.headers[name] !== undefined) found[name] = seen.headers[name];
  if (seen.body[FIELD] !== undefined) found[FIELD] = seen.body[FIELD];
  return found;
}

describe.each(Object.keys(EXPECTED))('session key forwarding: %s', (dialect) => {
  const expected = EXPECTED[dialect];

  for (const kind of ['completion', 'chat'] as const) {
    it(`${kind}: exactly where the server reads it, nowhere else`, async () => {
      const want: Record<string, unknown> = {};
      if (expected.header) want[expected.header] = 'conv-42';
      if (expected.chatField && kind === 'chat') want[FIELD] = 'conv-42';
      expect(carriers(await send(dialect, kind, { session: 'conv-42' }))).toEqual(want);
      // affinityKey the same way; session wins over it.
      expect(carriers(await send(dialect, kind, { affinityKey: 'conv-42' }))).toEqual(want);
      expect(carriers(await send(dialect, kind, { session: 'conv-42', affinityKey: 'other' }))).toEqual(want);
      // No key: nothing.
      expect(carriers(await send(dialect, kind))).toEqual({});
    });
  }
});

describe('session key forwarding: what the caller set wins, and values stay valid', () => {
  it("a caller's header of that name (any case, client or request) is sent instead", async () => {
    expect(
      carriers(await send('vllm', 'completion', { session: 's', headers: { 'X-Session-Id': 'mine' } })),
    ).toEqual({ 'x-session-id': 'mine' });
    expect(
      carriers(await send('sglang', 'chat', { session: 's' }, { 'X-SMG-Routing-Key': 'client' })),
    ).toEqual({
      'x-smg-routing-key': 'client',
    });
  });

  it("extraBody's prompt_cache_key is sent instead", async () => {
    const seen = await send('openai', 'chat', { session: 's', extraBody: { prompt_cache_key: 'mine' } });
    expect(seen.body[FIELD]).toBe('mine');
  });

  it('prompt_cache_key: 64 characters as they are, 65 as their SHA-256 (OpenAI takes at most 64)', async () => {
    const at = 'k'.repeat(64);
    expect((await send('openai', 'chat', { session: at })).body[FIELD]).toBe(at);
    const over = 'k'.repeat(65);
    const sent = (await send('openai', 'chat', { session: over })).body[FIELD] as string;
    expect(sent).toBe(createHash('sha256').update(over).digest('hex'));
    expect(sent).toHaveLength(64);
    // The same key, the same value: the session still routes as one.
    expect((await send('openai', 'chat', { session: over })).body[FIELD]).toBe(sent);
  });

  it('a key a header cannot carry as it is (spaces, non-ASCII) is percent-encoded, the same way each time', async () => {
    const key = 'user 42/é';
    const seen = await send('vllm', 'completion', { session: key });
    expect(seen.headers['x-session-id']).toBe(encodeURIComponent(key));
    expect((await send('vllm', 'completion', { session: key })).headers['x-session-id']).toBe(
      encodeURIComponent(key),
    );
    // Visible ASCII goes as it is.
    expect((await send('vllm', 'completion', { session: 'a:b/c=d' })).headers['x-session-id']).toBe(
      'a:b/c=d',
    );
  });

  it('a resumed stream carries the key on every attempt', async () => {
    const { client } = testClient(sim.url, {
      dialect: 'sglang',
      headers: { 'x-sim-dialect': 'sglang' },
      retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
    });
    try {
      const before = sim.report().requests.length;
      const result = await client
        .streamCompletion({
          prompt: [1, 2, 3],
          maxTokens: 6,
          session: 'conv-7',
          headers: { 'x-sim-fault': 'reset-after:3:once' },
        })
        .final();
      expect(result.stats.resumes).toBe(1);
      const attempts = sim.report().requests.slice(before);
      expect(attempts).toHaveLength(2);
      for (const attempt of attempts) expect(attempt.headers['x-smg-routing-key']).toBe('conv-7');
    } finally {
      await client.close();
    }
  });
});
