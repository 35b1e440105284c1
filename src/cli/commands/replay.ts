/** `tokenwire replay`: re-send a captured failed request and say whether it fails the same way. */
import type { FailedRequestFixture } from '../../diagnostics/capture.js';
import { scrub } from '../../diagnostics/redact.js';
import { createFetch } from '../../fetch/index.js';
import { Client, type ClientOptions, type DialectName, TokenwireError } from '../../index.js';
import { DIALECT_NAMES } from '../../options.js';
import { httpError } from '../../transport/http-errors.js';
import { bool, CLIENT_FLAGS, CLIENT_FLAGS_HELP, clientOptions, debugOn, parse, str } from '../args.js';
import type { Command } from '../command.js';
import { EXIT, EXIT_CODES_HELP, exitCodeFor, UsageError } from '../exit-codes.js';
import { capturedCode, readFixture, showFixture } from '../fixture.js';
import { LiveOutput } from '../live.js';
import { newProgress, PREFIX } from '../report.js';
import { cliLogger } from '../run-stream.js';
import { exitForSignal, watchStopSignals } from '../signals.js';

const HELP = `Usage: tokenwire replay FILE [--base-url URL] [--show] [options]

Re-sends the first attempt of a failed request that tokenwire saved (the
'failed request saved to ...' line) and says whether it now succeeds, fails the
same way (same error code), or fails differently.

How: the captured JSON body is sent as it is (through the library, as the
request's extraBody, so the same dialect decodes the answer and the same error
codes apply) to the same endpoint path on --base-url, or on the captured URL's
server when --base-url is not given. Captured headers are re-sent except the
redacted ones; the API key comes from --api-key or TOKENWIRE_API_KEY. One
attempt, no retry or resume (to reproduce the first attempt), unless --retries
is given. Timeouts are the defaults unless given: the fixture does not record them.
The generated text goes to stdout (not with --quiet), the verdict to stderr:
  tokenwire: replay: fails the same way (idle_timeout)
The exit code is the replay's own outcome (0 when it now succeeds); Ctrl-C or
SIGTERM aborts the replay cleanly (exit 130 or 143).

  --show          print the captured request, response head and raw stream bytes,
                  readably, and send nothing
  --quiet, -q     no generated text on stdout

${CLIENT_FLAGS_HELP}

${EXIT_CODES_HELP}

Examples:
  tokenwire replay ~/.local/state/tokenwire/failed-requests/2025-01-01T00-00-00-000Z-idle_timeout-1a2b3c4d.json --show
  tokenwire replay FILE --base-url http://127.0.0.1:8001 --idle-timeout 5000`;

const ENDPOINTS = [
  '/v1/chat/completions',
  '/v1/completions',
  '/completions',
  '/completion',
  // JSON calls (models, tokenize, detokenize).
  '/v1/models',
  '/v1/tokenize',
  '/v1/detokenize',
  '/tokenize',
  '/detokenize',
];
/** Headers the library sets itself on every request. */
const LIBRARY_HEADERS = new Set([
  'content-type',
  'content-length',
  'accept',
  'user-agent',
  'authorization',
  'host',
]);

/** A URL's origin, and its path with the query. */
function originAndPath(url: string): { root: string; endpoint: string } {
  const parsed = new URL(url);
  return { root: parsed.origin, endpoint: `${parsed.pathname}${parsed.search}` };
}

/** The captured URL's server root and endpoint path. */
function splitUrl(url: string): { root: string; endpoint: string } {
  const parsed = new URL(url);
  const endpoint = ENDPOINTS.find((candidate) => parsed.pathname.endsWith(candidate));
  if (endpoint === undefined) throw new UsageError(`cannot replay a request to ${parsed.pathname}`);
  return { root: `${parsed.origin}${parsed.pathname.slice(0, -endpoint.length)}`, endpoint };
}

function replayHeaders(headers: Record<string, string>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === '[redacted]' || LIBRARY_HEADERS.has(name.toLowerCase())) continue;
    kept[name] = value;
  }
  return kept;
}

function startReplay(client: Client, fixture: FailedRequestFixture, endpoint: string, signal: AbortSignal) {
  const body = fixture.attempts[0].request.body as Record<string, unknown>;
  if (body === null || typeof body !== 'object')
    throw new UsageError('the captured body is not a JSON object');
  if (fixture.kind === 'chat') {
    return client.streamChat({ messages: body.messages as never, extraBody: body, signal });
  }
  if (fixture.kind !== 'completion') throw new UsageError(`cannot replay a ${fixture.kind} request`);
  const prompt = body.prompt ?? body.prompt_token_ids;
  if (typeof prompt !== 'string' && !Array.isArray(prompt)) {
    throw new UsageError('the captured completion body has no prompt');
  }
  const native = !endpoint.startsWith('/v1/');
  return client.streamCompletion({ prompt: prompt as number[] | string, native, extraBody: body, signal });
}

/** Re-sends a captured JSON call through the library; what it got, in a few words. */
async function replayJson(
  client: Client,
  fixture: FailedRequestFixture,
  endpoint: string,
  signal: AbortSignal,
): Promise<string> {
  const body = (fixture.attempts[0].request.body ?? {}) as Record<string, unknown>;
  if (endpoint === '/v1/models') return `${(await client.models({ signal })).length} models`;
  if (endpoint.endsWith('/detokenize')) {
    if (!Array.isArray(body.tokens)) throw new UsageError('the captured detokenize body has no "tokens"');
    return `${JSON.stringify(await client.detokenize(body.tokens as number[], { signal }))}`;
  }
  const text = body.prompt ?? body.content;
  if (typeof text !== 'string') throw new UsageError('the captured tokenize body has no text');
  return `${(await client.tokenize(text, { signal })).length} ids`;
}

