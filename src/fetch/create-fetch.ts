/**
 * `createFetch()`: a WHATWG-fetch-compatible function that runs streaming
 * completions and chat requests through tokenwire's engine, for SDKs that accept a
 * custom fetch (`new OpenAI({ fetch })`, `createOpenAICompatible({ fetch })`).
 */
import { makeLog, stderrLogger } from '../diagnostics/logger.js';
import { InvalidOptionError, TokenwireError } from '../errors.js';
import { type ClientOptions, resolveOptions, showValue } from '../options.js';
import { createDispatcher } from '../transport/client-dispatcher.js';
import { plainFetch } from './plain.js';
import { RelayStream } from './relay-stream.js';
import { readFetchCall, relayPlan, secretsOf, serverRoot } from './request.js';
import { type ErrorDelivery, failedRelayResponse, relayResponse } from './response.js';
import { callContext, type FetchShared } from './shared.js';

/**
 * Options of {@link createFetch}: a Client's options, less what the SDK already says per
 * request (server URL, API key, model). `headers` are added under the SDK's own.
 */
export interface FetchOptions
  extends Omit<
    ClientOptions,
    'baseUrl' | 'apiKey' | 'model' | 'endpoints' | 'routing' | 'discovery' | 'telemetry' | 'hedge'
  > {
  /**
   * How a stream's failure reaches the SDK. `'throw'`: the response body fails with
   * the TokenwireError (openai-node throws it as is, `code` and `partial` included).
   * `'event'`: the body ends with a `data: {"error": {message, code, …}}` event, which
   * the SDK raises as its own error after the text before it (the AI SDK drops text it
   * had read when a body fails instead). Default `'auto'`: `'event'` for requests whose
   * user agent names the AI SDK (`ai-sdk/`), `'throw'` for the others.
   */
  errors?: 'auto' | ErrorDelivery;
}

const ERROR_DELIVERIES = ['auto', 'throw', 'event'];

/** Client options createFetch refuses: every fleet option (hedging included), and telemetry. */
const UNSUPPORTED = ['endpoints', 'routing', 'discovery', 'telemetry', 'hedge'] as const;

/** Option names whose values are credentials (an endpoint's apiKey, a proxy's password…). */
const SECRET_KEY = /key|token|secret|password|authorization|cookie/i;

/**
 * A refused option's value as an error may show it: credentials replaced (keys named
 * like one, `user:pass@` in URLs), bounded in depth. Objects that are not plain data
 * (a tracer provider) show as their kind.
 */
function withoutSecrets(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') {
    try {
      const url = new URL(value);
      if (url.username === '' && url.password === '') return value;
      url.username = '';
      url.password = '';
      return url.href.replace(/\/$/, value.endsWith('/') ? '/' : '');
    } catch {
      return value;
    }
  }
  if (value === null || typeof value !== 'object') return value;
  if (depth > 3) return '[…]';
  if (Array.isArray(value)) return value.map((entry) => withoutSecrets(entry, depth + 1));
  if (Object.getPrototypeOf(value) !== Object.prototype) return `[${value.constructor?.name ?? 'object'}]`;
  const out: Record<string, unknown> = {};
  for (const [name, entry] of Object.entries(value)) {
    out[name] = SECRET_KEY.test(name) && entry !== undefined ? '[hidden]' : withoutSecrets(entry, depth + 1);
  }
  return out;
}

/** A fetch function backed by tokenwire's engine; `close()` closes its connections. */
export interface TokenwireFetch {
  (input: string | URL | Request, init?: RequestInit): Promise<Response>;
  /** Closes the connection pool (streams in flight end). */
  close(): Promise<void>;
}

/** Stands in for the base URL the options require: every call brings its own. */
const NO_BASE_URL = 'http://tokenwire-fetch.invalid';

