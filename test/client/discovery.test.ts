/**
 * Endpoints from DNS with a test resolver: two simulators on the same port, one on
 * 127.0.0.1 and one on ::1, behind the name `replicas.test`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { addressUrl } from '../../src/fleet/discovery.js';
import { Client, type LogRecord } from '../../src/index.js';
import { type Simulator, startSimulator } from '../../src/sim/index.js';

const sims: Simulator[] = [];
const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

async function pair(): Promise<{ port: number; v4: Simulator; v6: Simulator }> {
  const v4 = await startSimulator({ dialect: 'vllm' });
  const v6 = await startSimulator({ dialect: 'vllm', host: '::1', port: v4.port });
  sims.push(v4, v6);
  return { port: v4.port, v4, v6 };
}

function discoveryClient(port: number, resolve: () => Promise<string[]> | string[]) {
  const logs: LogRecord[] = [];
  const names: string[] = [];
  const client = new Client({
    discovery: {
      url: `http://replicas.test:${port}`,
      intervalMs: 60_000,
      resolver: async (name) => {
        names.push(name);
        return resolve();
      },
    },
    dialect: 'vllm',
    failedRequestsDir: false,
    logger: (record) => logs.push(record),
    routing: { policy: 'round-robin' },
  });
  clients.push(client);
  return { client, logs, names };
}

describe('discovery', () => {
  it('one endpoint per address, added and drained as the name re-resolves', async () => {
    const { port, v4, v6 } = await pair();
    let addresses = ['127.0.0.1'];
    const { client, names } = discoveryClient(port, () => addresses);
    await client.refreshEndpoints();
    expect(names[0]).toBe('replicas.test');
    expect(client.endpoints().map((e) => e.url)).toEqual([`http://127.0.0.1:${port}`]);
    await client.streamCompletion({ prompt: [1, 2], maxTokens: 2 }).final();

    addresses = ['127.0.0.1', '::1'];
    await client.refreshEndpoints();
    expect(client.endpoints().map((e) => e.url)).toEqual([
      `http://127.0.0.1:${port}`,
      `http://[::1]:${port}`,
    ]);
    for (let i = 0; i < 4; i++) await client.streamCompletion({ prompt: [1, 2], maxTokens: 2 }).final();
    expect(v6.report().requests.length).toBeGreaterThan(0);

    // 127.0.0.1 leaves: drained (gone once idle), every request goes to ::1.
    addresses = ['::1'];
    await client.refreshEndpoints();
    expect(client.endpoints().map((e) => e.url)).toEqual([`http://[::1]:${port}`]);
    const before = v4.report().requests.length;
    for (let i = 0; i < 3; i++) await client.streamCompletion({ prompt: [1, 2], maxTokens: 2 }).final();
    expect(v4.report().requests.length).toBe(before);
  });

  it('a stream started before the first answer waits for it, then runs', async () => {
    const { port } = await pair();
    const { client } = discoveryClient(port, () => new Promise((r) => setTimeout(() => r(['::1']), 50)));
    const result = await client.streamCompletion({ prompt: [1, 2, 3], maxTokens: 3 }).final();
    expect(result.stats.endpoints.map((e) => e.url)).toEqual([`http://[::1]:${port}`]);
  });

  it('a failed resolution keeps the endpoints and says so', async () => {
    const { port } = await pair();
    let fail = false;
    const { client, logs } = discoveryClient(port, () => {
      if (fail) throw new Error('SERVFAIL');
      return ['127.0.0.1'];
    });
    await client.refreshEndpoints();
    fail = true;
    await client.refreshEndpoints();
    expect(client.endpoints().map((e) => e.url)).toEqual([`http://127.0.0.1:${port}`]);
    expect(logs.find((r) => r.event === 'discovery_failed')).toMatchObject({ error: 'Error: SERVFAIL' });
  });

  it('refuses an address as the name, and a bad interval', () => {
    expect(() => new Client({ discovery: { url: 'http://127.0.0.1:8000' } })).toThrow(
      /invalid option discovery.url: "http:\/\/127.0.0.1:8000" \(expected a URL whose host is a DNS name\)/,
    );
    expect(() => new Client({ discovery: { url: 'http://svc:8000', intervalMs: 5 } })).toThrow(
      /invalid option discovery.intervalMs: 5/,
    );
    expect(() => new Client({ discovery: { url: 'http://svc:8000' }, baseUrl: 'http://a:1' })).toThrow(
      /one of baseUrl, endpoints or discovery/,
    );
  });

  it('addressUrl keeps scheme, port and path; IPv6 in brackets', () => {
    expect(addressUrl(new URL('http://svc:8000/v1x'), '10.1.2.3')).toBe('http://10.1.2.3:8000/v1x');
    expect(addressUrl(new URL('https://svc'), 'fd00::1')).toBe('https://[fd00::1]');
  });
});
