/**
 * A client with one server (baseUrl) has nowhere else to send a call: failing calls must not
 * eject it, or every later call waits out a cooldown that grows to a minute (measured before
 * the fix: 1.3 s, 7 s, 56 s, then the 180 s total deadline for calls 1-4 against a server
 * whose streams all end in an in-stream error).
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { Client, type ClientOptions } from '../../src/index.js';
import { type Simulator, startSimulator } from '../../src/sim/index.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ dialect: 'vllm', seed: 3 });
});
afterAll(async () => {
  await sim.close();
});

/** A client of the simulator whose every stream ends in an in-stream error after 1 token. */
function failingClient(options: Pick<ClientOptions, 'retry' | 'timeouts' | 'routing'>): Client {
  return new Client({
    baseUrl: sim.url,
    dialect: 'vllm',
    model: 'sim-model',
    failedRequestsDir: false,
    logger: () => {},
    headers: { 'x-sim-fault': 'error-after:1' },
    ...options,
  });
}

test('failing calls to a single server each fail with their own error, never a cooldown wait', async () => {
  const client = failingClient({
    retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
    timeouts: { totalMs: 4_000 },
  });
  try {
    for (let call = 0; call < 6; call++) {
      const error = await client
        .streamCompletion({ prompt: [1, 2, 3], maxTokens: 4 })
        .final()
        .then(
          () => undefined,
          (e: { code?: string }) => e,
        );
      expect(error?.code, `call ${call}`).toBe('server_error');
      expect(client.endpoints()[0].state, `call ${call}`).toBe('healthy');
    }
  } finally {
    await client.close();
  }
});

test('an explicit routing.health still ejects a single server', async () => {
  const client = failingClient({
    retry: { maxAttempts: 1 },
    routing: { health: { consecutiveFailures: 2 } },
  });
  try {
    for (let call = 0; call < 2; call++) {
      await client
        .streamCompletion({ prompt: [1, 2, 3], maxTokens: 4 })
        .final()
        .catch(() => undefined);
    }
    expect(client.endpoints()[0].state).toBe('ejected');
  } finally {
    await client.close();
  }
});
