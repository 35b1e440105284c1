/**
 * DNS discovery of `https` endpoints: each resolved address is its own endpoint, yet the
 * connection is made for the name — TLS servername (SNI, and the certificate check) and
 * the Host header are the name, not the address. A loopback TLS front (openssl
 * self-signed certificate for `localhost`) over the simulator, and a test resolver.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, type ClientOptions } from '../../src/index.js';
import { generate, type Simulator, startSimulator } from '../../src/sim/index.js';
import { caught } from '../helpers/client.js';
import {
  makeCertificate,
  startTlsFront,
  type TestCertificate,
  type TlsFront,
} from '../helpers/connect-proxy.js';

const PROMPT = [5, 6, 7];
const MAX_TOKENS = 8;

let sim: Simulator;
let cert: TestCertificate;
let front: TlsFront;
let port: number;

beforeAll(async () => {
  sim = await startSimulator({ dialect: 'vllm' });
  cert = makeCertificate();
  front = await startTlsFront(sim.port, { cert: cert.cert, key: cert.key });
  port = Number(new URL(front.url).port);
}, 60_000);

afterAll(async () => {
  await Promise.all([front?.close(), sim?.close()]);
});

/** A client whose endpoints are `name` resolved (by a test resolver) to 127.0.0.1. */
async function withDiscovery<T>(
  name: string,
  options: ClientOptions,
  fn: (client: Client, resolved: string[]) => Promise<T>,
): Promise<T> {
  const resolved: string[] = [];
  const client = new Client({
    discovery: {
      url: `https://${name}:${port}`,
      intervalMs: 60_000,
      resolver: async (host) => {
        resolved.push(host);
        return ['127.0.0.1'];
      },
    },
    dialect: 'vllm',
    failedRequestsDir: false,
    logger: () => {},
    retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5 },
    ...options,
  });
  try {
    await client.refreshEndpoints();
    return await fn(client, resolved);
  } finally {
    await client.close();
  }
}

describe('https discovery: connected by address, verified for the name', () => {
  it('the certificate for the name verifies; the server sees the name as Host; exact ids', async () => {
    await withDiscovery('localhost', { tls: { ca: cert.cert } }, async (client, resolved) => {
      expect(new Set(resolved)).toEqual(new Set(['localhost']));
      expect(client.endpoints().map((e) => e.url)).toEqual([`https://127.0.0.1:${port}`]);
      const before = sim.report().requests.length;
      const result = await client.streamCompletion({ prompt: PROMPT, maxTokens: MAX_TOKENS }).final();
      expect(result.ids).toEqual(generate(PROMPT, MAX_TOKENS));
      expect(result.stats.endpoints[0].url).toBe(`https://127.0.0.1:${port}`);
      const seen = sim.report().requests.slice(before);
      expect(seen.map((r) => r.headers.host)).toEqual([`localhost:${port}`]);
    });
  });

  it('JSON requests too (models, tokenize, and the server detection of dialect auto)', async () => {
    await withDiscovery('localhost', { tls: { ca: cert.cert }, dialect: 'auto' }, async (client) => {
      const before = sim.report().requests.length;
      expect((await client.tokenize('hello')).length).toBeGreaterThan(0);
      const result = await client.streamCompletion({ prompt: PROMPT, maxTokens: MAX_TOKENS }).final();
      expect(result.ids).toEqual(generate(PROMPT, MAX_TOKENS));
      const hosts = new Set(
        sim
          .report()
          .requests.slice(before)
          .map((r) => r.headers.host),
      );
      expect(hosts).toEqual(new Set([`localhost:${port}`]));
    });
  });

  it('a name the certificate is not for is refused, the error naming the name and the address', async () => {
    await withDiscovery('wrong.test', { tls: { ca: cert.cert } }, async (client) => {
      const error = await caught(() =>
        client.streamCompletion({ prompt: PROMPT, maxTokens: MAX_TOKENS }).final(),
      );
      expect(error.code).toBe('connection_error');
      expect(error.retryable).toBe(false);
      expect(error.message).toContain('ERR_TLS_CERT_ALTNAME_INVALID');
      expect(error.message).toContain('wrong.test');
      expect(error.message).toContain(`127.0.0.1:${port}`);
      // The CA was given: the hint is about the name, not the CA.
      expect(error.message).toContain('tls.servername');
      expect(error.message).not.toContain('tls: { ca }');
    });
  });

  it('tls.servername, when set, is the name the certificate is checked against (as for any endpoint)', async () => {
    await withDiscovery('wrong.test', { tls: { ca: cert.cert, servername: 'localhost' } }, async (client) => {
      const result = await client.streamCompletion({ prompt: PROMPT, maxTokens: MAX_TOKENS }).final();
      expect(result.ids).toEqual(generate(PROMPT, MAX_TOKENS));
    });
  });
});
