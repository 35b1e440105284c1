/**
 * Client options: their public shape, defaults, environment fallbacks, and
 * validation at the door (every bad value is an `invalid_option` error that
 * names the option and the value).
 */

import type { Dispatcher } from 'undici';
import { normalizeBaseUrl, urlCredentials } from './base-url.js';
import { DEFAULT_MAX_FIXTURE_BYTES, DEFAULT_MAX_FIXTURE_FILES } from './diagnostics/fixture-store.js';
import { InvalidOptionError } from './errors.js';
import type { DiscoveryOptions } from './fleet/discovery.js';
import type { EndpointOption, RoutingOptions } from './fleet/endpoint-options.js';
import { checkKeys, keySet } from './option-keys.js';
import {
  bad,
  checkNonNegative,
  DEFAULT_TIMEOUTS,
  HEADER_VALUE,
  resolveHeaders,
  resolveHedge,
  resolveTimeouts,
} from './option-values.js';
import type { TelemetryOptions } from './telemetry/telemetry.js';
import { resolveTransport } from './transport-options.js';
import type { DialectName, HedgeOptions } from './types.js';

/** Per-phase deadlines, in milliseconds. `0` disables a deadline. */
export interface TimeoutOptions {
  /** TCP (and TLS) connect. Default 30 000. */
  connectMs?: number;
  /** From sending the request to the response head. Default 60 000. */
  headersMs?: number;
  /** From the start of an attempt to its first content (token, text, tool-call or reasoning delta). Default 120 000. */
  firstTokenMs?: number;
  /**
   * Longest time without content once tokens flow: keepalive comments, `choices: []`
   * heartbeats and empty deltas do not count. Default 60 000.
   */
  idleMs?: number;
  /** The whole call, across retries and resumes. Default 600 000. */
  totalMs?: number;
  /**
   * Whether keepalive comment lines (`: ping`) reset the idle clock. Default false:
   * some providers send them forever while nothing is generated.
   */
  keepaliveResetsIdle?: boolean;
}

/** Retry and resume behaviour. */
export interface RetryOptions {
  /** Most HTTP attempts per call, the first included. Default 3. */
  maxAttempts?: number;
  /** First backoff delay before jitter. Default 500. */
  baseDelayMs?: number;
  /** Largest backoff delay (also caps a server's `Retry-After`). Default 30 000. */
  maxDelayMs?: number;
  /** Resume by continuation after tokens have arrived. Default true. */
  resume?: boolean;
}

/** One anomaly or debug record. */
export interface LogRecord {
  level: 'debug' | 'warn';
  /** Short machine-readable name: `request`, `response`, `first_token`, `parse_error`, `retry`, `resume`, … */
  event: string;
  [field: string]: unknown;
}

/** Receives debug records and anomalies. */
export type Logger = (record: LogRecord) => void;

