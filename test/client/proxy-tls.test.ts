/**
 * Proxies, TLS and a dispatcher of the user's, on loopback: a CONNECT proxy written here
 * (node:http), an HTTPS front (node:tls) with a self-signed certificate made by openssl at
 * test time, over the simulator.
 */

import { Agent, Dispatcher } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createFetch } from '../../src/fetch/index.js';
import { Client, type ClientOptions } from '../../src/index.js';
import { generate, type Simulator, startSimulator } from '../../src/sim/index.js';
import { caught } from '../helpers/client.js';
import {
  type ConnectProxy,
  makeCertificate,
  startConnectProxy,
  startTlsFront,
  type TestCertificate,
  type TlsFront,
} from '../helpers/connect-proxy.js';

const PROMPT = [5, 6, 7];
const MAX_TOKENS = 40;
const EXPECTED = generate(PROMPT, MAX_TOKENS);

let sim: Simulator;
let cert: TestCertificate;
let https: TlsFront;
let mutual: TlsFront;
let proxy: ConnectProxy;
/** Bytes the server sends through a tunnel for one whole stream, per target kind. */
const wholeStreamBytes: Record<string, number> = {};

beforeAll(async () => {
  // Tokens a few ms apart: a tunnel cut at half the bytes falls among them.
  sim = await startSimulator({ dialect: 'vllm', tokenDelayMs: 2 });
  cert = makeCertificate();
  https = await startTlsFront(sim.port, { cert: cert.cert, key: cert.key });
  mutual = await startTlsFront(sim.port, {
    cert: cert.cert,
    key: cert.key,
    requestCert: true,
    rejectUnauthorized: true,
    ca: [cert.cert],
  });
  proxy = await startConnectProxy();
}, 60_000);

afterAll(async () => {
  await Promise.all([https?.close(), mutual?.close(), proxy?.close(), sim?.close()]);
});

afterEach(() => {
  proxy.refuseWith = undefined;
  proxy.cutNextAfterBytes = undefined;
  proxy.tunnels.length = 0;
});

const TRUST = () => ({ ca: cert.cert, servername: 'localhost' });

