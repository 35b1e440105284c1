/**
 * probeServer (the library behind `tokenwire probe`): against the simulator
 * emulating each wire-facts row it reports that row's facts and no
 * disagreement; against a server that does something else it names the
 * disagreement; it never shows the API key; an unreachable server is an error
 * naming the URL. Expectations come from the table, not from this file.
 */
import type { ServerResponse } from 'node:http';
import { createServer } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { WIRE_FACTS } from '../../src/dialects/wire-facts.js';
import { type ProbeOptions, type ProbeReport, probeServer } from '../../src/index.js';
import { SIM_VERSIONS, type Simulator, startSimulator } from '../../src/sim/index.js';
import { caught } from '../helpers/client.js';
import { type SeenRequest, startServer, type TestServer } from '../helpers/http-server.js';
import { probeOptionsFor } from '../helpers/probe.js';
import { unverifiedFacts } from '../helpers/servers-doc.js';

const ROWS = WIRE_FACTS.filter((row) => SIM_VERSIONS.includes(row.label));
const KEY = 'sk-probe-secret-0123456789abcdef';

let sim: Simulator | undefined;
let server: TestServer | undefined;
afterEach(async () => {
  await sim?.close();
  await server?.close();
  sim = undefined;
  server = undefined;
});

function byFact(report: ProbeReport, fact: string) {
  const found = report.checks.find((c) => c.fact === fact);
  if (found === undefined)
    throw new Error(`no check ${fact} in ${report.checks.map((c) => c.fact).join(', ')}`);
  return found;
}

const DELIVERY_WORDS = { live: 'live', end: 'at the end', none: 'none' } as const;

describe('probeServer against the simulator emulating each row', () => {
  it.each(ROWS.map((row) => [row.label, row] as const))('%s: the row, no disagreement', async (_, row) => {
    sim = await startSimulator({ dialect: row.label });
    const report = await probeServer(probeOptionsFor(row, sim.url));
    const wrong = report.checks.filter((c) => c.status === 'disagree');
    expect(wrong, JSON.stringify(wrong, null, 1)).toEqual([]);
    expect(report.disagreements).toBe(0);
    expect(report.row).toBe(row.label);
    expect(report.server.dialect).toBe(row.dialect);
    // The facts the simulator shows are compared, not skipped.
    const compared = ['tokenize.endpoints'].filter(() => row.tokenize !== undefined);
    if (row.detection.path !== undefined) compared.push('detection.versionPath');
    for (const kind of ['completions', 'chat'] as const) {
      const facts = row[kind];
      compared.push(
        ...['stream', 'ids', 'promptIds', 'usage.includeUsage', 'usage.withoutIncludeUsage'].map(
          (f) => `${kind}.${f}`,
        ),
      );
      if (row.priority.field !== undefined) compared.push(`${kind}.priority`);
      if (facts.resume) compared.push(`${kind}.resume`);
      expect(byFact(report, `${kind}.ids`).observed.startsWith(DELIVERY_WORDS[facts.ids.delivery])).toBe(
        true,
      );
    }
    if (row.chat.roleChunk !== undefined) {
      compared.push('chat.roleChunk');
      expect(byFact(report, 'chat.roleChunk').observed).toBe(row.chat.roleChunk);
    }
    if (row.chat.reasoningField !== undefined) {
      compared.push('chat.reasoningField');
      expect(byFact(report, 'chat.reasoningField').observed).toBe(row.chat.reasoningField);
    }
    for (const fact of compared) expect(byFact(report, fact).status, fact).toBe('agree');
    // Each fact the table has not verified says so.
    expect(byFact(report, 'completions.ids').unverified === true).toBe(
      row.completions.ids.verified === false,
    );
  });

  it("docs/servers.md's list of unverified facts names only lines the probe prints", async () => {
    const row = WIRE_FACTS.find((r) => r.label === 'vllm@0.11')!;
    sim = await startSimulator({ dialect: row.label });
    const report = await probeServer(probeOptionsFor(row, sim.url));
    const printed = new Set(report.checks.map((c) => c.fact));
    const named = unverifiedFacts().flatMap((f) =>
      f.check.includes('`tokenwire probe` line')
        ? [...f.check.matchAll(/`([a-z]+\.[A-Za-z.]+)`/g)].map((m) => m[1])
        : [],
    );
    expect(named.length).toBeGreaterThan(10);
    for (const fact of named) expect(printed.has(fact), fact).toBe(true);
  });

  it('vLLM priority: the 400 with its message, beside the table', async () => {
    const row = WIRE_FACTS.find((r) => r.label === 'vllm@0.11')!;
    sim = await startSimulator({ dialect: row.label });
    const report = await probeServer(probeOptionsFor(row, sim.url));
    const priority = byFact(report, 'completions.priority');
    expect(priority).toMatchObject({ status: 'agree', observed: 'refused with HTTP 400' });
    expect(priority.detail).toContain(row.refusals[0].message);
  });

  it('a row named for a server that is another one: each fact it gets wrong is a disagreement', async () => {
    // vLLM 0.11 named as SGLang: SGLang's chat asks for ids in sglext, which vLLM does not send.
    sim = await startSimulator({ dialect: 'vllm@0.11' });
    const report = await probeServer({ baseUrl: sim.url, dialect: 'sglang', logger: () => {} });
    expect(report.row).toBe('sglang@0.5');
    expect(report.dialectSource).toBe('configured');
    expect(byFact(report, 'chat.ids')).toMatchObject({
      status: 'disagree',
      expected: expect.stringMatching(/^end/),
    });
    expect(report.disagreements).toBe(report.checks.filter((c) => c.status === 'disagree').length);
  });
});