/**
 * Re-sends a plain call captured by tokenwire/fetch (kind `fetch`) as it was: method,
 * body and the headers kept, through a fetch with these options; an HTTP error answer
 * is an http_error as the fetch's own capture recorded it.
 */
async function replayFetch(
  options: ClientOptions,
  fixture: FailedRequestFixture,
  target: string,
  signal: AbortSignal,
): Promise<string> {
  const request = fixture.attempts[0].request;
  const { apiKey, headers = {}, timeouts, retry, dialect, logger, debug, failedRequestsDir } = options;
  const fetch = createFetch({ timeouts, retry, dialect, logger, debug, failedRequestsDir });
  try {
    const sent: Record<string, string> = { ...headers };
    if (request.body !== undefined && typeof request.body !== 'string')
      sent['content-type'] = 'application/json';
    if (apiKey !== undefined) sent.authorization = `Bearer ${apiKey}`;
    const body =
      request.body === undefined || typeof request.body === 'string'
        ? request.body
        : JSON.stringify(request.body);
    const response = await fetch(target, { method: request.method, headers: sent, body, signal });
    const text = await response.text();
    if (response.ok) return `HTTP ${response.status}, ${Buffer.byteLength(text)} bytes`;
    const responseHeaders: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      responseHeaders[name] = value;
    });
    throw httpError(response.status, responseHeaders, scrub(text, [apiKey]), request.method, target);
  } finally {
    await fetch.close();
  }
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { ...CLIENT_FLAGS, show: { type: 'boolean' }, quiet: { type: 'boolean', short: 'q' } },
    true,
  );
  if (positionals.length !== 1) throw new UsageError('expected one fixture FILE');
  const path = positionals[0];
  const fixture = await readFixture(path);
  if (bool(values, 'show')) {
    process.stdout.write(`${showFixture(path, fixture)}\n`);
    return EXIT.ok;
  }
  const request = fixture.attempts[0].request;
  // A fetch call can be to any path: its server is the URL's origin.
  const { root, endpoint } = fixture.kind === 'fetch' ? originAndPath(request.url) : splitUrl(request.url);
  const quiet = bool(values, 'quiet');
  const live = new LiveOutput({ status: false, notes: !quiet });
  const options = clientOptions(
    { ...values, 'base-url': str(values, 'base-url') ?? root },
    cliLogger({ live, progress: newProgress() }, debugOn(values)),
  );
  if (options.retry === undefined) options.retry = false;
  const capturedDialect = fixture.dialect as DialectName;
  if (options.dialect === undefined && DIALECT_NAMES.includes(capturedDialect))
    options.dialect = capturedDialect;
  options.headers = { ...replayHeaders(request.headers), ...options.headers };
  const client = new Client(options);
  const before = capturedCode(fixture);
  const target = `${client.baseUrl}${endpoint}`;
  process.stderr.write(`${PREFIX} replay: ${request.method} ${target} (captured: ${before})\n`);
  let tokens = 0;
  // Ctrl-C or SIGTERM aborts the replay cleanly (exit 130 or 143), like any request command.
  const stop = new AbortController();
  const signals = watchStopSignals((received) => stop.abort(`interrupted (${received})`));
  try {
    if (fixture.kind === 'json' || fixture.kind === 'fetch') {
      const got =
        fixture.kind === 'json'
          ? await replayJson(client, fixture, endpoint, stop.signal)
          : await replayFetch(options, fixture, target, stop.signal);
      process.stderr.write(`${PREFIX} replay: now succeeds: ${got} (captured: ${before})\n`);
      return EXIT.ok;
    }
    const stream = startReplay(client, fixture, endpoint, stop.signal);
    for await (const event of stream) {
      if (event.type === 'token' || event.type === 'text') {
        tokens++;
        if (!quiet) live.write('stdout', event.text);
      } else if (event.type === 'done') {
        live.finish();
        process.stderr.write(
          `${PREFIX} replay: now succeeds: ${event.finishReason}, ${event.stats.tokens} tokens (captured: ${before})\n`,
        );
      }
    }
    return EXIT.ok;
  } catch (error) {
    live.finish();
    if (!(error instanceof TokenwireError) || error.code === 'invalid_option') throw error;
    const signal = signals.received();
    if (signal !== undefined && error.code === 'aborted') {
      const what = signal === 'SIGINT' ? 'interrupted' : 'terminated';
      process.stderr.write(
        `${PREFIX} replay: ${what} after ${error.partial.length || tokens} tokens (captured: ${before})\n`,
      );
      return exitForSignal(signal);
    }
    process.stderr.write(`${PREFIX} ${error.message}\n`);
    const verdict =
      error.code === before
        ? `fails the same way (${error.code})`
        : `fails differently: ${error.code}, captured ${before}`;
    process.stderr.write(`${PREFIX} replay: ${verdict} after ${error.partial.length || tokens} tokens\n`);
    if (error.fixturePath) process.stderr.write(`${PREFIX} this replay was saved to ${error.fixturePath}\n`);
    return exitCodeFor(error);
  } finally {
    signals.dispose();
    await client.close();
  }
}

export const replay: Command = {
  name: 'replay',
  summary: 're-send a captured failed request (or --show it)',
  help: HELP,
  run,
};
