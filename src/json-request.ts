/**
 * The client's plain JSON requests (tokenize, detokenize, models, dialect detection):
 * one request, the whole answer read (bounded), decoded and parsed, every error
 * scrubbed of secrets and, unless asked not to, saved as a replayable fixture.
 */
import { type Dispatcher, request as undiciRequest } from 'undici';
import { requestHeaders } from './credentials.js';
import { captureJsonFailure } from './diagnostics/json-capture.js';
import { scrub, scrubError } from './diagnostics/redact.js';
import type { Dialect, WireRequest } from './dialects/dialect.js';
import { AbortError, describeRequest, TimeoutError, TokenwireError } from './errors.js';
import type { FleetEndpoint } from './fleet/fleet.js';
import type { LogRecord, ResolvedOptions } from './options.js';
import { decodeWholeBody } from './transport/body-decoder.js';
import { httpError, networkError } from './transport/http-errors.js';
import { contentCoding } from './transport/response-check.js';
import { withSchemeHint } from './transport/scheme-probe.js';
import { VERSION } from './version.js';

/** Largest JSON answer read for tokenize/detokenize/models (a long text's ids fit easily). */
const MAX_JSON_RESPONSE_BYTES = 64 * 1024 * 1024;

/** What a JSON request needs of its client (the client's stream context has it all). */
export interface JsonRequestContext {
  dispatcher: Dispatcher;
  /** The client's options: its timeouts and failed-request capture apply. */
  options: ResolvedOptions;
  log: (record: LogRecord) => void;
  secrets: readonly (string | undefined)[];
}

/** A parsed JSON answer, with its text (for error previews), headers and URL. */
export interface JsonAnswer {
  body: unknown;
  text: string;
  headers: Record<string, string>;
  url: string;
}

/**
 * One JSON request to `endpoint`; its errors never show a secret the server echoed
 * (scrubbed before any cut), and a failure is saved as a fixture unless `capture` is
 * false (dialect detection: the stream that waited for it saves its own).
 */
export async function requestJson(
  ctx: JsonRequestContext,
  method: 'GET' | 'POST',
  wire: WireRequest,
  signal: AbortSignal | undefined,
  endpoint: FleetEndpoint,
  capture = true,
): Promise<JsonAnswer> {
  const startedAt = { iso: new Date().toISOString(), ms: performance.now() };
  try {
    return await requestJsonOnce(ctx, method, wire, signal, endpoint.options);
  } catch (error) {
    if (!(error instanceof TokenwireError)) throw error;
    const failure = await withSchemeHint(error);
    scrubError(failure, ctx.secrets);
    const dir = ctx.options.failedRequestsDir;
    if (capture && dir !== false && failure.code !== 'aborted') {
      await captureJsonFailure(
        {
          method,
          url: endpoint.rootUrl + wire.path,
          headers: requestHeaders(endpoint.options, 'application/json', method === 'POST', VERSION),
          body: method === 'POST' ? wire.body : undefined,
          dialect: endpoint.knownDialect?.name ?? 'unknown',
          startedAt,
          error: failure,
        },
        dir,
        ctx.options.failedRequestsRetention,
        ctx.secrets,
        VERSION,
        ctx.log,
      );
    }
    throw failure;
  }
}

