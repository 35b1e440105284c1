/**
 * What a stream generated is part of its endpoint's prefix tree: when a stream ends
 * (complete, or resumed elsewhere after a break) its endpoint learns prompt + generated
 * ids (text, the assistant message), so the next turn of a conversation — which sends
 * exactly that prefix — goes there. The cases are those where the prompt alone cannot
 * tell the endpoints apart: conversations that share their first turn (samples of one
 * prompt), so every endpoint holds the same prompt blocks.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type ChatMessage, Client, type ClientOptions } from '../../src/index.js';
import { type Cluster, type ClusterOptions, startCluster } from '../../src/sim/index.js';

let cluster: Cluster | undefined;
const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await cluster?.close();
  cluster = undefined;
});

async function fleet(clusterOptions: ClusterOptions, options: ClientOptions = {}): Promise<Client> {
  cluster = await startCluster({ dialect: 'vllm', seed: 7, ...clusterOptions });
  const client = new Client({
    endpoints: [...cluster.urls],
    dialect: 'vllm',
    failedRequestsDir: false,
    logger: () => {},
    // Round-robin: whatever affinity does not decide moves to the next replica.
    routing: { policy: 'round-robin' },
    retry: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 20 },
    timeouts: { idleMs: 2_000, firstTokenMs: 2_000, totalMs: 10_000 },
    ...options,
  });
  clients.push(client);
  return client;
}

const REPLICAS = 3;
/** Seven: three on the first replica, three on the second, one on the third (see `conversations`). */
const SESSIONS = 7;
const TURNS = 4;
/** The shared first prompt: 2 whole 16-id blocks and 8 more. */
const FIRST = Array.from({ length: 40 }, (_, i) => 300 + i);

/** One turn of session `s`: where it was served, how it was chosen, and the next turn's prompt. */
type Turn<P> = (s: number, prompt: P) => Promise<{ url: string; chosenBy: string; next: P }>;

/**
 * SESSIONS conversations at once, all starting with the same prompt (samples of one
 * question), round-robin for whatever affinity does not decide. The first turns start
 * together: affinity sends them to the first replica up to its bound (least-loaded ×
 * 1.25 + 2: three), then to the second (three), then round-robin to the third. Every
 * replica then holds the shared prompt, whose blocks tell them apart no more: only
 * what each generated does. At a later pick a replica has at most two other sessions
 * in flight: within the bound at any load, so affinity never yields.
 */
async function conversations<P>(first: P, turn: Turn<P>): Promise<void> {
  const served = await Promise.all(
    Array.from({ length: SESSIONS }, async (_, s) => {
      let prompt = first;
      const steps: string[] = [];
      for (let t = 0; t < TURNS; t++) {
        const { url, chosenBy, next } = await turn(s, prompt);
        steps.push(t === 0 ? url : `${url} ${chosenBy}`);
        prompt = next;
      }
      return steps;
    }),
  );
  for (const steps of served) {
    expect(steps.slice(1), `session of ${steps[0]}`).toEqual(
      steps.slice(1).map(() => `${steps[0]} affinity`),
    );
  }
  expect(cluster!.stats().perReplica.map((r) => r.requests)).toEqual([3 * TURNS, 3 * TURNS, TURNS]);
}

