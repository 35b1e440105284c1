/**
 * A key echoed by the server at any offset of a text that tokenwire cuts (an error
 * message, a body preview, a logged value) never shows, whole or in part: scrubbing
 * runs on the whole text before any cut. Every offset from 0 to past the cut is tried
 * (the key's start before, across and after the cut), and every place the text goes:
 * the message, `String(error)`, the error's JSON, `util.inspect`, the log records and
 * the failed-request fixture. A key the server itself cut short (8 or more characters
 * of its start) is scrubbed too.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFetch } from '../../src/fetch/index.js';
import { Client, type LogRecord } from '../../src/index.js';
import { caught } from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/http-server.js';

/** A random key: any 6 consecutive characters of it are its own. */
const KEY = `sk-${randomBytes(18).toString('hex')}`;

/** Fails when `text` holds any 6-character piece of the key (so a cut fragment counts too). */
function expectNoPiece(text: string, what: string): void {
  for (let i = 0; i + 6 <= KEY.length; i++) {
    const piece = KEY.slice(i, i + 6);
    if (text.includes(piece))
      throw new Error(`${what} contains ${JSON.stringify(piece)} of the key: ${text}`);
  }
}

/** `offset` filler characters, the key, then filler up to `length` (never fewer than 20 after the key). */
function echo(offset: number, length: number): string {
  return `${'~'.repeat(offset)}${KEY}${'~'.repeat(Math.max(20, length - offset - KEY.length))}`;
}

/** What the server answers, per case, with the key at `offset` of the text that gets cut. */
const CASES = {
  /** llama.cpp b4748's non-standard `error:` SSE field with plain text (cut at 200 before). */
  errorField: (offset: number) => ({ sse: `error: ${echo(offset, 400)}\n\ndata: [DONE]\n\n` }),
  /** `event: error` with a plain-text body (cut at 200 before). */
  errorEvent: (offset: number) => ({ sse: `event: error\ndata: ${echo(offset, 400)}\n\n` }),
  /** An error object without a message: its JSON is the message (cut at 200 before). */
  errorObject: (offset: number) => ({
    sse: `data: ${JSON.stringify({ error: { reason: echo(offset, 400), code: 503 } })}\n\n`,
  }),
  /** An in-stream error message longer than the message bound (1000). */
  longMessage: (offset: number) => ({
    sse: `data: ${JSON.stringify({ error: { message: echo(offset, 1400), code: 400 } })}\n\n`,
  }),
  /** A token id that is not a number: its logged value was cut at 40 characters. */
  badId: (offset: number) => ({
    sse: `data: ${JSON.stringify({ choices: [{ index: 0, text: 'a', token_ids: [echo(offset, 60)], finish_reason: null }] })}\n\ndata: ${JSON.stringify({ choices: [{ index: 0, text: '', token_ids: [], finish_reason: 'stop' }] })}\n\ndata: [DONE]\n\n`,
  }),
  /** A plain-text HTTP error body: the message keeps 300 characters. */
  textBody: (offset: number) => ({ status: 500, type: 'text/plain', body: echo(offset, 400) }),
  /** A proxy's HTML page: the message keeps 120 characters of its text. */
  htmlBody: (offset: number) => ({ status: 502, type: 'text/html', body: `<p>${echo(offset, 300)}</p>` }),
} as const;
type CaseName = keyof typeof CASES;
const NAMES = Object.keys(CASES) as CaseName[];

/** Offsets around each case's cut: from 0 to past (cut + key length). */
const CUT: Record<CaseName, number> = {
  errorField: 200,
  errorEvent: 200,
  errorObject: 200,
  longMessage: 1000,
  badId: 40,
  textBody: 300,
  htmlBody: 120,
};

/**
 * A fleet of one ejects its endpoint for 1 s, 2 s, … after 3 failures in a row: this test
 * fails on purpose hundreds of times in a row, so ejection is off.
 */
const NO_EJECTION = { health: { baseEjectionMs: 0, maxEjectionMs: 0 } };

/** fast-check's seed for the drawn offsets (printed with any failure). */
const SEED = 20261203;