async function withClient<T>(options: ClientOptions, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({
    dialect: 'vllm',
    failedRequestsDir: false,
    logger: () => {},
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
    ...options,
  });
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

const stream = (client: Client) => client.streamCompletion({ prompt: PROMPT, maxTokens: MAX_TOKENS }).final();

describe('TLS (tls option) against a self-signed HTTPS server', () => {
  it('is refused without the CA, with the hint to give it (not retried)', async () => {
    const error = await withClient({ baseUrl: https.url }, (client) => caught(() => stream(client)));
    expect(error.code).toBe('connection_error');
    expect(error.message).toContain('tls: { ca }');
    expect(error.retryable).toBe(false);
  });

  it('with tls.ca and tls.servername: exact ids', async () => {
    const result = await withClient({ baseUrl: https.url, tls: TRUST() }, stream);
    expect(result.ids).toEqual(EXPECTED);
  });

  it('tls.ca without servername fails on the name (the certificate is for localhost, not 127.0.0.1)', async () => {
    const error = await withClient({ baseUrl: https.url, tls: { ca: cert.cert } }, (client) =>
      caught(() => stream(client)),
    );
    expect(error.code).toBe('connection_error');
    expect(error.message).toContain('ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('rejectUnauthorized: false accepts it', async () => {
    const result = await withClient({ baseUrl: https.url, tls: { rejectUnauthorized: false } }, stream);
    expect(result.ids).toEqual(EXPECTED);
  });

  it('a server that asks for a client certificate gets tls.cert and tls.key (and refuses without)', async () => {
    const result = await withClient(
      { baseUrl: mutual.url, tls: { ...TRUST(), cert: cert.cert, key: cert.key } },
      stream,
    );
    expect(result.ids).toEqual(EXPECTED);
    const error = await withClient({ baseUrl: mutual.url, tls: TRUST(), retry: false }, (client) =>
      caught(() => stream(client)),
    );
    expect(['connection_error', 'connection_reset']).toContain(error.code);
  });

  it('bad tls values are invalid_option naming them; the key is never shown', () => {
    expect(() => new Client({ baseUrl: https.url, tls: { ca: 5 as never } })).toThrow(
      'invalid option tls.ca: 5 (expected PEM text, a Buffer, or a list of them)',
    );
    expect(() => new Client({ baseUrl: https.url, tls: { key: 7 as never, cert: 'x' } })).toThrow(
      'invalid option tls.key: "[hidden]"',
    );
    expect(() => new Client({ baseUrl: https.url, tls: { cert: cert.cert } })).toThrow(
      'cert and key go together',
    );
    expect(() => new Client({ baseUrl: https.url, tls: { rejectUnauthorised: false } as never })).toThrow(
      'invalid option tls.rejectUnauthorised: unknown option (did you mean tls.rejectUnauthorized?)',
    );
  });
});

describe('through a CONNECT proxy (proxy option)', () => {
  for (const kind of ['http', 'https'] as const) {
    const target = () => (kind === 'https' ? https.url : sim.url);
    const tls = () => (kind === 'https' ? TRUST() : undefined);

    it(`${kind} target: the stream goes through one tunnel, exact ids`, async () => {
      const result = await withClient({ baseUrl: target(), proxy: proxy.url, tls: tls() }, stream);
      expect(result.ids).toEqual(EXPECTED);
      expect(proxy.tunnels.map((t) => t.target)).toEqual([new URL(target()).host]);
      wholeStreamBytes[kind] = proxy.tunnels[0]!.downstreamBytes;
    });

    it(`${kind} target: the proxy cuts the tunnel mid-stream, retry on: resumed, exact ids`, async () => {
      expect(wholeStreamBytes[kind]).toBeGreaterThan(0);
      proxy.cutNextAfterBytes = Math.floor(wholeStreamBytes[kind]! / 2);
      const result = await withClient({ baseUrl: target(), proxy: proxy.url, tls: tls() }, stream);
      expect(result.ids).toEqual(EXPECTED);
      expect(result.stats.resumes).toBe(1);
      expect(proxy.tunnels.length).toBe(2);
    });

    it(`${kind} target: the proxy cuts the tunnel mid-stream, retry off: the tokens before it are kept`, async () => {
      proxy.cutNextAfterBytes = Math.floor(wholeStreamBytes[kind]! / 2);
      const error = await withClient(
        { baseUrl: target(), proxy: proxy.url, tls: tls(), retry: false },
        (client) => caught(() => stream(client)),
      );
      expect(['connection_reset', 'connection_error', 'stream_truncated']).toContain(error.code);
      const partial = (error.partial as { id: number }[]).map((token) => token.id);
      expect(partial.length).toBeGreaterThan(0);
      expect(partial.length).toBeLessThan(MAX_TOKENS);
      expect(partial).toEqual(EXPECTED.slice(0, partial.length));
    });
  }

  it('the proxy refuses the tunnel (403): connection_error naming the proxy status, not retried', async () => {
    proxy.refuseWith = 403;
    const error = await withClient({ baseUrl: https.url, proxy: proxy.url, tls: TRUST() }, (client) =>
      caught(() => stream(client)),
    );
    expect(error.code).toBe('connection_error');
    expect(error.message).toContain('the proxy refused the tunnel');
    expect(error.message).toContain('HTTP 403');
    expect(error.retryable).toBe(false);
    expect(proxy.tunnels.length).toBe(1);
  });

  it('a proxy that cannot reach the server (502) is retried, up to maxAttempts', async () => {
    proxy.refuseWith = 502;
    const error = await withClient(
      { baseUrl: sim.url, proxy: proxy.url, retry: { maxAttempts: 3, baseDelayMs: 1 } },
      (client) => caught(() => stream(client)),
    );
    expect(error.message).toContain('HTTP 502');
    expect(proxy.tunnels.length).toBe(3);
  });

  it('credentials in the proxy URL are sent as Proxy-Authorization and never shown', async () => {
    proxy.refuseWith = 407;
    const logs: unknown[] = [];
    const error = await withClient(
      {
        baseUrl: sim.url,
        proxy: proxy.url.replace('//', '//user:s3cret-pass@'),
        logger: (r) => logs.push(r),
      },
      (client) => caught(() => stream(client)),
    );
    expect(proxy.tunnels[0]!.proxyAuthorization).toBe(
      `Basic ${Buffer.from('user:s3cret-pass').toString('base64')}`,
    );
    expect(error.message).toContain('Proxy Authentication Required');
    expect(`${error.message}${error.stack}${JSON.stringify(logs)}`).not.toContain('s3cret-pass');
  });

  it('tokenize and the dialect detection go through it too', async () => {
    await withClient({ baseUrl: sim.url, proxy: proxy.url, dialect: 'auto' }, async (client) => {
      expect(await client.dialect()).toBe('vllm');
      expect((await client.tokenize('hello')).length).toBeGreaterThan(0);
    });
    expect(proxy.tunnels.length).toBeGreaterThan(0);
  });

  it('tokenwire/fetch goes through it too (proxy and tls options of createFetch)', async () => {
    const proxiedFetch = createFetch({
      proxy: proxy.url,
      tls: TRUST(),
      failedRequestsDir: false,
      logger: () => {},
    });
    try {
      const response = await proxiedFetch(`${https.url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: PROMPT, max_tokens: 4, stream: true, return_token_ids: true }),
      });
      expect(response.status).toBe(200);
      const text = await response.text();
      expect(text).toContain('[DONE]');
      // The dialect detection (GET /v1/models) and the stream: each through a tunnel.
      expect(proxy.tunnels.length).toBeGreaterThan(0);
      for (const tunnel of proxy.tunnels) expect(tunnel.target).toBe(new URL(https.url).host);
    } finally {
      await proxiedFetch.close();
    }
  });

  it('a bad proxy URL is invalid_option without its credentials', () => {
    expect(() => new Client({ baseUrl: sim.url, proxy: 'socks://u:pw-secret@x' })).toThrow(
      'invalid option proxy: "socks://[redacted]@x"',
    );
  });
});

describe('HTTP_PROXY / HTTPS_PROXY / NO_PROXY from the environment', () => {
  const saved: Record<string, string | undefined> = {};
  const NAMES = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy'];
  function setEnv(values: Record<string, string>): void {
    for (const name of NAMES) {
      if (!(name in saved)) saved[name] = process.env[name];
      delete process.env[name];
    }
    Object.assign(process.env, values);
  }
  afterEach(() => {
    for (const name of NAMES) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  it('HTTPS_PROXY carries an https target; HTTP_PROXY an http one', async () => {
    setEnv({ HTTPS_PROXY: proxy.url });
    const viaHttps = await withClient({ baseUrl: https.url, tls: TRUST() }, stream);
    expect(viaHttps.ids).toEqual(EXPECTED);
    expect(proxy.tunnels.length).toBe(1);
    // HTTPS_PROXY alone does not carry an http target.
    await withClient({ baseUrl: sim.url }, stream);
    expect(proxy.tunnels.length).toBe(1);
    setEnv({ http_proxy: proxy.url });
    await withClient({ baseUrl: sim.url }, stream);
    expect(proxy.tunnels.length).toBe(2);
  });

  it('NO_PROXY (host, host:port, *) and proxy: false go direct', async () => {
    const port = new URL(https.url).port;
    for (const noProxy of ['127.0.0.1', `127.0.0.1:${port}`, '*', 'example.test, .0.0.1']) {
      setEnv({ HTTPS_PROXY: proxy.url, NO_PROXY: noProxy });
      await withClient({ baseUrl: https.url, tls: TRUST() }, stream);
    }
    expect(proxy.tunnels.length).toBe(0);
    setEnv({ HTTPS_PROXY: proxy.url, NO_PROXY: '127.0.0.1:1' });
    await withClient({ baseUrl: https.url, tls: TRUST() }, stream);
    expect(proxy.tunnels.length).toBe(1);
    setEnv({ HTTPS_PROXY: proxy.url });
    await withClient({ baseUrl: https.url, tls: TRUST(), proxy: false }, stream);
    expect(proxy.tunnels.length).toBe(1);
  });
});

/** A dispatcher of the user's: counts requests, forwards them to an Agent. */
class CountingDispatcher extends Dispatcher {
  requests = 0;
  constructor(private readonly inner: Agent) {
    super();
  }
  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    this.requests++;
    return this.inner.dispatch(options, handler);
  }
}

describe('dispatcher option', () => {
  it('every request goes through it; close() leaves it open', async () => {
    const agent = new Agent();
    const dispatcher = new CountingDispatcher(agent);
    try {
      const before = sim.report().requests.length;
      const result = await withClient({ baseUrl: sim.url, dispatcher, dialect: 'auto' }, stream);
      expect(result.ids).toEqual(EXPECTED);
      // Every request the server saw (the detection's, then the stream) went through it.
      const seen = sim.report().requests.length - before;
      expect(seen).toBeGreaterThanOrEqual(2);
      expect(dispatcher.requests).toBe(seen);
      const again = await withClient({ baseUrl: sim.url, dispatcher }, stream);
      expect(again.ids).toEqual(EXPECTED);
      expect(dispatcher.requests).toBe(seen + 1);
    } finally {
      await agent.close();
    }
  });

  it('resume still works through it', async () => {
    const agent = new Agent();
    try {
      const result = await withClient({ baseUrl: sim.url, dispatcher: agent }, (client) =>
        client
          .streamCompletion({
            prompt: PROMPT,
            maxTokens: MAX_TOKENS,
            headers: { 'x-sim-fault': 'reset-after:7:once' },
          })
          .final(),
      );
      expect(result.ids).toEqual(EXPECTED);
      expect(result.stats.resumes).toBe(1);
    } finally {
      await agent.close();
    }
  });

  it('is checked, and proxy, tls or maxConnections beside it are invalid_option (they would do nothing)', () => {
    const agent = new Agent();
    expect(() => new Client({ baseUrl: sim.url, dispatcher: {} as never })).toThrow(
      'invalid option dispatcher',
    );
    for (const extra of [{ proxy: proxy.url }, { tls: TRUST() }, { maxConnections: 4 }]) {
      expect(() => new Client({ baseUrl: sim.url, dispatcher: agent, ...extra })).toThrow(
        'has no effect with dispatcher',
      );
    }
    void agent.close();
  });
});