/** Options of `new Client(...)`. */
export interface ClientOptions {
  /**
   * Server URL, with or without `/v1` (trailing `/` trimmed). Env fallback:
   * `TOKENWIRE_BASE_URL`, then `OPENAI_BASE_URL`.
   */
  baseUrl?: string;
  /** Bearer token. Env fallback: `TOKENWIRE_API_KEY`, then `OPENAI_API_KEY`. Never logged. */
  apiKey?: string;
  /** Default model name. Env fallback: `TOKENWIRE_MODEL`. */
  model?: string;
  /** Server family, or `'auto'` (default): detected once per client from `GET /v1/models`. */
  dialect?: DialectName | 'auto';
  timeouts?: TimeoutOptions;
  /** Retry policy, or `false` for a single attempt. */
  retry?: RetryOptions | false;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  /** Per-request debug lines on stderr (also `TOKENWIRE_DEBUG=1`). */
  debug?: boolean;
  /** Where anomalies (and debug records) go. Default: one line each on stderr. */
  logger?: Logger;
  /**
   * Directory for failed-request fixtures, or `false` to disable. Default
   * `$XDG_STATE_HOME/tokenwire/failed-requests` (else `~/.local/state/tokenwire/failed-requests`).
   */
  failedRequestsDir?: string | false;
  /** Retention: most fixtures kept in `failedRequestsDir`, the oldest removed first (the newest is always kept). Default 500. */
  failedRequestsMaxFiles?: number;
  /** Retention: most bytes of fixtures kept in `failedRequestsDir`, the oldest removed first. Default 100 MiB. */
  failedRequestsMaxBytes?: number;
  /** Most simultaneous connections to the server. Default 256. */
  maxConnections?: number;
  /** Longest SSE line accepted, in bytes (default 16 MiB). */
  maxLineBytes?: number;
  /**
   * An HTTP(S) proxy for every request (`http://user:pass@proxy:3128`), or `false` for
   * none. Default: `HTTP_PROXY` / `HTTPS_PROXY` / `NO_PROXY` (lower-case names first),
   * read as undici's `EnvHttpProxyAgent` reads them. Requests go through a CONNECT
   * tunnel, TLS to the server inside it.
   */
  proxy?: string | false;
  /**
   * Your own undici `Dispatcher` (an `Agent`, a `Pool`, a `MockAgent`, interceptors …) for
   * every request. It **bypasses tokenwire's own pool** (and `maxConnections`, `proxy`,
   * `tls`); tokenwire's clocks, retries and resume still apply. `close()` leaves it open.
   */
  dispatcher?: Dispatcher;
  /** TLS settings of connections to `https:` servers (also through a proxy). */
  tls?: TlsOptions;
  /**
   * Several servers of the same model instead of one `baseUrl` (not both): URLs, or
   * `{ url, weight, apiKey, headers, dialect, model, maxInFlight }`. Env fallback when
   * neither is given: `TOKENWIRE_ENDPOINTS` (comma-separated URLs).
   */
  endpoints?: EndpointOption[];
  /** How requests are spread over `endpoints` (policy, cache affinity, health). */
  routing?: RoutingOptions;
  /**
   * Endpoints from DNS instead of `baseUrl` / `endpoints`: every address of the URL's host
   * (a headless Service) is an endpoint, re-resolved every `intervalMs` (default 10 s).
   */
  discovery?: DiscoveryOptions;
  /**
   * OpenTelemetry: explicit providers (and content capture), or `false` for none. Default:
   * the global providers, when `@opentelemetry/api` is installed and they are registered.
   */
  telemetry?: TelemetryOptions | false;
  /**
   * Hedging over `endpoints` (or `discovery`): when an attempt has produced no token
   * `afterMs` after it was sent, the same request goes to a second endpoint, the first to
   * answer is kept and the other cancelled (see {@link HedgeOptions}). Per request too.
   * Refused with a single `baseUrl` (a second request would go to the same server).
   */
  hedge?: HedgeOptions | false;
}

/** TLS settings of the connections to the server. */
export interface TlsOptions {
  /**
   * Certificate authorities to trust (PEM). They replace Node's default list; to add to
   * it instead, pass `[...tls.rootCertificates, yourCa]` (from `node:tls`) or set
   * `NODE_EXTRA_CA_CERTS`.
   */
  ca?: string | Buffer | (string | Buffer)[];
  /** Client certificate chain (PEM), for servers that ask for one (mutual TLS). */
  cert?: string | Buffer | (string | Buffer)[];
  /** Private key (PEM) of `cert`. Never shown in errors. */
  key?: string | Buffer | (string | Buffer)[];
  /** Default true. `false` accepts any certificate (the connection is then not private). */
  rejectUnauthorized?: boolean;
  /** The host name the certificate must carry (and SNI), when it is not the URL's host. */
  servername?: string;
}

