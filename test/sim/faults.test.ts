/** Every fault observably happens on the wire (real sockets, raw node:http client). */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/sim/index.js';
import { blocks, dataJson, post } from './helpers.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ seed: 5 });
});
afterAll(async () => {
  await sim.close();
});

const BODY = { prompt: [1, 2, 3], max_tokens: 8, stream: true };
const faulty = (fault: string, dialect = 'vllm') => ({ 'x-sim-fault': fault, 'x-sim-dialect': dialect });
const tokenEvents = (text: string) =>
  dataJson(text).filter((e) => e.choices?.length > 0 && e.choices[0].text !== '');

describe('stream-ending faults', () => {
  it('reset-after:3 → exactly 3 token events, then a socket error (RST), no [DONE]', async () => {
    const res = await post(sim.url, '/v1/completions', BODY, faulty('reset-after:3'));
    expect(tokenEvents(res.text)).toHaveLength(3);
    expect(res.text).not.toContain('[DONE]');
    expect(res.error?.code).toMatch(/ECONNRESET|aborted/);
    const last = sim.report().requests.at(-1)!;
    expect(last).toMatchObject({ faults: ['reset-after'], tokensSent: 3, outcome: 'fault' });
  });

  it('truncate-after:4 → 4 token events, clean end, no finish_reason and no [DONE]', async () => {
    const res = await post(sim.url, '/v1/completions', BODY, faulty('truncate-after:4'));
    expect(res.error).toBeUndefined();
    expect(tokenEvents(res.text)).toHaveLength(4);
    expect(dataJson(res.text).every((e) => e.choices[0].finish_reason === null)).toBe(true);
    expect(res.text).not.toContain('[DONE]');
  });

  it(':once makes a fault fire for the first request with that spec only', async () => {
    const first = await post(sim.url, '/v1/completions', BODY, faulty('truncate-after:2:once'));
    const second = await post(sim.url, '/v1/completions', BODY, faulty('truncate-after:2:once'));
    expect(tokenEvents(first.text)).toHaveLength(2);
    expect(second.text).toContain('[DONE]');
  });

  it('status:429:retry-after=1 / retry-after-ms / retry-after-date set the headers; 502 is an HTML page', async () => {
    const seconds = await post(sim.url, '/v1/completions', BODY, faulty('status:429:retry-after=1'));
    expect(seconds.status).toBe(429);
    expect(seconds.headers['retry-after']).toBe('1');
    const ms = await post(sim.url, '/v1/completions', BODY, faulty('status:503:retry-after-ms=250'));
    expect(ms.headers['retry-after-ms']).toBe('250');
    const date = await post(sim.url, '/v1/completions', BODY, faulty('status:429:retry-after-date=2'));
    expect(Date.parse(date.headers['retry-after'] as string)).toBeGreaterThan(Date.now());
    const proxy = await post(sim.url, '/v1/completions', BODY, faulty('status:502'));
    expect(proxy.status).toBe(502);
    expect(proxy.headers['content-type']).toBe('text/html');
    expect(proxy.text).toContain('<html>');
  });

  it('fail-first:2:500 fails the first two requests carrying that spec, then serves', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++)
      statuses.push((await post(sim.url, '/v1/completions', BODY, faulty('fail-first:2:500'))).status);
    expect(statuses).toEqual([500, 500, 200]);
    // A 429 comes with Retry-After.
    const limited = await post(sim.url, '/v1/completions', BODY, faulty('fail-first:1:429'));
    expect(limited.headers['retry-after']).toBe('1');
  });

  it('html-200 and json-200 answer a stream request with the wrong content', async () => {
    const html = await post(sim.url, '/v1/completions', BODY, faulty('html-200'));
    expect(html.status).toBe(200);
    expect(html.headers['content-type']).toContain('text/html');
    const json = await post(sim.url, '/v1/completions', BODY, faulty('json-200'));
    expect(json.headers['content-type']).toBe('application/json');
    expect(JSON.parse(json.text).choices[0].finish_reason).toBe('length');
  });
});

