/**
 * One HTTP attempt of a stream: its state, and the errors built from it. The
 * stream engine (base-stream.ts) drives attempts; this file only describes them.
 */

import { ByteTail, type CapturedAttempt } from '../diagnostics/capture.js';
import type { Dialect, WireError, WireRequest, WireUsage } from '../dialects/dialect.js';
import { errorInBody } from '../dialects/openai-shapes.js';
import { describeRequest, ProtocolError, ServerError, TimeoutError, TokenwireError } from '../errors.js';
import type { Lease } from '../fleet/fleet.js';
import type { TimeoutOptions } from '../options.js';
import { SseLimitError, type SseParser } from '../sse/parser.js';
import type { RequestHandle } from '../transport/dispatch.js';
import { isRetryableStatus, requestIdOf } from '../transport/http-errors.js';
import type { StreamStats, TokenEvent } from '../types.js';
import type { ExpiredClock } from './clocks.js';

/** A server may echo the key back (in a message, a body, a header): it must not reach the caller. */
export { scrubError } from '../diagnostics/redact.js';

/** State of one HTTP attempt. */
export interface Attempt {
  number: number;
  wire: WireRequest;
  url: URL;
  body: string;
  startedAt: number;
  handle: RequestHandle | undefined;
  status: number | undefined;
  headers: Record<string, string> | undefined;
  mode: 'pending' | 'sse' | 'error-body' | 'other-body';
  bodyChunks: Buffer[];
  bodySize: number;
  parser: SseParser | undefined;
  complete: boolean;
  finishReason: string | undefined;
  usage: WireUsage | undefined;
  serverTokenCount: number | undefined;
  /** The server's id of this attempt's completion (its chunks' `id`), once read. */
  responseId: string | undefined;
  /** The model this attempt's server named (its chunks' `model`), once read. */
  model: string | undefined;
  tokens: number;
  ids: number;
  /** Tokens that came after the finish reason (an anomaly, reported once). */
  tokensAfterFinish: number;
  failure: TokenwireError | undefined;
  /** The last raw bytes, for the failed-request fixture (none when capture is off). */
  tail: ByteTail | undefined;
  /** When the request got a connected socket. */
  connectedAt: number | undefined;
  headersAt: number | undefined;
  firstTokenAt: number | undefined;
  lastDataAt: number;
  /** Reading is paused (backpressure from a slow consumer). */
  paused: boolean;
  lastChunkAt: number;
  parseErrorsInRow: number;
  /** Drops a response the server keeps open after `[DONE]`. */
  drainTimer: NodeJS.Timeout | undefined;
  settle: () => void;
  settled: boolean;
  /** What goes into the failed-request fixture (undefined when capture is off). */
  capture: CapturedAttempt | undefined;
  /** Its hold on its endpoint (StreamRoute), released once when it ends. */
  lease: Lease | undefined;
  /** The dialect its request was built for (its endpoint's). */
  dialect: Dialect | undefined;
}

export function newStats(): StreamStats {
  return {
    attempts: 0,
    resumes: 0,
    chunks: 0,
    bytes: 0,
    events: 0,
    tokens: 0,
    parseErrors: 0,
    keepalives: 0,
    maxGapMs: 0,
    durationMs: 0,
    timeToHeadersMs: undefined,
    timeToFirstTokenMs: undefined,
    idsIncomplete: false,
    contextTruncated: false,
    endpoints: [],
  };
}

export function errorInit(
  attempt: Attempt,
  partial: TokenEvent[],
  code: TokenwireError['code'],
  phase: TokenwireError['phase'],
  retryable: boolean,
): ConstructorParameters<typeof TokenwireError>[1] {
  const headers = attempt.headers;
  return {
    code,
    phase,
    retryable,
    url: attempt.url.href,
    method: 'POST',
    status: attempt.status,
    headers,
    requestId: headers ? requestIdOf(headers) : undefined,
    partial,
  };
}