async function requestJsonOnce(
  ctx: JsonRequestContext,
  method: 'GET' | 'POST',
  wire: WireRequest,
  signal: AbortSignal | undefined,
  endpoint: ResolvedOptions,
): Promise<JsonAnswer> {
  const url = endpoint.rootUrl + wire.path;
  const headers = requestHeaders(endpoint, 'application/json', method === 'POST', VERSION);
  const { timeouts } = ctx.options;
  const deadline = timeouts.totalMs > 0 ? AbortSignal.timeout(timeouts.totalMs) : undefined;
  const signals = [signal, deadline].filter((s): s is AbortSignal => s !== undefined);
  let response: Awaited<ReturnType<typeof undiciRequest>>;
  try {
    response = await undiciRequest(url, {
      method,
      headers,
      body: method === 'POST' ? JSON.stringify(wire.body) : undefined,
      dispatcher: ctx.dispatcher,
      headersTimeout: timeouts.headersMs,
      bodyTimeout: timeouts.idleMs,
      signal: signals.length > 0 ? AbortSignal.any(signals) : undefined,
    });
  } catch (error) {
    throw (
      ownEnd(signal, deadline, timeouts.totalMs, method, url, 'connect') ??
      networkError(error, 'connect', method, url, timeouts)
    );
  }
  const responseHeaders: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    if (value !== undefined) responseHeaders[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  let raw: Buffer;
  try {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body) {
      size += chunk.length;
      if (size > MAX_JSON_RESPONSE_BYTES)
        throw new Error(`answer larger than ${MAX_JSON_RESPONSE_BYTES} bytes`);
      chunks.push(chunk);
    }
    raw = Buffer.concat(chunks);
  } catch (error) {
    response.body.destroy();
    throw (
      ownEnd(signal, deadline, timeouts.totalMs, method, url, 'stream') ??
      networkError(error, 'stream', method, url, timeouts)
    );
  }
  const coding = contentCoding(responseHeaders);
  if (coding !== undefined) {
    // A proxy compressed the answer although nothing asked for it: decoded like a stream's.
    try {
      raw = decodeWholeBody(coding, raw, MAX_JSON_RESPONSE_BYTES);
    } catch (error) {
      throw badJson(url, `the answer could not be decoded (${(error as Error).message})`, '', method);
    }
  }
  const text = raw.toString('utf8');
  if (response.statusCode < 200 || response.statusCode >= 300) {
    throw httpError(response.statusCode, responseHeaders, scrub(text, ctx.secrets), method, url);
  }
  try {
    return { body: JSON.parse(text), text, headers: responseHeaders, url };
  } catch {
    throw badJson(url, 'the answer is not JSON', scrub(text, ctx.secrets), method);
  }
}

/**
 * The request was ended on this side — its total deadline ran out, or its caller's signal
 * (the client's lifetime for a detection) aborted — rather than by the server or the
 * network: `total_timeout` or `aborted`, which say nothing about the endpoint. (undici
 * rejects with the signal's reason, which would otherwise read as a connection failure
 * and count as the endpoint's failure in a fleet.)
 */
function ownEnd(
  signal: AbortSignal | undefined,
  deadline: AbortSignal | undefined,
  totalMs: number,
  method: string,
  url: string,
  phase: 'connect' | 'stream',
): TokenwireError | undefined {
  const where = describeRequest(method, url);
  if (signal?.aborted) {
    const reason = signal.reason instanceof Error ? `: ${signal.reason.message}` : '';
    return new AbortError(`aborted${reason}${where}`, {
      code: 'aborted',
      phase,
      retryable: false,
      url,
      method,
      cause: signal.reason,
    });
  }
  if (deadline?.aborted) {
    return new TimeoutError(`total_timeout: the request took more than ${totalMs} ms${where}`, {
      code: 'total_timeout',
      phase: phase === 'connect' ? 'headers' : 'stream',
      retryable: false,
      url,
      method,
    });
  }
  return undefined;
}

/** A `protocol_error` for a JSON answer that is not what was asked for (`what`). */
export function badJson(url: string, what: string, text: string, method = 'POST'): TokenwireError {
  return new TokenwireError(`protocol_error: ${what}${describeRequest(method, url)}: ${text.slice(0, 200)}`, {
    code: 'protocol_error',
    phase: 'stream',
    url,
    method,
    body: text.slice(0, 4096),
  });
}

/**
 * The server's text of `ids` from its detokenize endpoint on `endpoint` (a stream's held
 * text at a resume); undefined when the dialect has none. Not captured as a failed request:
 * the stream it serves captures its own failure.
 */
export async function detokenizeOn(
  ctx: JsonRequestContext,
  signal: AbortSignal | undefined,
  endpoint: FleetEndpoint,
  dialect: Dialect,
  ids: readonly number[],
  model: string | undefined,
): Promise<string | undefined> {
  if (!dialect.detokenizeRequest || !dialect.parseDetokenize) return undefined;
  const wire = dialect.detokenizeRequest(ids, model ?? endpoint.options.model);
  const json = await requestJson(ctx, 'POST', wire, signal, endpoint, false);
  return dialect.parseDetokenize(json.body);
}