/** A server that says it is vLLM 0.11 but streams text only, never ids, and has no tokenizer. */
function textOnlyVllm(req: SeenRequest, res: ServerResponse): void {
  const json = (status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (req.method === 'GET' && req.url === '/v1/models') {
    json(200, { data: [{ id: 'm', owned_by: 'vllm' }] });
    return;
  }
  if (req.method === 'GET' && req.url === '/version') {
    json(200, { version: '0.11.0' });
    return;
  }
  if (req.method !== 'POST' || !req.url.includes('completions')) {
    json(404, { error: { message: `no ${req.url} here (key ${req.headers.authorization})` } });
    return;
  }
  const body = req.json as Record<string, unknown>;
  const chat = req.url.includes('chat');
  const choice = (text: string, finish: string | null) =>
    chat
      ? { index: 0, delta: { content: text }, finish_reason: finish }
      : { index: 0, text, finish_reason: finish };
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  const events = [{ choices: [choice('a', null)] }, { choices: [choice('b', 'length')] }];
  if ((body.stream_options as { include_usage?: boolean } | undefined)?.include_usage) {
    events.push({ choices: [], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } } as never);
  }
  res.end(`${events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('')}data: [DONE]\n\n`);
}

describe('probeServer against a server that disagrees', () => {
  it('names each disagreement with what the table says and what came', async () => {
    server = await startServer(textOnlyVllm);
    const report = await probeServer({ baseUrl: server.url, logger: () => {} });
    expect(report.row).toBe('vllm@0.11');
    expect(report.server).toMatchObject({ dialect: 'vllm', version: '0.11.0', versionPath: '/version' });
    expect(byFact(report, 'detection.versionPath').status).toBe('agree');
    expect(byFact(report, 'completions.ids')).toMatchObject({
      status: 'disagree',
      expected: 'live in choices[i].token_ids',
      observed: 'none',
    });
    expect(byFact(report, 'completions.promptIds')).toMatchObject({
      status: 'disagree',
      observed: 'not echoed',
    });
    expect(byFact(report, 'tokenize.endpoints')).toMatchObject({ status: 'disagree', observed: 'refused' });
    expect(byFact(report, 'completions.resume')).toMatchObject({ status: 'disagree' });
    expect(byFact(report, 'completions.usage.includeUsage').status).toBe('agree');
    // Accepting priority is what vLLM does when it runs with priority scheduling.
    expect(byFact(report, 'completions.priority')).toMatchObject({ status: 'agree', observed: 'accepted' });
    expect(report.disagreements).toBe(report.checks.filter((c) => c.status === 'disagree').length);
    expect(report.disagreements).toBeGreaterThanOrEqual(6);
  });

  it('a compressed stream: what the Client decoded is compared, the raw bytes are not read as text', async () => {
    server = await startServer((req, res) => {
      if (req.method === 'GET') {
        textOnlyVllm(req, res);
        return;
      }
      const chunk = (ids: number[], finish: string | null, first: boolean) => ({
        choices: [
          {
            index: 0,
            text: 'x'.repeat(ids.length),
            token_ids: ids,
            ...(first ? { prompt_token_ids: [1, 2] } : {}),
            finish_reason: finish,
          },
        ],
      });
      const body = `data: ${JSON.stringify(chunk([5], null, true))}\n\ndata: ${JSON.stringify(chunk([6], 'length', false))}\n\ndata: [DONE]\n\n`;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'content-encoding': 'gzip' });
      res.end(gzipSync(body));
    });
    const report = await probeServer({ baseUrl: server.url, logger: () => {} });
    expect(byFact(report, 'completions.ids')).toMatchObject({
      status: 'agree',
      observed: 'live (2 ids with 2 tokens)',
    });
    // Before: the gzip bytes were read as SSE, found no echo, and said DISAGREE.
    expect(byFact(report, 'completions.promptIds')).toMatchObject({
      status: 'unchecked',
      observed: 'not seen',
    });
  });

  it('never shows the API key, even when the server echoes it in its errors', async () => {
    server = await startServer(textOnlyVllm);
    const report = await probeServer({ baseUrl: server.url, apiKey: KEY, logger: () => {} });
    // The key was sent, and the server's 404 for /tokenize echoed it.
    expect(server.requests.some((r) => r.headers.authorization === `Bearer ${KEY}`)).toBe(true);
    expect(byFact(report, 'tokenize.endpoints').detail).toBeDefined();
    expect(JSON.stringify(report)).not.toContain(KEY);
    expect(JSON.stringify(report)).not.toContain(KEY.slice(3));
  });

  it('an unreachable server is an error naming the URL', async () => {
    const port = await freePort();
    const error = await caught(() => probeServer({ baseUrl: `http://127.0.0.1:${port}`, logger: () => {} }));
    expect(error.code).toBe('connection_refused');
    expect(error.message).toContain(`127.0.0.1:${port}`);
  });

  it('a key the server refuses (HTTP 401) ends the probe with the HTTP error', async () => {
    sim = await startSimulator({ dialect: 'vllm@0.11' });
    const error = await caught(() =>
      probeServer({ baseUrl: sim!.url, headers: { 'x-sim-fault': 'status:401' }, logger: () => {} }),
    );
    expect(error.code).toBe('http_error');
    expect(error.status).toBe(401);
    expect(error.message).toContain(sim.url);
  });

  it('refuses options that are not for one server, naming them', async () => {
    const error = await caught(() =>
      probeServer({ baseUrl: 'http://127.0.0.1:1', endpoints: ['http://127.0.0.1:2'] } as ProbeOptions),
    );
    expect(error.code).toBe('invalid_option');
    expect(error.message).toContain('endpoints');
    const tokens = await caught(() => probeServer({ baseUrl: 'http://127.0.0.1:1', maxTokens: 1 }));
    expect(tokens.message).toContain('maxTokens: 1');
  });
});

/** A port nothing listens on (bound, then closed). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