export function streamError(attempt: Attempt, error: unknown, partial: TokenEvent[]): TokenwireError {
  if (error instanceof TokenwireError) return error;
  if (error instanceof SseLimitError) {
    return new ProtocolError(`protocol_error: ${error.message}${describeRequest('POST', attempt.url.href)}`, {
      ...errorInit(attempt, partial, 'protocol_error', 'stream', false),
      cause: error,
    });
  }
  return new ProtocolError(
    `protocol_error: could not process the stream${describeRequest('POST', attempt.url.href)}: ${String(error)}`,
    { ...errorInit(attempt, partial, 'protocol_error', 'stream', false), cause: error },
  );
}

/** An error the server reported inside the stream (`data: {"error": …}`, llama.cpp's `error:` field). */
export function inStreamError(attempt: Attempt, error: WireError, partial: TokenEvent[]): ServerError {
  const code = error.code;
  // After the finish reason generation is over: trying again would generate past its end.
  const retryable =
    attempt.finishReason === undefined &&
    ((typeof code === 'number' && isRetryableStatus(code)) ||
      /overload|rate.?limit|unavailable|capacity|timeout/i.test(
        `${error.type ?? ''} ${code ?? ''} ${error.message}`,
      ));
  return new ServerError(
    `server_error: the server reported an error in the stream after ${attempt.tokens} tokens${describeRequest('POST', attempt.url.href)}: ${error.message}${code !== undefined ? ` (code ${code})` : ''}`,
    { ...errorInit(attempt, partial, 'server_error', 'stream', retryable), serverCode: code },
  );
}

/** The server said the stream is complete, but it carried no output and no finish reason at all. */
export function noOutputError(attempt: Attempt, partial: TokenEvent[]): ProtocolError {
  return new ProtocolError(
    `protocol_error: the stream ended without any output for choice 0 (no token, no finish reason)${describeRequest('POST', attempt.url.href)}`,
    errorInit(attempt, partial, 'protocol_error', 'stream', false),
  );
}

/** The server echoed prompt ids that are not the ones it was sent. */
export function promptMismatchError(
  attempt: Attempt,
  sent: readonly number[],
  echoed: readonly number[],
  partial: TokenEvent[],
): ProtocolError {
  let at = 0;
  while (at < sent.length && at < echoed.length && sent[at] === echoed[at]) at++;
  const what =
    attempt.number > 1
      ? 'did not continue the prompt it was sent (it truncated the prompt or restarted the generation)'
      : 'did not generate from the prompt it was sent (it truncated or changed the prompt)';
  return new ProtocolError(
    `protocol_error: the server ${what}: it echoed ${echoed.length} prompt ids, ${sent.length} were sent, first difference at position ${at}${describeRequest('POST', attempt.url.href)}`,
    errorInit(attempt, partial, 'protocol_error', 'stream', false),
  );
}

/** Too many events in a row were not JSON: the stream is garbage. */
export function parseErrorsError(
  attempt: Attempt,
  preview: string,
  cause: unknown,
  partial: TokenEvent[],
): ProtocolError {
  return new ProtocolError(
    `protocol_error: ${attempt.parseErrorsInRow} stream events in a row were not valid JSON${describeRequest('POST', attempt.url.href)}; last: ${preview}`,
    { ...errorInit(attempt, partial, 'protocol_error', 'stream', false), cause },
  );
}

