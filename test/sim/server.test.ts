/** Server lifecycle and report: loopback only, redaction, client closes, no leaked handles, many streams. */
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { startSimulator } from '../../src/sim/index.js';
import { dataJson, post } from './helpers.js';

describe('simulator server', () => {
  it('refuses non-loopback hosts and bad options with a clear error', async () => {
    await expect(startSimulator({ host: '0.0.0.0' })).rejects.toThrow(/loopback/);
    await expect(startSimulator({ dialect: 'nope' as never })).rejects.toThrow(/unknown dialect/);
    await expect(startSimulator({ idsPerChunk: 0 })).rejects.toThrow(/idsPerChunk/);
  });

  it('serves on ::1 too', async () => {
    const sim = await startSimulator({ host: '::1' });
    try {
      expect(sim.url).toBe(`http://[::1]:${sim.port}`);
      expect((await post(sim.url, '/v1/models', undefined, {}, 'GET')).status).toBe(200);
    } finally {
      await sim.close();
    }
  });

  it('reports requests with redacted authorization, parsed body, outcome and tokens sent', async () => {
    const lines: string[] = [];
    const sim = await startSimulator({ log: (line) => lines.push(line), eosAfter: 3 });
    try {
      await post(
        sim.url,
        '/v1/completions',
        { prompt: [1, 2], max_tokens: 8, stream: true },
        { authorization: 'Bearer sk-secret' },
      );
      const [record] = sim.report().requests;
      expect(record).toMatchObject({
        seq: 1,
        method: 'POST',
        path: '/v1/completions',
        dialect: 'vllm',
        tokensSent: 3,
        outcome: 'complete',
        faults: [],
      });
      expect(record.headers.authorization).toBe('[redacted]');
      expect(record.body).toMatchObject({ prompt: [1, 2] });
      expect(JSON.stringify(sim.report())).not.toContain('sk-secret');
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(lines.join('\n')).toContain('outcome=complete');
      sim.resetReport();
      expect(sim.report().requests).toHaveLength(0);
    } finally {
      await sim.close();
    }
  });

  it('eosAfter / x-sim-eos-after end with EOS (id 2) and finish_reason stop', async () => {
    const sim = await startSimulator();
    try {
      const events = dataJson(
        (
          await post(
            sim.url,
            '/v1/completions',
            { prompt: [1, 2], max_tokens: 8, stream: true, return_token_ids: true },
            { 'x-sim-eos-after': '4' },
          )
        ).text,
      );
      expect(events.flatMap((e) => e.choices[0].token_ids)).toHaveLength(4);
      expect(events.at(-1)!.choices[0]).toMatchObject({ token_ids: [2], text: '', finish_reason: 'stop' });
    } finally {
      await sim.close();
    }
  });

  it('counts a client that closes mid-stream, and close() destroys open sockets so nothing is left', async () => {
    const sim = await startSimulator({ tokenDelayMs: 20 });
    await new Promise<void>((resolve) => {
      const req = request(`${sim.url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
      });
      req.on('error', () => {});
      req.on('response', (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.end(JSON.stringify({ prompt: [1], max_tokens: 100, stream: true }));
    });
    for (let i = 0; i < 100 && sim.report().clientClosedSockets === 0; i++)
      await new Promise((r) => setTimeout(r, 5));
    expect(sim.report().clientClosedSockets).toBe(1);
    expect(sim.report().requests[0].outcome).toBe('client-closed');

    // A stream left running (keepalive-forever) must not keep the server or a timer alive.
    const hanging = new Promise<void>((resolve) => {
      const req = request(`${sim.url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-sim-fault': 'keepalive-forever:5' },
      });
      req.on('error', () => resolve());
      req.on('response', (res) => {
        res.on('error', () => resolve());
        res.on('close', () => resolve());
        res.resume();
      });
      req.end(JSON.stringify({ prompt: [1], stream: true }));
    });
    // Wait for its keepalive to run (an open socket alone may still be the first request's).
    for (let i = 0; i < 400 && (sim.report().faultsFired['keepalive-forever'] ?? 0) === 0; i++)
      await new Promise((r) => setTimeout(r, 5));
    expect(sim.report().faultsFired['keepalive-forever']).toBe(1);
    expect(sim.report().openSockets).toBeGreaterThan(0);
    const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    await sim.close();
    await hanging;
    await new Promise((r) => setTimeout(r, 20));
    expect(sim.report().openSockets).toBe(0);
    const after = process.getActiveResourcesInfo();
    expect(after.filter((r) => r === 'Timeout').length).toBeLessThan(before);
    expect(after.filter((r) => r === 'TCPServerWrap' || r === 'TCPSocketWrap')).toHaveLength(0);
  });

  it('serves 1,000 concurrent streams', async () => {
    const sim = await startSimulator();
    try {
      const started = Date.now();
      const results = await Promise.all(
        Array.from({ length: 1000 }, (_, i) =>
          post(sim.url, '/v1/completions', {
            prompt: [1, (i % 250) + 3],
            max_tokens: 64,
            stream: true,
            return_token_ids: true,
          }),
        ),
      );
      const elapsed = Date.now() - started;
      expect(results.every((r) => r.text.endsWith('data: [DONE]\n\n'))).toBe(true);
      expect(
        results.every((r) => dataJson(r.text).flatMap((e) => e.choices[0]?.token_ids ?? []).length === 64),
      ).toBe(true);
      expect(elapsed).toBeLessThan(10_000);
    } finally {
      await sim.close();
    }
  });
});