/**
 * The offsets tried: every one where the key touches the cut (from wholly before it to
 * wholly after it), 0 and 1, and 12 more drawn by fast-check from 0..cut+len.
 */
function offsets(name: CaseName): number[] {
  const cut = CUT[name];
  const out = new Set<number>([0, 1]);
  for (let offset = Math.max(0, cut - KEY.length - 1); offset <= cut + 1; offset++) out.add(offset);
  for (const offset of fc.sample(fc.integer({ min: 0, max: cut + KEY.length }), {
    numRuns: 12,
    seed: SEED,
  })) {
    out.add(offset);
  }
  return [...out].sort((a, b) => a - b);
}

let server: TestServer;
let root: string;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'tokenwire-secrets-cut-'));
  server = await startServer((req, res) => {
    // The case and the offset travel in the prompt ids (completions) or the model name (other calls).
    const prompt = (req.json as { prompt?: unknown } | undefined)?.prompt;
    const model = (req.json as { model?: string } | undefined)?.model ?? '';
    const [name, offset] = Array.isArray(prompt)
      ? [NAMES[prompt[0]], prompt[1]]
      : [model.split(':')[0] as CaseName, Number(model.split(':')[1])];
    const answer = CASES[name](offset) as { sse?: string; status?: number; type?: string; body?: string };
    if (answer.sse !== undefined) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(answer.sse);
      return;
    }
    res.writeHead(answer.status!, { 'content-type': answer.type! });
    res.end(answer.body);
  });
});
afterAll(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

function client(logs: LogRecord[], dir: string | false): Client {
  return new Client({
    baseUrl: server.url,
    dialect: 'vllm',
    apiKey: KEY,
    retry: false,
    routing: NO_EJECTION,
    debug: true,
    failedRequestsDir: dir,
    // Keep every fixture this test writes (the retention default would prune after 500).
    failedRequestsMaxFiles: 10_000,
    logger: (record) => logs.push(record),
  });
}

describe('a key at any offset of a cut text never shows', () => {
  for (const name of NAMES) {
    it(`${name}: the key at every offset across the cut at ${CUT[name]} (and 14 more): error, logs, fixture`, async () => {
      const logs: LogRecord[] = [];
      const dir = join(root, name);
      const c = client(logs, dir);
      try {
        for (const offset of offsets(name)) {
          logs.length = 0;
          const where = `${name} at offset ${offset} (fast-check seed ${SEED})`;
          const stream = c.streamCompletion({ prompt: [NAMES.indexOf(name), offset], maxTokens: 4 });
          if (name === 'badId') {
            await stream.final();
            expect(
              logs.some((r) => r.event === 'bad_token_id'),
              where,
            ).toBe(true);
          } else {
            const error = await caught(() => stream.final());
            expectNoPiece(error.message, `${where}: the message`);
            expectNoPiece(String(error), `${where}: String(error)`);
            expectNoPiece(JSON.stringify(error), `${where}: the error's JSON`);
            expectNoPiece(inspect(error, { depth: 5 }), `${where}: inspect(error)`);
            expect(typeof error.fixturePath, where).toBe('string');
            expectNoPiece(readFileSync(String(error.fixturePath), 'utf8'), `${where}: the fixture`);
          }
          expectNoPiece(JSON.stringify(logs), `${where}: the log records`);
        }
      } finally {
        await c.close();
      }
    }, 60_000);
  }

  it('a JSON call (tokenize) answered with a text body: every offset across the cut at 300', async () => {
    const logs: LogRecord[] = [];
    for (const offset of offsets('textBody')) {
      logs.length = 0;
      const c = new Client({
        baseUrl: server.url,
        dialect: 'vllm',
        apiKey: KEY,
        model: `textBody:${offset}`,
        retry: false,
        routing: NO_EJECTION,
        failedRequestsDir: join(root, 'json'),
        failedRequestsMaxFiles: 10_000,
        logger: (record) => logs.push(record),
      });
      try {
        const error = await caught(() => c.tokenize('x'));
        expect(error.code).toBe('http_error');
        const shown = `${inspect(error, { depth: 5 })} ${JSON.stringify(error)} ${JSON.stringify(logs)}`;
        expectNoPiece(shown, `offset ${offset}`);
        expectNoPiece(readFileSync(String(error.fixturePath), 'utf8'), `offset ${offset}: the fixture`);
      } finally {
        await c.close();
      }
    }
  }, 60_000);

  it('tokenwire/fetch: a retried non-streaming call logs no piece of the SDK key at any offset across the cut', async () => {
    const logs: LogRecord[] = [];
    const fetch = createFetch({
      logger: (record) => logs.push(record),
      retry: { maxAttempts: 2, baseDelayMs: 0, maxDelayMs: 0 },
      failedRequestsDir: false,
    });
    try {
      for (const offset of offsets('textBody')) {
        const response = await fetch(`${server.url}/v1/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: `textBody:${offset}`, prompt: 'x', stream: false }),
        });
        // The server's own answer goes back as it came (it is the caller's to show); the logs are ours.
        expect(response.status).toBe(500);
        await response.text();
        expect(logs.some((r) => r.event === 'retry')).toBe(true);
        expectNoPiece(JSON.stringify(logs), `offset ${offset}: the fetch's log records`);
      }
    } finally {
      await fetch.close();
    }
  }, 60_000);
});

describe('a key the server cut short itself', () => {
  it('8 or more characters of its start are scrubbed wherever they end (message, logs, fixture)', async () => {
    const logs: LogRecord[] = [];
    const partial = await startServer((req, res) => {
      const length = (req.json as { prompt: number[] }).prompt[0];
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      // The server's own message holds only the key's first `length` characters.
      res.end(
        `data: ${JSON.stringify({ error: { message: `bad key ${KEY.slice(0, length)}; try again`, code: 401 } })}\n\n`,
      );
    });
    const pc = new Client({
      baseUrl: partial.url,
      dialect: 'vllm',
      apiKey: KEY,
      retry: false,
      routing: NO_EJECTION,
      failedRequestsDir: join(root, 'partial'),
      failedRequestsMaxFiles: 10_000,
      logger: (record) => logs.push(record),
    });
    try {
      for (let length = 8; length <= KEY.length; length++) {
        logs.length = 0;
        const error = await caught(() => pc.streamCompletion({ prompt: [length], maxTokens: 1 }).final());
        const shown = [
          inspect(error, { depth: 5 }),
          JSON.stringify(error),
          JSON.stringify(logs),
          readFileSync(String(error.fixturePath), 'utf8'),
        ].join('\n');
        expect(shown, `length ${length}`).not.toContain(KEY.slice(0, 8));
        expect(error.message, `length ${length}`).toContain('bad key [redacted]; try again');
      }
    } finally {
      await pc.close();
      await partial.close();
    }
  }, 60_000);

  it('the connection cut mid-key: the raw bytes of the fixture keep no 8 characters of its start', async () => {
    const cutServer = await startServer((req, res) => {
      const length = (req.json as { prompt: number[] }).prompt[0];
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(
        `data: {"choices":[{"index":0,"text":"a","token_ids":[5]}]}\n\n: echo ${KEY.slice(0, length)}`,
      );
      setTimeout(() => res.destroy(), 5);
    });
    const c = new Client({
      baseUrl: cutServer.url,
      dialect: 'vllm',
      apiKey: KEY,
      retry: false,
      routing: NO_EJECTION,
      failedRequestsDir: join(root, 'network-cut'),
      failedRequestsMaxFiles: 10_000,
      logger: () => {},
    });
    try {
      for (const length of [8, 9, 20, KEY.length - 1]) {
        const error = await caught(() => c.streamCompletion({ prompt: [length], maxTokens: 4 }).final());
        expect(['stream_truncated', 'connection_reset']).toContain(error.code);
        const fixture = readFileSync(String(error.fixturePath), 'utf8');
        expect(fixture, `length ${length}`).toContain(': echo [redacted]');
        expect(fixture, `length ${length}`).not.toContain(KEY.slice(0, 8));
      }
    } finally {
      await c.close();
      await cutServer.close();
    }
  });
});