describe('generated ids in the prefix tree', () => {
  it('id conversations sharing their first turn: turns 2..n go where the turn before was generated', async () => {
    const client = await fleet({ replicas: REPLICAS, tokenDelayMs: 1 });
    await conversations(FIRST, async (s, prompt) => {
      // Sampled with a seed of its own: the sessions' replies differ.
      const result = await client
        .streamCompletion({ prompt, maxTokens: 8, sampling: { temperature: 1, seed: s + 1 } })
        .final();
      // 8 generated + 3 user ids: the next prompt's 3rd block holds generated ids.
      return {
        ...result.stats.endpoints[0],
        next: [...prompt, ...(result.ids as number[]), 400 + s, 401, 402],
      };
    });
    // The replicas found the generated blocks cached: turn 2 sends 40 + 8 + 3 ids, 3 whole blocks.
    expect(cluster!.stats().cachedTokens).toBeGreaterThanOrEqual(SESSIONS * (TURNS - 1) * 3 * 16);
  });

  it('text prompts: the generated text continues the prompt text, the next turn follows it', async () => {
    const client = await fleet({ replicas: REPLICAS, tokenDelayMs: 1 });
    // 90 characters: one whole 64-character block.
    await conversations('The quick brown fox jumps over the lazy dog. '.repeat(2), async (s, prompt) => {
      const result = await client
        .streamCompletion({ prompt, maxTokens: 16, sampling: { temperature: 1, seed: 100 + s } })
        .final();
      return { ...result.stats.endpoints[0], next: `${prompt}${result.text}\nQ: and then? A:` };
    });
  });

  it('chat: the assistant reply appended as the next message is the next turn’s prefix', async () => {
    const client = await fleet({ replicas: REPLICAS, tokenDelayMs: 1 });
    const first: ChatMessage[] = [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Tell me a story.' },
    ];
    await conversations(first, async (s, messages) => {
      const result = await client
        .streamChat({ messages, maxTokens: 8, sampling: { temperature: 1, seed: 200 + s } })
        .final();
      const next: ChatMessage[] = [
        ...messages,
        { role: 'assistant', content: result.message.content },
        { role: 'user', content: 'Go on.' },
      ];
      return { ...result.stats.endpoints[0], next };
    });
  });

  it('chat with tool calls: the call written back in the OpenAI shape (any field order) matches what was learned', async () => {
    const client = await fleet({ replicas: REPLICAS, tokenDelayMs: 1 });
    const tools = [{ type: 'function', function: { name: 'search', parameters: { type: 'object' } } }];
    const first: ChatMessage[] = [{ role: 'user', content: 'Find me a story.' }];
    await conversations(first, async (s, messages) => {
      // The whole scripted call is 48 ids, the same in every reply; its id follows the seed.
      const headers = { 'x-sim-seed': String(300 + s) };
      const result = await client.streamChat({ messages, tools, maxTokens: 64, headers }).final();
      const [call] = result.message.toolCalls;
      expect(call.id).toBeDefined();
      const next: ChatMessage[] = [
        ...messages,
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { type: 'function', function: { arguments: call.arguments, name: call.name }, id: call.id },
          ],
        },
        { role: 'tool', tool_call_id: call.id, content: 'Once upon a time.' },
      ];
      return { ...result.stats.endpoints[0], next };
    });
  });

  it('a stream resumed on another replica: the next turn goes where the whole reply is, not the broken part', async () => {
    const client = await fleet({ replicas: 2, replica: [{ faults: 'reset-after:5:once' }] });
    const result = await client.streamCompletion({ prompt: FIRST, maxTokens: 24 }).final();
    const [a, b] = cluster!.urls;
    expect(result.stats.endpoints.map((e) => [e.url, e.tokens, e.failed])).toEqual([
      [a, 5, 'connection_reset'],
      [b, 19, undefined],
    ]);
    // Both hold the prompt; A holds 5 generated ids (no whole block more), B all 24.
    const next = await client
      .streamCompletion({ prompt: [...FIRST, ...(result.ids as number[]), 500], maxTokens: 2 })
      .final();
    expect(next.stats.endpoints[0]).toMatchObject({ url: b, chosenBy: 'affinity' });
  });

  it('the prefix tree stays bounded: prefixCapacity keys per endpoint, generated blocks included', async () => {
    const client = await fleet({ replicas: 2 }, { routing: { policy: 'round-robin', prefixCapacity: 8 } });
    let prompt = FIRST;
    for (let turn = 0; turn < 6; turn++) {
      const result = await client.streamCompletion({ prompt, maxTokens: 32 }).final();
      prompt = [...prompt, ...(result.ids as number[])];
    }
    for (const endpoint of client.endpoints()) expect(endpoint.prefixBlocks).toBeLessThanOrEqual(8);
    expect(Math.max(...client.endpoints().map((e) => e.prefixBlocks))).toBeGreaterThan(0);
  });
});
