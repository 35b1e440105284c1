/**
 * What every call of one `createFetch()` function shares: resolved options, the
 * connection pool, the logger, and each server's dialect (detected once per server
 * root) — and the per-call StreamContext the engine runs on.
 */
import { type Dispatcher, request as undiciRequest } from 'undici';
import { makeLog } from '../diagnostics/logger.js';
import type { Dialect } from '../dialects/dialect.js';
import { detectDialect, dialectByName, dialectFromUrl } from '../dialects/index.js';
import { Fleet } from '../fleet/fleet.js';
import type { Logger, LogRecord, ResolvedOptions } from '../options.js';
import type { StreamContext } from '../stream/context.js';
import { networkError } from '../transport/http-errors.js';
import { VERSION } from '../version.js';
import { type FetchCall, secretsOf } from './request.js';

/** Largest `GET /v1/models` answer read for detection (a model list is small). */
const MAX_MODELS_BYTES = 1024 * 1024;
/** Server roots whose dialect is remembered (a fetch talks to a handful of servers). */
const MAX_ROOTS = 64;

export interface FetchShared {
  options: ResolvedOptions;
  agent: Dispatcher;
  logger: Logger;
  /** The logger behind the debug switch (records without a call's secrets). */
  log: (record: LogRecord) => void;
  /** Ends the work calls share (dialect detection) when the fetch is closed. */
  lifetime: AbortController;
  /** Streams in flight, which close() ends. */
  liveStreams: Set<{ abort(reason?: unknown): void }>;
  /** Dialects by server root, once known or being detected. */
  dialects: Map<string, Promise<Dialect>>;
  known: Map<string, Dialect>;
}

/**
 * The engine's context for one call: a fleet of one endpoint — the server root the
 * call goes to, with the caller's headers (the SDK's key among them) — its secrets,
 * and the dialect of that root (detected once for all calls to it).
 */
export function callContext(shared: FetchShared, call: FetchCall, root: string): StreamContext {
  const secrets = secretsOf(call.headers);
  // The fetch's own `headers` option first: the SDK's headers win.
  const options: ResolvedOptions = {
    ...shared.options,
    rootUrl: root,
    apiKey: undefined,
    headers: { ...shared.options.headers, ...call.headers },
  };
  const fleet = new Fleet([{ options, weight: 1, maxInFlight: Number.POSITIVE_INFINITY }], {}, VERSION, () =>
    fixedDialect(shared, root),
  );
  return {
    dispatcher: shared.agent,
    options: shared.options,
    log: makeLog(shared.logger, shared.options.debug, secrets),
    secrets,
    fleet,
    detect: (endpoint) => dialectOf(shared, root, endpoint.streamHeaders, shared.lifetime.signal),
    liveStreams: shared.liveStreams,
    version: VERSION,
  };
}

/** The dialect of a root when it needs no detection (set by the option, or already detected). */
function fixedDialect(shared: FetchShared, root: string): Dialect | undefined {
  const fixed = shared.options.dialect;
  if (fixed !== 'auto') return dialectByName(fixed) ?? dialectByName('openai')!;
  return shared.known.get(root);
}

/** The dialect of a server root: the option, else detected once (from the URL, else `GET /v1/models`). */
function dialectOf(
  shared: FetchShared,
  root: string,
  headers: Readonly<Record<string, string>>,
  signal: AbortSignal | undefined,
): Promise<Dialect> {
  const fixed = fixedDialect(shared, root);
  if (fixed !== undefined) return Promise.resolve(fixed);
  let promise = shared.dialects.get(root);
  if (promise === undefined) {
    promise = detect(shared, root, headers, signal);
    if (shared.dialects.size >= MAX_ROOTS) shared.dialects.clear();
    shared.dialects.set(root, promise);
    promise.then(
      (dialect) => {
        if (shared.known.size >= MAX_ROOTS) shared.known.clear();
        shared.known.set(root, dialect);
      },
      // A server that could not be reached is asked again by the next call.
      () => shared.dialects.delete(root),
    );
  }
  return promise;
}

async function detect(
  shared: FetchShared,
  root: string,
  headers: Readonly<Record<string, string>>,
  signal: AbortSignal | undefined,
): Promise<Dialect> {
  let name = dialectFromUrl(root);
  if (name === undefined) {
    const url = `${root}/v1/models`;
    const { timeouts } = shared.options;
    const { 'content-type': _, ...getHeaders } = headers;
    let response: Awaited<ReturnType<typeof undiciRequest>>;
    try {
      response = await undiciRequest(url, {
        method: 'GET',
        headers: { ...getHeaders, accept: 'application/json' },
        dispatcher: shared.agent,
        headersTimeout: timeouts.headersMs,
        bodyTimeout: timeouts.idleMs,
        signal,
      });
    } catch (error) {
      throw networkError(error, 'connect', 'GET', url, timeouts);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of response.body) {
        size += chunk.length;
        if (size > MAX_MODELS_BYTES) break;
        chunks.push(chunk);
      }
    } catch (error) {
      throw networkError(error, 'stream', 'GET', url, timeouts);
    } finally {
      response.body.destroy();
    }
    if (response.statusCode >= 200 && response.statusCode < 300) {
      const responseHeaders: Record<string, string> = {};
      for (const [key, value] of Object.entries(response.headers)) {
        if (typeof value === 'string') responseHeaders[key] = value;
      }
      try {
        name = detectDialect(JSON.parse(Buffer.concat(chunks).toString('utf8')), responseHeaders);
      } catch {
        // Not JSON: nothing conclusive, the generic dialect still works.
      }
    }
  }
  const dialect = (name && dialectByName(name)) || dialectByName('openai')!;
  shared.log({
    level: 'debug',
    event: 'dialect',
    detected: name ?? 'unknown',
    using: dialect.name,
    url: root,
  });
  return dialect;
}
