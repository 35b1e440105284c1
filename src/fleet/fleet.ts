/**
 * A client's fleet: its endpoints as the stream engine sees them (root URL, request
 * headers, model, dialect detected per endpoint) over the router that picks among
 * them. The engine's hook is narrow: `lease()` says where an attempt goes, `release()`
 * says how it ended. A client with one `baseUrl` is a fleet of one.
 */

import { requestHeaders } from '../credentials.js';
import type { Dialect } from '../dialects/dialect.js';
import { TokenwireError } from '../errors.js';
import type { ResolvedOptions } from '../options.js';
import { retryAfterMs } from '../retry/policy.js';
import type { EndpointAttempt } from '../types.js';
import type { ResolvedEndpoint } from './endpoint-options.js';
import type { AttemptVerdict, EndpointSnapshot, EndpointState } from './endpoint-state.js';
import { type RouteQuery, Router, type RouterOptions } from './router.js';

/** Request URLs kept per endpoint (paths come from the dialects: a few per client). */
const MAX_CACHED_URLS = 16;

/** One endpoint with what requests to it need. */
export class FleetEndpoint {
  /** Headers of every streaming request here (shared by its streams; not to be changed). */
  readonly streamHeaders: Readonly<Record<string, string>>;
  /** The dialect once known (set, or detected). */
  knownDialect: Dialect | undefined;
  private dialectPromise: Promise<Dialect> | undefined;
  private readonly urls = new Map<string, URL>();

  constructor(
    readonly options: ResolvedOptions,
    readonly state: EndpointState,
    private readonly version: string,
    dialect: Dialect | undefined,
  ) {
    this.streamHeaders = requestHeaders(options, 'text/event-stream', true, version);
    this.knownDialect = dialect;
    if (dialect) this.dialectPromise = Promise.resolve(dialect);
  }

  /**
   * The streaming headers with a request's own (validated, lower-cased) laid over this
   * endpoint's: made per attempt, only for requests that have headers of their own.
   */
  streamHeadersWith(extra: Readonly<Record<string, string>>): Record<string, string> {
    const options = { ...this.options, headers: { ...this.options.headers, ...extra } };
    return requestHeaders(options, 'text/event-stream', true, this.version);
  }

  get rootUrl(): string {
    return this.options.rootUrl;
  }

  /** The URL of `path` under this endpoint's root (shared; not to be changed). */
  url(path: string): URL {
    let url = this.urls.get(path);
    if (url === undefined) {
      url = new URL(this.options.rootUrl + path);
      if (this.urls.size < MAX_CACHED_URLS) this.urls.set(path, url);
    }
    return url;
  }

  /** The dialect, detected once (a failed detection is retried by the next call). */
  dialect(
    detect: (endpoint: FleetEndpoint, signal?: AbortSignal) => Promise<Dialect>,
    signal?: AbortSignal,
  ): Promise<Dialect> {
    if (this.dialectPromise === undefined) {
      const promise = detect(this, signal);
      this.dialectPromise = promise;
      promise.then(
        (dialect) => {
          if (this.dialectPromise === promise) this.knownDialect = dialect;
        },
        () => {
          if (this.dialectPromise === promise) this.dialectPromise = undefined;
        },
      );
    }
    return this.dialectPromise;
  }
}

/** An attempt's hold on an endpoint, from `lease()` to `release()`. */
export interface Lease {
  readonly endpoint: FleetEndpoint;
  readonly record: EndpointAttempt;
  /** It is its endpoint's half-open trial. */
  readonly trial: boolean;
  released: boolean;
}

/** How an attempt's end bears on its endpoint's health (and a Retry-After to honour). */
export function verdictOf(failure: TokenwireError | undefined): { verdict: AttemptVerdict; coolMs?: number } {
  if (failure === undefined) return { verdict: 'ok' };
  switch (failure.code) {
    case 'aborted':
    case 'total_timeout':
    case 'invalid_option':
    case 'unsupported':
      return { verdict: 'neutral' };
    case 'http_error': {
      const status = failure.status ?? 0;
      if (status === 429 || status === 503) {
        return { verdict: 'failed', coolMs: retryAfterMs(failure.headers, Date.now()) };
      }
      // A request the server refused as bad says nothing about the server.
      if (status >= 400 && status < 500 && status !== 408 && status !== 409) return { verdict: 'neutral' };
      return { verdict: 'failed' };
    }
    default:
      return { verdict: 'failed' };
  }
}

export class Fleet {
  readonly router: Router;
  private readonly byState = new Map<EndpointState, FleetEndpoint>();
  private lastFailure: TokenwireError | undefined;

  constructor(
    endpoints: readonly ResolvedEndpoint[],
    routing: RouterOptions,
    private readonly version: string,
    private readonly dialectFor: (options: ResolvedOptions) => Dialect | undefined,
  ) {
    this.router = new Router([], routing);
    for (const endpoint of endpoints) this.add(endpoint);
  }

  get size(): number {
    return this.router.size;
  }

