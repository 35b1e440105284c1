import { afterEach, describe, expect, it } from 'vitest';
import { type Cluster, startCluster } from '../../src/sim/cluster.js';
import { ReplicaModel, SIM_BLOCK_TOKENS } from '../../src/sim/replica-model.js';
import { post } from './helpers.js';

let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

const ids = (n: number, start = 300) => Array.from({ length: n }, (_, i) => start + i);

async function usageOf(url: string, prompt: number[]): Promise<Record<string, unknown>> {
  const res = await post(url, '/v1/completions', {
    prompt,
    max_tokens: 3,
    stream: true,
    stream_options: { include_usage: true },
  });
  expect(res.status).toBe(200);
  const events = res.text
    .split('\n\n')
    .filter((b) => b.startsWith('data: {'))
    .map((b) => JSON.parse(b.slice(6)));
  return events.find((e) => e.usage)!.usage;
}

describe('startCluster', () => {
  it('starts N replicas on distinct loopback URLs; bad counts are refused', async () => {
    cluster = await startCluster({ replicas: 3 });
    expect(new Set(cluster.urls).size).toBe(3);
    for (const url of cluster.urls) expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await expect(startCluster({ replicas: 0 })).rejects.toThrow(
      /'replicas' must be an integer from 1 to 64, got 0/,
    );
    await expect(startCluster({ replicas: 65 })).rejects.toThrow(/got 65/);
  });

  it('reports cached prompt tokens as vLLM does: whole blocks of a prefix seen before, absent when 0', async () => {
    cluster = await startCluster({ replicas: 2 });
    const [a, b] = cluster.urls;
    const prompt = ids(3 * SIM_BLOCK_TOKENS + 5);
    const first = await usageOf(a, prompt);
    expect(first.prompt_tokens).toBe(prompt.length);
    expect(first.prompt_tokens_details).toBeUndefined();
    expect((await usageOf(a, prompt)).prompt_tokens_details).toEqual({ cached_tokens: 3 * SIM_BLOCK_TOKENS });
    // A longer prompt sharing 2 whole blocks and then differing.
    const branch = [...prompt.slice(0, 2 * SIM_BLOCK_TOKENS + 3), ...ids(40, 450)];
    expect((await usageOf(a, branch)).prompt_tokens_details).toEqual({ cached_tokens: 2 * SIM_BLOCK_TOKENS });
    // Another replica has its own cache.
    expect((await usageOf(b, prompt)).prompt_tokens_details).toBeUndefined();
    const stats = cluster.stats();
    expect(stats.perReplica.map((s) => s.requests)).toEqual([3, 1]);
    expect(stats.cachedTokens).toBe(5 * SIM_BLOCK_TOKENS);
  });

  it('what a request generated stays cached: the next turn (prompt + output + more) hits it, the last id aside', async () => {
    cluster = await startCluster({ replicas: 1 });
    const [a] = cluster.urls;
    // 44 prompt ids (2 whole blocks) + 8 generated: 51 ids with a computed KV (the last id
    // is never fed back), 3 whole blocks.
    const prompt = ids(3 * SIM_BLOCK_TOKENS - 4);
    const res = await post(a, '/v1/completions', { prompt, max_tokens: 8, return_token_ids: true });
    expect(res.status).toBe(200);
    const output = JSON.parse(res.text).choices[0].token_ids as number[];
    expect(output).toHaveLength(8);
    const next = [...prompt, ...output, ...ids(10, 500)];
    expect((await usageOf(a, next)).prompt_tokens_details).toEqual({ cached_tokens: 3 * SIM_BLOCK_TOKENS });
    // The boundary: 45 prompt ids + 3 generated = 48, a 3rd whole block only with the last id,
    // which is not cached: 2 blocks hit.
    const edge = ids(3 * SIM_BLOCK_TOKENS - 3, 400);
    const edgeRes = await post(a, '/v1/completions', { prompt: edge, max_tokens: 3, return_token_ids: true });
    const edgeOut = JSON.parse(edgeRes.text).choices[0].token_ids as number[];
    expect((await usageOf(a, [...edge, ...edgeOut, 305])).prompt_tokens_details).toEqual({
      cached_tokens: 2 * SIM_BLOCK_TOKENS,
    });
  });

  it('a killed replica refuses connections; restarted on the same URL it serves again, its cache cold', async () => {
    cluster = await startCluster({ replicas: 2 });
    const replica = cluster.replicas[1];
    const url = replica.url;
    const prompt = ids(2 * SIM_BLOCK_TOKENS);
    await usageOf(url, prompt);
    await replica.kill();
    expect(replica.running).toBe(false);
    await expect(post(url, '/v1/completions', { prompt, max_tokens: 1 })).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
    await replica.restart();
    expect(replica.url).toBe(url);
    expect((await usageOf(url, prompt)).prompt_tokens_details).toBeUndefined();
    expect((await usageOf(url, prompt)).prompt_tokens_details).toEqual({
      cached_tokens: 2 * SIM_BLOCK_TOKENS,
    });
  });

  it('killing mid-stream cuts the stream (the client sees the socket end without [DONE])', async () => {
    cluster = await startCluster({ replicas: 1, tokenDelayMs: 5 });
    const pending = post(cluster.urls[0], '/v1/completions', {
      prompt: ids(4),
      max_tokens: 400,
      stream: true,
      return_token_ids: true,
    });
    await new Promise((r) => setTimeout(r, 60));
    await cluster.replicas[0].kill();
    const res = await pending;
    expect(res.text).toContain('"token_ids"');
    expect(res.text).not.toContain('[DONE]');
  });

  it('every replica serves the same model: greedy ids agree', async () => {
    cluster = await startCluster({ replicas: 2, seed: 9 });
    const texts = await Promise.all(
      cluster.urls.map((url) =>
        post(url, '/v1/completions', { prompt: ids(5), max_tokens: 8, return_token_ids: true }),
      ),
    );
    const [x, y] = texts.map((t) => JSON.parse(t.text).choices[0].token_ids);
    expect(x).toHaveLength(8);
    expect(x).toEqual(y);
  });
});

describe('ReplicaModel service rate', () => {
  it('streams beyond the concurrency slow each other in proportion; a slow replica by its factor', () => {
    const model = new ReplicaModel({ tokenDelayMs: 2, concurrency: 2, prefillMsPerToken: 0.5 });
    const a = model.admit(ids(10));
    expect(a.prefillMs).toBe(5);
    expect(model.tokenDelayMs()).toBe(2);
    model.admit(ids(3));
    expect(model.tokenDelayMs()).toBe(2);
    const c = model.admit(ids(32, 5000));
    expect(model.tokenDelayMs()).toBe(3);
    expect(c.prefillMs).toBeCloseTo(32 * 0.5 * 1.5);
    model.slowdown = 3;
    expect(model.tokenDelayMs()).toBe(9);
    c.release();
    c.release();
    expect(model.stats.active).toBe(2);
    expect(model.stats.maxActive).toBe(3);
  });

  it('the cache is bounded (LRU of blocks)', () => {
    const model = new ReplicaModel({ cacheBlocks: 2 });
    const p = ids(2 * SIM_BLOCK_TOKENS);
    const q = ids(2 * SIM_BLOCK_TOKENS, 7000);
    model.admit(p).release();
    model.admit(q).release();
    expect(model.admit(p).cachedTokens).toBe(0);
    expect(model.admit(p).cachedTokens).toBe(2 * SIM_BLOCK_TOKENS);
  });
});