/** Every key of ClientOptions (the compiler checks that none is missing). */
const CLIENT_OPTION_KEYS = keySet<ClientOptions>({
  baseUrl: true,
  apiKey: true,
  model: true,
  dialect: true,
  timeouts: true,
  retry: true,
  headers: true,
  debug: true,
  logger: true,
  failedRequestsDir: true,
  failedRequestsMaxFiles: true,
  failedRequestsMaxBytes: true,
  maxConnections: true,
  maxLineBytes: true,
  endpoints: true,
  routing: true,
  telemetry: true,
  discovery: true,
  proxy: true,
  dispatcher: true,
  tls: true,
  hedge: true,
});
const RETRY_KEYS = keySet<RetryOptions>({
  maxAttempts: true,
  baseDelayMs: true,
  maxDelayMs: true,
  resume: true,
});

export { checkNonNegative, DEFAULT_TIMEOUTS, showValue } from './option-values.js';

/** Options after defaults and validation. */
export interface ResolvedOptions {
  /** Server root without `/v1` and without a trailing slash. */
  rootUrl: string;
  apiKey: string | undefined;
  model: string | undefined;
  dialect: DialectName | 'auto';
  timeouts: Required<TimeoutOptions>;
  retry: Required<RetryOptions>;
  headers: Record<string, string>;
  debug: boolean;
  logger: Logger | undefined;
  failedRequestsDir: string | false | undefined;
  /** Retention of the failed-requests directory. */
  failedRequestsRetention: { maxFiles: number; maxBytes: number };
  /** `user:password` from the base URL (sent as Basic auth when there is no API key), decoded. */
  basicAuth: string | undefined;
  maxConnections: number;
  maxLineBytes: number | undefined;
  telemetry: TelemetryOptions | false | undefined;
  /** The proxy option as given (validated): a URL, false (none) or undefined (environment). */
  proxy: string | false | undefined;
  dispatcher: Dispatcher | undefined;
  tls: TlsOptions | undefined;
  /** Hedging's delay (`hedge.afterMs`), undefined when off. */
  hedgeAfterMs: number | undefined;
}

export const DIALECT_NAMES: readonly DialectName[] = [
  'vllm',
  'sglang',
  'llamacpp',
  'openai',
  'openrouter',
  'together',
  'fireworks',
];

export const DEFAULT_RETRY: Required<RetryOptions> = {
  maxAttempts: 3,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  resume: true,
};

