/**
 * The one error taxonomy of tokenwire. Every failure the library reports is a
 * {@link TokenwireError} with a stable string `code`; subclasses exist so that
 * `instanceof` works for the broad classes, but `code` is the contract.
 *
 * This file imports nothing: every layer may use it.
 */

/** Where in the life of a request a failure happened. */
export type ErrorPhase = 'setup' | 'connect' | 'headers' | 'stream';

/** Every stable error code tokenwire reports. */
export type ErrorCode =
  | 'invalid_option'
  | 'connection_refused'
  | 'dns_error'
  | 'connection_reset'
  | 'connection_error'
  | 'connect_timeout'
  | 'headers_timeout'
  | 'first_token_timeout'
  | 'idle_timeout'
  | 'total_timeout'
  | 'http_error'
  | 'stream_truncated'
  | 'protocol_error'
  | 'server_error'
  | 'aborted'
  | 'unsupported';

/** A token received before a failure (the shape of `TokenEvent` without `type`). */
export interface PartialToken {
  /** Token id, or `undefined` when the server does not send ids (OpenAI, OpenRouter). */
  id: number | undefined;
  /** The text this token contributed (may be empty). */
  text: string;
}

/** Fields every error can carry; all optional except `code` and `phase`. */
export interface TokenwireErrorInit {
  code: ErrorCode;
  phase: ErrorPhase;
  retryable?: boolean;
  url?: string;
  method?: string;
  status?: number;
  requestId?: string;
  headers?: Record<string, string>;
  body?: string;
  partial?: PartialToken[];
  cause?: unknown;
  /** The server's own error code from an error body (`"code": 500`, `"rate_limit_exceeded"`). */
  serverCode?: string | number;
}

/**
 * Base class of every error tokenwire throws.
 *
 * @example
 * try { await client.streamCompletion({ prompt: [1, 2, 3] }).final(); }
 * catch (err) {
 *   if (err instanceof TokenwireError && err.code === 'idle_timeout') {
 *     console.log(`stalled after ${err.partial.length} tokens`);
 *   }
 * }
 */
export class TokenwireError extends Error {
  /** Stable machine-readable code; see {@link ErrorCode}. */
  readonly code: ErrorCode;
  /** Which phase of the request failed. */
  readonly phase: ErrorPhase;
  /** Whether trying again could succeed (used by the retry policy). */
  readonly retryable: boolean;
  /** Full request URL, when a request was made. */
  readonly url: string | undefined;
  /** HTTP method of the request. */
  readonly method: string | undefined;
  /** HTTP status, when a response head arrived. */
  readonly status: number | undefined;
  /** The server's `x-request-id` (or similar) header, when sent. */
  readonly requestId: string | undefined;
  /** Response headers (lower-cased names), when a response head arrived. */
  readonly headers: Record<string, string> | undefined;
  /** A bounded preview of the response body, for HTTP errors. */
  readonly body: string | undefined;
  /** The server's own error code, from its error body. */
  readonly serverCode: string | number | undefined;
  /** Every token received before the failure, in order. Never undefined. */
  partial: PartialToken[];
  /** Where the failed-request fixture of this failure was written, when it was. */
  fixturePath: string | undefined;

  constructor(message: string, init: TokenwireErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.code = init.code;
    this.phase = init.phase;
    this.retryable = init.retryable ?? false;
    this.url = init.url;
    this.method = init.method;
    this.status = init.status;
    this.requestId = init.requestId;
    this.headers = init.headers;
    this.body = init.body;
    this.serverCode = init.serverCode;
    this.partial = init.partial ?? [];
    this.fixturePath = undefined;
  }

  /**
   * A copy of this error (same class and fields, `partial` included) with another
   * message: for adding context to an error other callers share.
   */
  withMessage(message: string): TokenwireError {
    // Every subclass takes (message, init) but InvalidOptionError, whose fields are fixed.
    const Class = (this.code === 'invalid_option' ? TokenwireError : this.constructor) as new (
      message: string,
      init: TokenwireErrorInit,
    ) => TokenwireError;
    const copy = new Class(message, {
      code: this.code,
      phase: this.phase,
      retryable: this.retryable,
      url: this.url,
      method: this.method,
      status: this.status,
      requestId: this.requestId,
      headers: this.headers,
      body: this.body,
      partial: [...this.partial],
      cause: this.cause,
      serverCode: this.serverCode,
    });
    copy.fixturePath = this.fixturePath;
    return copy;
  }

  /** A plain-object form for logs and fixtures (no stack, no cause chain objects). */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      phase: this.phase,
      message: this.message,
      retryable: this.retryable,
      url: this.url,
      method: this.method,
      status: this.status,
      requestId: this.requestId,
      serverCode: this.serverCode,
      body: this.body,
      partialTokens: this.partial.length,
    };
  }
}

/** A bad option or argument, detected before any request is made. */
export class InvalidOptionError extends TokenwireError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'invalid_option', phase: 'setup', cause });
  }
}

/** The connection could not be made or was lost (refused, DNS, reset). */
export class ConnectionError extends TokenwireError {}

/** One of the per-phase deadlines passed. */
export class TimeoutError extends TokenwireError {}

/** The server answered with a non-2xx HTTP status. */
export class HttpError extends TokenwireError {}

/** The stream ended (EOF) before the server said it was complete. */
export class StreamTruncatedError extends TokenwireError {}

/** The server sent bytes that are not a valid stream of the expected shape. */
export class ProtocolError extends TokenwireError {}

/** The server reported an error inside a 200 stream. */
export class ServerError extends TokenwireError {}

/** The caller aborted the request (signal, `abort()`, break, dispose). */
export class AbortError extends TokenwireError {}

/** The server or dialect has no such capability (e.g. no `/tokenize`). */
export class UnsupportedError extends TokenwireError {}

/** Builds the conventional message suffix ` (POST http://…/v1/completions)`. */
export function describeRequest(method: string | undefined, url: string | undefined): string {
  if (!url) return '';
  return ` (${method ?? 'GET'} ${url})`;
}