/**
 * Creates a fetch function for an SDK. A streaming (`"stream": true`) POST to
 * `…/completions` or `…/chat/completions` is run by tokenwire's engine and its
 * response body is the checked stream: the phase clocks (keepalives do not count),
 * the body ends right after `[DONE]`, an EOF without a finish, an in-stream error of
 * any shape (llama.cpp's `error:` line included), a non-stream 200 body or an
 * over-long line makes the body fail with a {@link TokenwireError} (so the SDK
 * throws it), retries before the first token, exact resume for token-id prompts on
 * servers that stream ids, and failed-request capture. Other calls get the clocks
 * and retries. A call that never got a response rejects with a TokenwireError; an
 * HTTP error is returned as the server sent it, after tokenwire's retries.
 *
 * @example
 * import OpenAI from 'openai';
 * import { createFetch } from 'tokenwire/fetch';
 * const openai = new OpenAI({ baseURL: 'http://127.0.0.1:8000/v1', apiKey, fetch: createFetch(), maxRetries: 0 });
 */
export function createFetch(options: FetchOptions = {}): TokenwireFetch {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError(`invalid option options: ${showValue(options)} (expected an object)`);
  }
  for (const key of ['baseUrl', 'apiKey', 'model'] as const) {
    if (key in options) {
      throw new InvalidOptionError(
        `invalid option ${key}: ${showValue(key === 'apiKey' ? '[hidden]' : (options as Record<string, unknown>)[key])} (createFetch takes it from each request: set it on the SDK instead)`,
      );
    }
  }
  // Not (yet) for the fetch: each call goes where the SDK sends it, and spans are not made here.
  for (const key of UNSUPPORTED) {
    if (key in options) {
      throw new InvalidOptionError(
        `invalid option ${key}: ${showValue(withoutSecrets((options as Record<string, unknown>)[key]))} (createFetch does not support fleets or telemetry: each call goes where the SDK sends it; use a tokenwire Client)`,
      );
    }
  }
  const { errors = 'auto', ...clientOptions } = options;
  if (!ERROR_DELIVERIES.includes(errors)) {
    throw new InvalidOptionError(
      `invalid option errors: ${showValue(errors)} (expected 'auto', 'throw' or 'event')`,
    );
  }
  const resolved = resolveOptions(
    { ...clientOptions, baseUrl: NO_BASE_URL, apiKey: undefined, model: undefined },
    {},
  );
  const logger = resolved.logger ?? stderrLogger([]);
  const shared: FetchShared = {
    options: resolved,
    // The options' proxy (or the environment's), tls or own dispatcher, as a Client has them.
    agent: createDispatcher(resolved, process.env),
    logger,
    log: makeLog(logger, resolved.debug, []),
    lifetime: new AbortController(),
    liveStreams: new Set(),
    dialects: new Map(),
    known: new Map(),
  };
  const tokenwireFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const call = await readFetchCall(input, init);
    if (call.opaqueBody) return fetch(input, init);
    const plan = relayPlan(call);
    if (plan === undefined) return plainFetch(shared, call, secretsOf(call.headers));
    const delivery: ErrorDelivery =
      errors !== 'auto' ? errors : (call.headers['user-agent'] ?? '').includes('ai-sdk/') ? 'event' : 'throw';
    const stream = new RelayStream(callContext(shared, call, serverRoot(call.url)), plan);
    let first: IteratorResult<Uint8Array>;
    try {
      first = await stream.next();
    } catch (error) {
      if (!(error instanceof TokenwireError)) throw error;
      // No response at all (refused, timed out before a head, aborted): a network error, as fetch has it.
      if (error.status === undefined) throw error;
      return failedRelayResponse(stream, error, delivery);
    }
    return relayResponse(stream, first.done ? undefined : first.value, delivery);
  };
  const close = async (): Promise<void> => {
    shared.lifetime.abort(new Error('the fetch was closed'));
    for (const stream of [...shared.liveStreams]) stream.abort('the fetch was closed');
    // A dispatcher of the user's is theirs to close.
    if (resolved.dispatcher === undefined) await shared.agent.destroy();
  };
  return Object.assign(tokenwireFetch, { close });
}
