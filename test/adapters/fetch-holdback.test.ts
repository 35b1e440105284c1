/**
 * tokenwire/fetch relays the server's chunks as they are: it cannot add text vLLM held back
 * (as a possible stop string) when the stream broke, nor check a stop string across the
 * break. Such a stream is not resumed: the SDK reads the error, never a text missing part.
 * Without stop strings the same break is resumed.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createFetch } from '../../src/fetch/index.js';
import { type Simulator, startSimulator } from '../../src/sim/index.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ dialect: 'vllm', model: 'm', seed: 11 });
});
afterAll(async () => {
  await sim.close();
});

/** The text of a completions stream as an SDK reads it (the `text` of each chunk). */
async function streamedText(fault: string | undefined, stop: string[] | undefined): Promise<string> {
  const fetch = createFetch({
    failedRequestsDir: false,
    logger: () => {},
    retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
  });
  try {
    const response = await fetch(`${sim.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(fault ? { 'x-sim-fault': fault } : {}) },
      body: JSON.stringify({
        model: 'm',
        prompt: [1, 17, 29, 301],
        max_tokens: 16,
        stream: true,
        stop,
      }),
    });
    const body = await response.text();
    let text = '';
    for (const line of body.split('\n')) {
      if (!line.startsWith('data: {')) continue;
      const chunk = JSON.parse(line.slice(6)) as { choices?: { text?: string }[] };
      text += chunk.choices?.[0]?.text ?? '';
    }
    return text;
  } finally {
    await fetch.close();
  }
}

test('a break while vLLM may hold text back: the SDK reads the error, not a shorter text', async () => {
  const full = await streamedText(undefined, ['Q#Q#']);
  expect(full.length).toBeGreaterThan(10);
  const error = await streamedText('truncate-after:6:once', ['Q#Q#']).then(
    () => undefined,
    (e: Error) => e,
  );
  expect(error?.message).toMatch(
    /not resumed: tokenwire\/fetch does not continue a stream with stop strings/,
  );
});

test('without stop strings the same break is resumed', async () => {
  const full = await streamedText(undefined, undefined);
  expect(await streamedText('truncate-after:7:once', undefined)).toBe(full);
});
