/**
 * The HTTP layer: one request over undici's `dispatch` with callback handlers
 * (no stream objects on the hot path), plus a small JSON request helper. Knows
 * nothing of SSE, dialects or tokens.
 */
import { Agent, type Dispatcher } from 'undici';
import { IdleStackPool } from './pool.js';

/** Callbacks for one request. Headers arrive with lower-cased names. */
export interface ResponseHandlers {
  /** The request got a connected socket and is being written. */
  onConnect?(): void;
  onHead(status: number, headers: Record<string, string>): void;
  onData(chunk: Buffer): void;
  onEnd(): void;
  onError(error: Error): void;
}

/** Control over a request in flight. */
export interface RequestHandle {
  /** Stops the request; `onError(reason)` follows unless it already ended. */
  abort(reason: Error): void;
  pause(): void;
  resume(): void;
}

export interface HttpRequest {
  url: URL;
  method: 'GET' | 'POST';
  headers: Readonly<Record<string, string>>;
  body?: string;
  /** Response-head deadline, ms (0 = none). */
  headersTimeoutMs: number;
}

/**
 * The connections of one client: an Agent routing by origin to an IdleStackPool per
 * origin. `connectMs` 0 means no connect deadline; `tls` (ca, cert, key,
 * rejectUnauthorized, servername) goes to every TLS connection.
 */
export function createAgent(
  connectMs: number,
  maxConnections: number,
  tls?: Readonly<Record<string, unknown>>,
): Agent {
  // undici treats 0 as "fail at once" for connect: use the largest timer delay instead.
  const connectTimeoutMs = connectMs > 0 ? connectMs : 2_147_483_647;
  return new Agent({
    factory: (origin) =>
      new IdleStackPool(origin, {
        connections: maxConnections,
        connectTimeoutMs,
        tls,
        client: {
          // tokenwire runs its own body clocks (first token, idle, total).
          bodyTimeout: 0,
          // Never pipeline: a stalled stream must not hold other requests hostage.
          pipelining: 1,
        },
      }),
  });
}

/**
 * A response head's raw header list (name, value, name, value, …; Buffers, or strings
 * from some dispatchers) as one record with lower-cased names; a repeated header's
 * values are joined with ", ". Decoded as latin1, as HTTP header bytes are.
 */
export function headersRecord(raw: readonly (Buffer | string)[] | null | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  if (!raw) return headers;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1').toLowerCase();
    if (name === '__proto__') continue;
    const value = raw[i + 1]!.toString('latin1');
    const previous = headers[name];
    headers[name] = previous === undefined || !Object.hasOwn(headers, name) ? value : `${previous}, ${value}`;
  }
  return headers;
}

/**
 * One request's callbacks in the shape undici's HTTP/1 client calls them (its own
 * `request()` uses the same ones). The newer controller-style handler would be
 * wrapped per request by undici in an adapter that also keeps the raw response
 * headers alive for the life of the stream (~1 KiB per stream; measured at 10,000
 * concurrent streams).
 */
class RequestCallbacks implements Dispatcher.DispatchHandler, RequestHandle {
  private abortRequest: ((error?: Error) => void) | undefined;
  private pendingAbort: Error | undefined;
  private finished = false;
  private paused = false;
  private resumeReading: (() => void) | undefined;

  constructor(private readonly handlers: ResponseHandlers) {}

  onConnect(abort: (error?: Error) => void): void {
    this.abortRequest = abort;
    if (this.pendingAbort) abort(this.pendingAbort);
    else this.handlers.onConnect?.();
  }

  onHeaders(status: number, rawHeaders: Buffer[], resume: () => void): boolean {
    // 1xx informational heads may come first; only a final head counts.
    if (status < 200) return true;
    this.resumeReading = resume;
    this.handlers.onHead(status, headersRecord(rawHeaders));
    return !this.paused;
  }

  onData(chunk: Buffer): boolean {
    this.handlers.onData(chunk);
    return !this.paused;
  }

  onComplete(): void {
    if (this.finished) return;
    this.finished = true;
    this.handlers.onEnd();
  }

  onError(error: Error): void {
    if (this.finished) return;
    this.finished = true;
    this.handlers.onError(error);
  }

  abort(reason: Error): void {
    if (this.finished) return;
    if (this.abortRequest) this.abortRequest(reason);
    else this.pendingAbort = reason;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.resumeReading?.();
  }
}

/** Starts one request; results arrive through `handlers`. */
export function sendRequest(
  dispatcher: Dispatcher,
  request: HttpRequest,
  handlers: ResponseHandlers,
): RequestHandle {
  const callbacks = new RequestCallbacks(handlers);
  dispatcher.dispatch(
    {
      origin: request.url.origin,
      path: request.url.pathname + request.url.search,
      method: request.method,
      headers: request.headers,
      body: request.body,
      headersTimeout: request.headersTimeoutMs,
      bodyTimeout: 0,
    },
    callbacks,
  );
  return callbacks;
}
