/**
 * After a resume through tokenwire/fetch, the usage chunk the SDK reads counts the whole
 * call: the continuation's prompt held the tokens received before the break, and a prefix
 * cache counts them too, so its cached_tokens can exceed the call's prompt. The relay caps
 * it at the call's prompt as the library does (usage.cachedPromptTokens).
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createFetch } from '../../src/fetch/index.js';
import { type Cluster, startCluster } from '../../src/sim/index.js';

let cluster: Cluster;
beforeAll(async () => {
  cluster = await startCluster({ replicas: 1, dialect: 'vllm', seed: 7 });
});
afterAll(async () => {
  await cluster.close();
});

const PROMPT = Array.from({ length: 40 }, (_, i) => 100 + i);

interface UsageChunk {
  prompt_tokens: number;
  completion_tokens: number;
  prompt_tokens_details?: { cached_tokens?: number };
}

/** The usage chunk and the text of a streamed completion as an SDK reads them. */
async function call(fault: string | undefined): Promise<{ usage: UsageChunk | undefined; text: string }> {
  const fetch = createFetch({
    failedRequestsDir: false,
    logger: () => {},
    retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
  });
  try {
    const response = await fetch(`${cluster.urls[0]}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(fault ? { 'x-sim-fault': fault } : {}) },
      body: JSON.stringify({
        model: 'sim-model',
        prompt: PROMPT,
        max_tokens: 24,
        temperature: 0,
        stream: true,
        stream_options: { include_usage: true },
      }),
    });
    const body = await response.text();
    let usage: UsageChunk | undefined;
    let text = '';
    for (const line of body.split('\n')) {
      if (!line.startsWith('data: {')) continue;
      const chunk = JSON.parse(line.slice(6)) as { usage?: UsageChunk; choices?: { text?: string }[] };
      if (chunk.usage) usage = chunk.usage;
      text += chunk.choices?.[0]?.text ?? '';
    }
    return { usage, text };
  } finally {
    await fetch.close();
  }
}

test('a resumed stream never reports more cached prompt tokens than the call prompt had', async () => {
  // Cold, then warm: the replica now caches the prompt and what it generated.
  const cold = await call(undefined);
  const warm = await call(undefined);
  expect(warm.usage?.prompt_tokens).toBe(40);
  expect(warm.usage?.prompt_tokens_details?.cached_tokens).toBe(32);
  // Broken after 20 tokens and resumed: the continuation's prompt is 60 ids, 48 of them cached.
  const resumed = await call('reset-after:20:once');
  expect(resumed.text).toBe(cold.text);
  expect(resumed.usage?.prompt_tokens).toBe(40);
  expect(resumed.usage?.completion_tokens).toBe(24);
  expect(resumed.usage?.prompt_tokens_details?.cached_tokens).toBe(40);
});
