import { describe, expect, it } from 'vitest';
import { TokenwireError } from '../../src/errors.js';
import { DEFAULT_RETRY } from '../../src/options.js';
import { backoffMs, decideRetry, type RetryInput, retryAfterMs } from '../../src/retry/policy.js';

function input(
  overrides: Partial<RetryInput> & {
    code?: TokenwireError['code'];
    status?: number;
    retryable?: boolean;
    headers?: Record<string, string>;
  },
): RetryInput {
  const { code = 'connection_reset', status, retryable = true, headers, ...rest } = overrides;
  return {
    error: new TokenwireError('x', { code, phase: 'stream', status, retryable, headers }),
    attempts: 1,
    tokensReceived: 0,
    canResume: true,
    policy: { ...DEFAULT_RETRY },
    // As production: the monotonic clock for waits, the wall clock for HTTP dates.
    nowMs: performance.now(),
    deadlineMs: Number.POSITIVE_INFINITY,
    wallClockMs: Date.now(),
    random: () => 0.5,
    ...rest,
  };
}

describe('decideRetry', () => {
  it.each([
    ['connection_refused', undefined, true],
    ['connection_reset', undefined, true],
    ['connect_timeout', undefined, true],
    ['headers_timeout', undefined, true],
    ['first_token_timeout', undefined, true],
    ['stream_truncated', undefined, true],
    ['invalid_option', undefined, false],
    ['aborted', undefined, false],
    ['unsupported', undefined, false],
    ['protocol_error', undefined, false],
  ] as const)('before tokens: %s → retry %s', (code, status, expected) => {
    expect(decideRetry(input({ code, status })).retry).toBe(expected);
  });

  it.each([
    [408, true],
    [409, true],
    [429, true],
    [500, true],
    [502, true],
    [503, true],
    [400, false],
    [401, false],
    [403, false],
    [404, false],
    [422, false],
  ])('HTTP %i → retry %s', (status, expected) => {
    const retryable = status === 408 || status === 409 || status === 429 || status >= 500;
    expect(decideRetry(input({ code: 'http_error', status, retryable })).retry).toBe(expected);
  });

  it('stops at maxAttempts', () => {
    expect(decideRetry(input({ attempts: 3 })).retry).toBe(false);
    expect(decideRetry(input({ attempts: 2 })).retry).toBe(true);
  });

  it('honours Retry-After seconds, retry-after-ms and an HTTP date', () => {
    expect(
      decideRetry(input({ code: 'http_error', status: 429, headers: { 'retry-after': '2' } })).delayMs,
    ).toBe(2000);
    expect(
      decideRetry(input({ code: 'http_error', status: 429, headers: { 'retry-after-ms': '150' } })).delayMs,
    ).toBe(150);
    const date = new Date(Date.now() + 5000).toUTCString();
    const delay = decideRetry(input({ code: 'http_error', status: 503, headers: { 'retry-after': date } }));
    expect(delay.retry).toBe(true);
    expect(delay.delayMs).toBeGreaterThan(3000);
    expect(delay.delayMs).toBeLessThanOrEqual(5000);
    expect(retryAfterMs({ 'retry-after': date }, Date.now())).toBeLessThanOrEqual(5000);
  });

  it('fails now when waiting would pass the deadline', () => {
    const decision = decideRetry(
      input({ headers: { 'retry-after': '5' }, nowMs: 0, deadlineMs: 4000, totalMs: 4000 }),
    );
    expect(decision.retry).toBe(false);
    expect(decision.note).toBe(
      'the server asked to retry after 5 s, past the total deadline (timeouts.totalMs 4000)',
    );
    const backoff = decideRetry(
      input({ nowMs: 0, deadlineMs: 100, policy: { ...DEFAULT_RETRY, baseDelayMs: 400 } }),
    );
    expect(backoff.note).toContain('would pass the total deadline');
  });

  it('follows x-should-retry both ways', () => {
    expect(decideRetry(input({ headers: { 'x-should-retry': 'false' } })).retry).toBe(false);
    expect(
      decideRetry(
        input({ code: 'http_error', status: 400, retryable: false, headers: { 'x-should-retry': 'true' } }),
      ).retry,
    ).toBe(true);
  });

  it('after tokens: resumes resumable failures only, and only when allowed and possible', () => {
    expect(decideRetry(input({ tokensReceived: 5, code: 'idle_timeout' }))).toMatchObject({
      retry: true,
      resume: true,
    });
    expect(decideRetry(input({ tokensReceived: 5, code: 'stream_truncated' })).resume).toBe(true);
    expect(decideRetry(input({ tokensReceived: 5, canResume: false })).retry).toBe(false);
    expect(decideRetry(input({ tokensReceived: 5, policy: { ...DEFAULT_RETRY, resume: false } })).retry).toBe(
      false,
    );
    expect(decideRetry(input({ tokensReceived: 5, code: 'server_error', retryable: false })).retry).toBe(
      false,
    );
    expect(decideRetry(input({ tokensReceived: 5, code: 'server_error', retryable: true })).retry).toBe(true);
    expect(decideRetry(input({ tokensReceived: 5, code: 'total_timeout', retryable: false })).retry).toBe(
      false,
    );
  });

  it('refuses a server delay above maxDelayMs', () => {
    const decision = decideRetry(input({ headers: { 'retry-after': '120' } }));
    expect(decision.retry).toBe(false);
    expect(decision.note).toBe('the server asked to retry after 120 s, more than maxDelayMs 30000');
  });
});

