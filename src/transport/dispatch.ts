/**
 * The HTTP layer: one request over undici's `dispatch` with callback handlers
 * (no stream objects on the hot path), plus a small JSON request helper. Knows
 * nothing of SSE, dialects or tokens.
 */
import { Agent, type Dispatcher } from 'undici';

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
  headers: Record<string, string>;
  body?: string;
  /** Response-head deadline, ms (0 = none). */
  headersTimeoutMs: number;
}

/** A connection pool for one client. `connectMs` 0 means no connect deadline. */
export function createAgent(connectMs: number, maxConnections: number): Agent {
  return new Agent({
    connections: maxConnections,
    // undici treats 0 as "fail at once" for connect: use the largest timer delay instead.
    connect: { timeout: connectMs > 0 ? connectMs : 2_147_483_647 },
    // tokenwire runs its own body clocks (first token, idle, total).
    bodyTimeout: 0,
    // Never pipeline: a stalled stream must not hold other requests hostage.
    pipelining: 1,
  });
}

function flattenHeaders(raw: Record<string, string | string[] | undefined>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name in raw) {
    const value = raw[name];
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

/** Starts one request; results arrive through `handlers`. */
export function sendRequest(
  dispatcher: Dispatcher,
  request: HttpRequest,
  handlers: ResponseHandlers,
): RequestHandle {
  let controller: Dispatcher.DispatchController | undefined;
  let pendingAbort: Error | undefined;
  let finished = false;
  const handler: Dispatcher.DispatchHandler = {
    onRequestStart(ctrl) {
      controller = ctrl;
      if (pendingAbort) ctrl.abort(pendingAbort);
      else handlers.onConnect?.();
    },
    onResponseStart(_ctrl, status, headers) {
      // 1xx informational heads may come first; only a final head counts.
      if (status < 200) return;
      handlers.onHead(status, flattenHeaders(headers as Record<string, string | string[] | undefined>));
    },
    onResponseData(_ctrl, chunk) {
      handlers.onData(chunk);
    },
    onResponseEnd() {
      if (finished) return;
      finished = true;
      handlers.onEnd();
    },
    onResponseError(_ctrl, error) {
      if (finished) return;
      finished = true;
      handlers.onError(error);
    },
  };
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
    handler,
  );
  return {
    abort(reason) {
      if (finished) return;
      if (controller) controller.abort(reason);
      else pendingAbort = reason;
    },
    pause() {
      controller?.pause();
    },
    resume() {
      controller?.resume();
    },
  };
}