describe('framing faults', () => {
  it('byte-writes → the body arrives in many chunks (one byte each)', async () => {
    const res = await post(sim.url, '/v1/completions', { ...BODY, max_tokens: 2 }, faulty('byte-writes'));
    expect(res.text.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(res.chunks.length).toBeGreaterThan(res.body.length / 4);
  });

  it('line-endings:cr and :crlf rewrite every line ending', async () => {
    const cr = await post(sim.url, '/v1/completions', BODY, faulty('line-endings:cr'));
    expect(cr.text).not.toContain('\n');
    expect(cr.text.endsWith('data: [DONE]\r\r')).toBe(true);
    const crlf = await post(sim.url, '/v1/completions', BODY, faulty('line-endings:crlf'));
    expect(crlf.text.endsWith('data: [DONE]\r\n\r\n')).toBe(true);
    expect(crlf.text.replaceAll('\r\n', '')).not.toMatch(/[\r\n]/);
  });

  it('error-after:2 in the vLLM shape: data {"error"} then [DONE]', async () => {
    const res = await post(sim.url, '/v1/completions', BODY, faulty('error-after:2'));
    expect(tokenEvents(res.text)).toHaveLength(2);
    expect(blocks(res.text).slice(-2)[0]).toMatch(/^data: \{"error":\{"message":/);
  });

  it('bad-json-after:2 → one invalid event, then the stream continues normally', async () => {
    const res = await post(sim.url, '/v1/completions', BODY, faulty('bad-json-after:2'));
    const bad = blocks(res.text).filter((block) => {
      if (!block.startsWith('data: {')) return false;
      try {
        JSON.parse(block.slice(6));
        return false;
      } catch {
        return true;
      }
    });
    expect(bad).toHaveLength(1);
    expect(res.text.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('huge-line:1 → one data line over 1 MiB, valid JSON', async () => {
    const res = await post(sim.url, '/v1/completions', BODY, faulty('huge-line:1'));
    const longest = blocks(res.text).reduce((a, b) => (a.length > b.length ? a : b));
    expect(longest.length).toBeGreaterThan(1024 * 1024);
    expect(() => JSON.parse(longest.slice(6))).not.toThrow();
    expect(res.text.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('data-after-done sends junk after [DONE]; no-blank-line-at-end drops the last blank line', async () => {
    const junk = await post(sim.url, '/v1/completions', BODY, faulty('data-after-done'));
    expect(junk.text.split('data: [DONE]\n\n')[1]).toContain('JUNK AFTER DONE');
    const noBlank = await post(sim.url, '/v1/completions', BODY, faulty('no-blank-line-at-end'));
    expect(noBlank.text.endsWith('}\n\ndata: [DONE]\n')).toBe(true);
    const native = await post(sim.url, '/completion', BODY, faulty('no-blank-line-at-end:bare', 'llamacpp'));
    expect(native.text.endsWith('}')).toBe(true);
  });
});

describe('timing faults', () => {
  it('stall-headers, stall-first-token and stall-after:K:MS delay the right moment', async () => {
    const t0 = Date.now();
    await post(sim.url, '/v1/completions', BODY, faulty('stall-headers:150'));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    const timed = await timedChunks('stall-after:2:200');
    const gap = Math.max(...timed.slice(1).map((c, i) => c.at - timed[i].at));
    expect(gap).toBeGreaterThanOrEqual(180);
    const first = await timedChunks('stall-first-token:150');
    expect(first.find((c) => c.text.includes('"text"'))!.at - first[0].headersAt).toBeGreaterThanOrEqual(140);
  });

  it('keepalive:MS sends comment lines during a stall; trickle sends one byte per write', async () => {
    const res = await post(sim.url, '/v1/completions', BODY, faulty('keepalive:20,stall-after:1:150'));
    expect(blocks(res.text).filter((b) => b.startsWith(':')).length).toBeGreaterThanOrEqual(3);
    const trickle = await post(sim.url, '/v1/completions', { ...BODY, max_tokens: 1 }, faulty('trickle:0'));
    expect(trickle.chunks.length).toBeGreaterThan(100);
  });

  it('keepalive-forever: 200, headers, then only comments until the client closes (counted as client-closed)', async () => {
    sim.resetReport();
    const seen = await new Promise<string>((resolve, reject) => {
      const req = request(`${sim.url}/v1/completions`, {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'x-sim-fault': 'keepalive-forever:10' },
      });
      req.on('error', () => {});
      req.on('response', (res) => {
        expect(res.statusCode).toBe(200);
        let text = '';
        res.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          if (text.split('\n\n').length > 4) {
            req.destroy();
            resolve(text);
          }
        });
        res.on('error', () => {});
      });
      req.on('timeout', reject);
      req.end(JSON.stringify(BODY));
    });
    expect(blocks(seen).every((b) => b.startsWith(':'))).toBe(true);
    await until(() => sim.report().clientClosedSockets === 1);
    expect(sim.report().requests[0].outcome).toBe('client-closed');
  });
});

describe('fault grammar', () => {
  it('rejects unknown faults and bad arguments with a 400 naming them', async () => {
    const unknown = await post(sim.url, '/v1/completions', BODY, faulty('explode'));
    expect(unknown.status).toBe(400);
    expect(unknown.text).toContain("unknown fault 'explode'");
    const bad = await post(sim.url, '/v1/completions', BODY, faulty('reset-after:x'));
    expect(bad.status).toBe(400);
    await expect(startSimulator({ faults: 'line-endings:lf' })).rejects.toThrow(/line-endings/);
  });

  it('stall-first-token:MS:every=N stalls only every Nth request of this server (1, 2, N-1 do not; N, 2N do)', async () => {
    const everySim = await startSimulator({ faults: 'stall-first-token:5000:every=3' });
    try {
      const stalled: boolean[] = [];
      for (let i = 1; i <= 6; i++) {
        if (i % 3 === 0) {
          // The stalled ones are cut short: only whether the stall fired matters.
          const controller = new AbortController();
          const pending = fetch(`${everySim.url}/v1/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(BODY),
            signal: controller.signal,
          }).then((res) => res.body?.getReader().read());
          for (let t = 0; t < 200 && everySim.report().faultsFired['stall-first-token'] !== i / 3; t++) {
            await new Promise((r) => setTimeout(r, 5));
          }
          controller.abort();
          await pending.catch(() => {});
        } else {
          await post(everySim.url, '/v1/completions', BODY, {});
        }
        stalled.push(everySim.report().requests[i - 1].faults.includes('stall-first-token'));
      }
      expect(stalled).toEqual([false, false, true, false, false, true]);
    } finally {
      await everySim.close();
    }
    await expect(startSimulator({ faults: 'stall-first-token:10:every=0' })).rejects.toThrow(
      /the optional last argument is every=N/,
    );
    await expect(startSimulator({ faults: 'stall-first-token:10:3' })).rejects.toThrow(/every=N/);
  });

  it('server-wide faults apply to every request and combine with the header', async () => {
    const faultySim = await startSimulator({ faults: 'truncate-after:1' });
    try {
      const res = await post(faultySim.url, '/v1/completions', BODY, { 'x-sim-fault': 'line-endings:crlf' });
      expect(res.text).not.toContain('[DONE]');
      expect(res.text).toContain('\r\n\r\n');
      expect(faultySim.report().faultsFired).toEqual({ 'truncate-after': 1, 'line-endings': 1 });
    } finally {
      await faultySim.close();
    }
  });
});

async function until(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function timedChunks(fault: string): Promise<{ at: number; headersAt: number; text: string }[]> {
  return new Promise((resolve, reject) => {
    const req = request(`${sim.url}/v1/completions`, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/json', 'x-sim-fault': fault },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const headersAt = Date.now();
      const out: { at: number; headersAt: number; text: string }[] = [];
      res.on('data', (chunk: Buffer) => out.push({ at: Date.now(), headersAt, text: chunk.toString() }));
      res.on('end', () => resolve(out));
    });
    req.end(JSON.stringify(BODY));
  });
}