  /** Adds an endpoint (or brings a draining one back). */
  add(endpoint: ResolvedEndpoint): FleetEndpoint {
    const state = this.router.add({
      url: endpoint.options.rootUrl,
      weight: endpoint.weight,
      maxInFlight: endpoint.maxInFlight,
    });
    let fleetEndpoint = this.byState.get(state);
    if (fleetEndpoint === undefined) {
      fleetEndpoint = new FleetEndpoint(
        endpoint.options,
        state,
        this.version,
        this.dialectFor(endpoint.options),
      );
      this.byState.set(state, fleetEndpoint);
    }
    return fleetEndpoint;
  }

  /** Stops sending new requests to `url`; streams on it finish there. */
  drain(url: string): boolean {
    return this.router.drain(url);
  }

  /** Every endpoint (draining ones included until they empty). */
  list(): FleetEndpoint[] {
    return this.router.list().map((state) => this.byState.get(state)!);
  }

  /** The endpoint for a request that is not a stream (tokenize, models): the first that can take one. */
  primary(): FleetEndpoint {
    const states = this.router.list();
    const now = performance.now();
    const state = states.find((s) => s.available(now)) ?? states[0];
    if (state === undefined) {
      throw new TokenwireError('connection_error: no endpoint yet (discovery has found no address so far)', {
        code: 'connection_error',
        phase: 'connect',
        retryable: true,
      });
    }
    return this.byState.get(state)!;
  }

  /**
   * Where the next attempt goes, counted as in flight there; undefined when no endpoint can
   * take it now. `hedge`: it is a hedge's second request (recorded as chosen by `hedge`).
   */
  lease(query: RouteQuery, hedge = false): Lease | undefined {
    const now = performance.now();
    const choice = this.router.pick(query, now);
    if (choice === undefined) return undefined;
    const trial = this.router.begin(choice.endpoint, query.keys, now);
    const endpoint = this.byState.get(choice.endpoint)!;
    return {
      endpoint,
      record: { url: endpoint.rootUrl, chosenBy: hedge ? 'hedge' : choice.reason, tokens: 0 },
      trial,
      released: false,
    };
  }

  /** The endpoint of `lease` holds the prefix `keys` (the prompt and what it generated). */
  remember(lease: Lease, keys: readonly number[]): void {
    this.router.remember(lease.endpoint.state, keys);
  }

  /** The attempt on `lease` ended: `failure` (undefined on success) judges the endpoint. */
  release(
    lease: Lease,
    failure: TokenwireError | undefined,
    tokens: number,
    ttftMs: number | undefined,
  ): void {
    if (lease.released) return;
    lease.released = true;
    lease.record.tokens = tokens;
    const { verdict, coolMs } = verdictOf(failure);
    if (failure !== undefined) {
      lease.record.failed = failure.code;
      if (verdict === 'failed') this.lastFailure = failure;
    }
    this.router.end(lease.endpoint.state, verdict, performance.now(), {
      ttftMs,
      coolMs,
      error: verdict === 'failed' ? failure?.message : undefined,
      trial: lease.trial,
    });
  }

  /**
   * The lease ends without its attempt saying anything about the endpoint (the call gave
   * up before sending it, or cancelled it): in flight again one less, health unchanged.
   * `why` is recorded as the attempt's end (`done.stats.endpoints[].failed`).
   */
  abandon(lease: Lease, why: string | undefined): void {
    if (lease.released) return;
    lease.released = true;
    if (why !== undefined) lease.record.failed = why;
    this.router.end(lease.endpoint.state, 'neutral', performance.now(), { trial: lease.trial });
  }

  /** A health probe of `endpoint` ended: `error` undefined when it answered 2xx. */
  probed(endpoint: FleetEndpoint, error: string | undefined): void {
    const now = performance.now();
    const state = endpoint.state;
    if (error === undefined) {
      if (state.recover(now)) this.router.notifyChange();
      return;
    }
    state.judge(now, 'failed', undefined, undefined, error);
  }

  /** Whether an endpoint other than those tried can take a request right now. */
  canServeElsewhere(tried: readonly EndpointState[]): boolean {
    const now = performance.now();
    for (const state of this.router.list()) {
      if (!tried.includes(state) && state.available(now)) return true;
    }
    return false;
  }

  /** When an endpoint may next take a request (performance.now() time; Infinity: when one frees up). */
  nextAvailableAt(): number {
    return this.router.nextAvailableAt(performance.now());
  }

  /** Resolves at the next change that may free an endpoint. */
  changed(): Promise<void> {
    return this.router.changed();
  }

  /**
   * The error of a call that found no endpoint before its deadline: the last real failure
   * seen on the fleet (its code, status and message), else a connection error saying so.
   */
  unavailableError(own: TokenwireError | undefined): TokenwireError {
    const last = own ?? this.lastFailure;
    const states = this.router
      .list()
      .map((s) => `${s.url} ${s.refresh(performance.now())}`)
      .join(', ');
    const what = `no endpoint could take the request before the deadline (${states})`;
    if (last === undefined) {
      return new TokenwireError(`connection_error: ${what}`, {
        code: 'connection_error',
        phase: 'connect',
        retryable: true,
      });
    }
    return new TokenwireError(`${last.message} — then ${what}`, {
      code: last.code,
      phase: last.phase,
      retryable: last.retryable,
      url: last.url,
      method: last.method,
      status: last.status,
      requestId: last.requestId,
      headers: last.headers,
      cause: last,
    });
  }

  snapshot(): EndpointSnapshot[] {
    return this.router.snapshot(performance.now());
  }
}