describe('backoffMs', () => {
  it('doubles from the base up to the cap, jittered within [cap/2, cap]', () => {
    expect(backoffMs(1, 100, 10_000, () => 0)).toBe(50);
    expect(backoffMs(1, 100, 10_000, () => 1)).toBe(100);
    expect(backoffMs(3, 100, 10_000, () => 1)).toBe(400);
    expect(backoffMs(20, 100, 1_000, () => 1)).toBe(1000);
    expect(backoffMs(20, 100, 1_000, () => 0)).toBe(500);
  });
});

describe('decideRetry with another endpoint free (elsewhere)', () => {
  it.each([
    ['connection_refused', undefined, 0, true, 'retry on another endpoint after connection_refused'],
    ['http_error', 503, 0, true, 'retry on another endpoint after http_error'],
    ['connection_reset', undefined, 5, true, 'resume on another endpoint after connection_reset'],
    ['http_error', 400, 0, false, 'http_error 400 is not retryable'],
  ] as const)('%s %s after %i tokens → retry %s', (code, status, tokensReceived, retry, reason) => {
    const decision = decideRetry(
      input({ code, status, retryable: status !== 400, tokensReceived, elsewhere: true }),
    );
    expect(decision).toMatchObject({ retry, reason });
    if (retry) expect(decision.delayMs).toBe(0);
  });

  it('a Retry-After longer than maxDelayMs no longer stops the retry: it concerns the other endpoint', () => {
    const headers = { 'retry-after': '120' };
    expect(decideRetry(input({ code: 'http_error', status: 429, headers })).retry).toBe(false);
    expect(decideRetry(input({ code: 'http_error', status: 429, headers, elsewhere: true }))).toMatchObject({
      retry: true,
      delayMs: 0,
    });
  });

  it('still bounded by maxAttempts and x-should-retry: false', () => {
    expect(decideRetry(input({ attempts: 3, elsewhere: true })).retry).toBe(false);
    const headers = { 'x-should-retry': 'false' };
    expect(decideRetry(input({ headers, elsewhere: true })).retry).toBe(false);
  });
});

describe('decideRetry for a continuation that failed before its own first token', () => {
  it.each([
    ['connection_refused', undefined, 0, true],
    ['headers_timeout', undefined, 0, true],
    ['http_error', 503, 0, true],
    ['http_error', 400, 0, false],
    ['connection_refused', undefined, 2, false],
    ['connection_refused', undefined, undefined, false],
  ] as const)('%s %s, attempt tokens %s → retry %s', (code, status, attemptTokens, retry) => {
    const decision = decideRetry(
      input({ code, status, retryable: status !== 400, tokensReceived: 5, attemptTokens }),
    );
    expect(decision.retry).toBe(retry);
    if (retry) expect(decision.resume).toBe(true);
  });
});
