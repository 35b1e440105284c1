/**
 * The retry policy: a pure decision over an error, the attempt count, the
 * tokens already received and the deadline. No timers, no network: the stream
 * layer asks, this answers.
 */
import type { TokenwireError } from '../errors.js';
import type { RetryOptions } from '../options.js';

/** What to do after a failed attempt. */
export interface RetryDecision {
  retry: boolean;
  /** Wait before the next attempt (0 when not retrying). */
  delayMs: number;
  /** Whether the next attempt continues from the tokens received (resume by continuation). */
  resume: boolean;
  /** Why, in a few words (for logs and fixtures). */
  reason: string;
  /**
   * Why a retry the caller would expect was not made, for the error message: the server
   * asked for a wait that is not made (past maxDelayMs or the deadline), or the backoff
   * would pass the deadline.
   */
  note?: string;
}

export interface RetryInput {
  error: TokenwireError;
  /** Attempts made so far, the failed one included (1 after the first failure). */
  attempts: number;
  /** Tokens received so far over all attempts. */
  tokensReceived: number;
  /**
   * Tokens the failed attempt itself delivered. A continuation attempt that failed before
   * its own first token (the next server refused, timed out, answered 503) broke nothing:
   * it is retried as a request would be, and the continuation stays exact.
   */
  attemptTokens?: number;
  /** Whether a continuation request is possible (id prompt or server-given prompt ids, exact ids). */
  canResume: boolean;
  policy: Required<RetryOptions>;
  /** Current time and the absolute deadline (ms, same monotonic clock); `Infinity` for none. */
  nowMs: number;
  deadlineMs: number;
  /** The wall clock (`Date.now()`), against which a `Retry-After` HTTP date is read. */
  wallClockMs: number;
  /** `timeouts.totalMs`, for messages (0: none). */
  totalMs?: number;
  /** Source of jitter in [0, 1). */
  random: () => number;
  /**
   * Another endpoint of the fleet can take the next attempt at once: no backoff, and a
   * server's Retry-After concerns only the endpoint that sent it (the router cools it).
   */
  elsewhere?: boolean;
}

/** Codes that may succeed on another attempt, before any token arrived. */
const RETRYABLE_BEFORE_TOKENS = new Set([
  'connection_refused',
  'connection_reset',
  'connection_error',
  'connect_timeout',
  'headers_timeout',
  'first_token_timeout',
  'stream_truncated',
]);

/** Codes after which a continuation can pick up where the stream broke. */
const RESUMABLE = new Set(['connection_reset', 'connection_error', 'idle_timeout', 'stream_truncated']);

/** Whether a stream broken by `error` after tokens arrived can be continued (resume by continuation). */
export function isResumable(error: TokenwireError): boolean {
  return RESUMABLE.has(error.code) || (error.code === 'server_error' && error.retryable);
}

/**
 * Parses `retry-after-ms`, then `retry-after` (seconds or an HTTP date), into a delay.
 * An HTTP date is a wall-clock time: `wallClockMs` is `Date.now()` (never a monotonic
 * clock's reading). Returns undefined when the server gave none or it does not parse.
 */
export function retryAfterMs(
  headers: Record<string, string> | undefined,
  wallClockMs: number,
): number | undefined {
  if (!headers) return undefined;
  const ms = headers['retry-after-ms'];
  if (ms !== undefined) {
    const value = Number(ms);
    if (Number.isFinite(value) && value >= 0) return value;
  }
  const after = headers['retry-after'];
  if (after === undefined) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(after)) return Number(after) * 1000;
  const date = Date.parse(after);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - wallClockMs);
}

/** A wait as people read it: "120 s", "1.5 s", "250 ms". */
function seconds(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${Number((ms / 1000).toFixed(1))} s`;
}

/** Exponential backoff with full jitter: uniform in [cap/2, cap], cap = min(max, base·2^(n−1)). */
export function backoffMs(
  attempts: number,
  baseDelayMs: number,
  maxDelayMs: number,
  random: () => number,
): number {
  const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.max(0, attempts - 1));
  // Half fixed, half random: never retries in a burst, still spreads a thundering herd.
  return Math.round(cap / 2 + (random() * cap) / 2);
}

function isRetryableError(error: TokenwireError): boolean {
  if (error.code === 'http_error') return error.retryable;
  if (error.code === 'server_error') return error.retryable;
  // Most connection errors may pass; some are known to fail the same way every time (an
  // untrusted certificate, TLS to a plain-HTTP port, a proxy refusing the tunnel with 403).
  if (error.code === 'connection_error') return error.retryable;
  return RETRYABLE_BEFORE_TOKENS.has(error.code);
}

/** Decides whether and when to try again. */
export function decideRetry(input: RetryInput): RetryDecision {
  const { error, attempts, policy } = input;
  const no = (reason: string): RetryDecision => ({ retry: false, delayMs: 0, resume: false, reason });
  if (attempts >= policy.maxAttempts) return no(`${attempts} of ${policy.maxAttempts} attempts used`);
  const shouldRetry = error.headers?.['x-should-retry'];
  if (shouldRetry === 'false') return no('server sent x-should-retry: false');

  const resume = input.tokensReceived > 0;
  if (resume) {
    if (!policy.resume) return no('tokens received and resume is off');
    if (!input.canResume) return no('tokens received and this stream cannot be continued exactly');
    const beforeOwnFirstToken =
      input.attemptTokens === 0 && (shouldRetry === 'true' || isRetryableError(error));
    if (!isResumable(error) && !beforeOwnFirstToken) return no(`${error.code} is not resumable`);
  } else if (shouldRetry !== 'true' && !isRetryableError(error)) {
    return no(`${error.code}${error.status ? ` ${error.status}` : ''} is not retryable`);
  }

  if (input.elsewhere === true) {
    return {
      retry: true,
      delayMs: 0,
      resume,
      reason: `${resume ? 'resume' : 'retry'} on another endpoint after ${error.code}`,
    };
  }
  let delayMs = backoffMs(attempts, policy.baseDelayMs, policy.maxDelayMs, input.random);
  const serverDelay = retryAfterMs(error.headers, input.wallClockMs);
  const deadline = input.totalMs
    ? `the total deadline (timeouts.totalMs ${input.totalMs})`
    : 'the total deadline';
  if (serverDelay !== undefined) {
    const asked = `the server asked to retry after ${seconds(serverDelay)}`;
    if (serverDelay > policy.maxDelayMs) {
      const note = `${asked}, more than maxDelayMs ${policy.maxDelayMs}`;
      return { ...no(note), note };
    }
    if (input.nowMs + serverDelay >= input.deadlineMs) {
      const note = `${asked}, past ${deadline}`;
      return { ...no(note), note };
    }
    delayMs = serverDelay;
  }
  if (input.nowMs + delayMs >= input.deadlineMs) {
    const note = `waiting ${seconds(delayMs)} before the next attempt would pass ${deadline}`;
    return { ...no(note), note };
  }
  return {
    retry: true,
    delayMs,
    resume,
    reason: resume ? `resume after ${error.code}` : `retry after ${error.code}`,
  };
}