/** Applies environment fallbacks, defaults and validation. */
export function resolveOptions(
  options: ClientOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): ResolvedOptions {
  if (options === null || typeof options !== 'object') bad('options', options, 'an object');
  checkKeys(options, CLIENT_OPTION_KEYS, 'option');
  const baseUrl = options.baseUrl ?? env.TOKENWIRE_BASE_URL ?? env.OPENAI_BASE_URL;
  if (baseUrl === undefined) {
    throw new InvalidOptionError(
      'missing option baseUrl: pass { baseUrl } or set TOKENWIRE_BASE_URL or OPENAI_BASE_URL (e.g. http://127.0.0.1:8000)',
    );
  }
  const rootUrl = normalizeBaseUrl(baseUrl);
  const basicAuth = urlCredentials(baseUrl);
  const apiKey = options.apiKey ?? env.TOKENWIRE_API_KEY ?? env.OPENAI_API_KEY;
  if (apiKey !== undefined && typeof apiKey !== 'string') bad('apiKey', '[not a string]', 'a string');
  // Checked here, without showing the value: undici would reject it later with the key in its message.
  if (apiKey !== undefined && !HEADER_VALUE.test(apiKey)) {
    bad('apiKey', '[hidden]', 'printable ASCII without line breaks (check for a stray newline or quote)');
  }
  const model = options.model ?? env.TOKENWIRE_MODEL;
  if (model !== undefined && typeof model !== 'string') bad('model', model, 'a string');
  const dialect = options.dialect ?? 'auto';
  if (dialect !== 'auto' && !DIALECT_NAMES.includes(dialect)) {
    bad('dialect', dialect, `'auto' or one of ${DIALECT_NAMES.join(', ')}`);
  }

  const timeouts = resolveTimeouts(options.timeouts, DEFAULT_TIMEOUTS);

  let retry: Required<RetryOptions>;
  if (options.retry === false) {
    retry = { ...DEFAULT_RETRY, maxAttempts: 1, resume: false };
  } else {
    retry = { ...DEFAULT_RETRY };
    if (options.retry !== undefined) {
      if (options.retry === null || typeof options.retry !== 'object')
        bad('retry', options.retry, 'an object or false');
      checkKeys(options.retry, RETRY_KEYS, 'option', 'retry.');
      const r = options.retry;
      if (r.maxAttempts !== undefined) {
        if (!Number.isInteger(r.maxAttempts) || r.maxAttempts < 1) {
          bad('retry.maxAttempts', r.maxAttempts, 'an integer ≥ 1');
        }
        retry.maxAttempts = r.maxAttempts;
      }
      retry.baseDelayMs = checkNonNegative('retry.baseDelayMs', r.baseDelayMs) ?? retry.baseDelayMs;
      retry.maxDelayMs = checkNonNegative('retry.maxDelayMs', r.maxDelayMs) ?? retry.maxDelayMs;
      if (r.resume !== undefined) {
        if (typeof r.resume !== 'boolean') bad('retry.resume', r.resume, 'a boolean');
        retry.resume = r.resume;
      }
    }
  }

  const headers = resolveHeaders(options.headers);

  const envDebug = env.TOKENWIRE_DEBUG;
  const debug = options.debug ?? (envDebug !== undefined && envDebug !== '' && envDebug !== '0');
  if (typeof debug !== 'boolean') bad('debug', debug, 'a boolean');
  if (options.logger !== undefined && typeof options.logger !== 'function')
    bad('logger', options.logger, 'a function');
  const dir = options.failedRequestsDir;
  if (dir !== undefined && dir !== false && (typeof dir !== 'string' || dir === '')) {
    bad('failedRequestsDir', dir, 'a directory path or false');
  }
  const failedRequestsRetention = {
    maxFiles:
      checkNonNegative('failedRequestsMaxFiles', options.failedRequestsMaxFiles, true) ??
      DEFAULT_MAX_FIXTURE_FILES,
    maxBytes:
      checkNonNegative('failedRequestsMaxBytes', options.failedRequestsMaxBytes, true) ??
      DEFAULT_MAX_FIXTURE_BYTES,
  };
  const maxConnections = checkNonNegative('maxConnections', options.maxConnections, true) ?? 256;
  if (maxConnections === 0) bad('maxConnections', 0, 'an integer ≥ 1');
  const maxLineBytes = checkNonNegative('maxLineBytes', options.maxLineBytes, true);
  const telemetry = checkTelemetry(options.telemetry);
  const { proxy, dispatcher, tls } = resolveTransport(options);
  const hedgeAfterMs = resolveHedge(options.hedge) ?? undefined;

  return {
    rootUrl,
    apiKey,
    model,
    dialect,
    timeouts,
    retry,
    headers,
    debug,
    logger: options.logger,
    failedRequestsDir: dir,
    failedRequestsRetention,
    basicAuth,
    maxConnections,
    maxLineBytes,
    telemetry,
    proxy,
    dispatcher,
    tls,
    hedgeAfterMs,
  };
}

function checkTelemetry(value: unknown): TelemetryOptions | false | undefined {
  if (value === undefined || value === false) return value;
  if (value === null || typeof value !== 'object') bad('telemetry', value, 'an object or false');
  const { tracerProvider, meterProvider, captureContent } = value as TelemetryOptions;
  if (tracerProvider !== undefined && typeof tracerProvider?.getTracer !== 'function') {
    bad('telemetry.tracerProvider', tracerProvider, 'a TracerProvider (with getTracer)');
  }
  if (meterProvider !== undefined && typeof meterProvider?.getMeter !== 'function') {
    bad('telemetry.meterProvider', meterProvider, 'a MeterProvider (with getMeter)');
  }
  if (captureContent !== undefined && typeof captureContent !== 'boolean') {
    bad('telemetry.captureContent', captureContent, 'a boolean');
  }
  return value as TelemetryOptions;
}