/** The error of a phase clock that ran out (`partial`: every token of the stream so far). */
export function timeoutError(
  attempt: Attempt,
  expired: ExpiredClock,
  timeouts: Required<TimeoutOptions>,
  partial: TokenEvent[],
): TimeoutError {
  const tokens = partial.length;
  const afterHead = attempt.headersAt === undefined ? 'headers' : 'stream';
  let message: string;
  let phase: TokenwireError['phase'];
  switch (expired) {
    case 'total_timeout':
      message = `the call took more than ${timeouts.totalMs} ms (${tokens} tokens received)`;
      phase = afterHead;
      break;
    case 'connect_timeout':
      message = `no connection within ${timeouts.connectMs} ms`;
      phase = 'connect';
      break;
    case 'headers_timeout':
      message = `no response head within ${timeouts.headersMs} ms`;
      phase = 'headers';
      break;
    case 'first_token_timeout':
      message = `no token within ${timeouts.firstTokenMs} ms`;
      phase = afterHead;
      break;
    case 'idle_timeout':
      message = `no data for ${timeouts.idleMs} ms after ${tokens} tokens`;
      phase = 'stream';
      break;
  }
  return new TimeoutError(
    `${expired}: ${message}${describeRequest('POST', attempt.url.href)}`,
    errorInit(attempt, partial, expired, phase, expired !== 'total_timeout'),
  );
}

export function nonStreamBodyError(attempt: Attempt, body: string, partial: TokenEvent[]): TokenwireError {
  const contentType = attempt.headers?.['content-type'] ?? '(none)';
  const where = describeRequest('POST', attempt.url.href);
  try {
    const json = JSON.parse(body);
    // Any error shape (nested, flat `"object": "error"`, a string): the one detection streams use.
    const error = json !== null && typeof json === 'object' ? errorInBody(json) : undefined;
    if (error) {
      return new ServerError(
        `server_error: HTTP ${attempt.status} with an error body${where}: ${error.message}`,
        {
          ...errorInit(attempt, partial, 'server_error', 'headers', false),
          body: body.slice(0, 4096),
          serverCode: error.code,
        },
      );
    }
  } catch {
    // Not JSON: reported below as a protocol error with a preview.
  }
  return new ProtocolError(
    `protocol_error: expected an event stream but got ${contentType} (HTTP ${attempt.status})${where}: ${body.slice(0, 120).replace(/\s+/g, ' ')}`,
    { ...errorInit(attempt, partial, 'protocol_error', 'headers', false), body: body.slice(0, 4096) },
  );
}

/** The rate-limit headers of a response, for debug records. */
export function rateLimitHeaders(headers: Record<string, string>): Record<string, string> | undefined {
  let out: Record<string, string> | undefined;
  for (const name in headers) {
    if (name.startsWith('x-ratelimit-') || name === 'retry-after' || name === 'retry-after-ms') {
      if (!out) out = {};
      out[name] = headers[name];
    }
  }
  return out;
}

/** A fresh attempt, before its request is sent. */
/** The settle() of an attempt nobody waits for yet (one function for all). */
const noop = (): void => {};

export function newAttempt(init: {
  number: number;
  wire: WireRequest;
  url: URL;
  body: string;
  headers: Readonly<Record<string, string>>;
  startedAt: number;
  /** Record the attempt and its last raw bytes for a failure fixture (off: nothing copied). */
  capture: boolean;
}): Attempt {
  const { number, wire, url, body, headers, startedAt } = init;
  return {
    number,
    wire,
    url,
    body,
    startedAt,
    handle: undefined,
    status: undefined,
    headers: undefined,
    mode: 'pending',
    bodyChunks: [],
    bodySize: 0,
    parser: undefined,
    complete: false,
    finishReason: undefined,
    usage: undefined,
    serverTokenCount: undefined,
    responseId: undefined,
    model: undefined,
    tokens: 0,
    ids: 0,
    tokensAfterFinish: 0,
    failure: undefined,
    tail: init.capture ? new ByteTail() : undefined,
    connectedAt: undefined,
    headersAt: undefined,
    firstTokenAt: undefined,
    lastDataAt: startedAt,
    paused: false,
    lastChunkAt: startedAt,
    parseErrorsInRow: 0,
    drainTimer: undefined,
    settle: noop,
    settled: false,
    capture: init.capture
      ? {
          startedAt: new Date().toISOString(),
          request: { method: 'POST', url: url.href, headers: { ...headers }, body: wire.body },
          timings: { durationMs: 0 },
        }
      : undefined,
    lease: undefined,
    dialect: undefined,
  };
}
