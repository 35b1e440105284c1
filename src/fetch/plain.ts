/**
 * Calls that are not relayed streams (non-streaming completions, models, anything
 * else with a text body): the same connect, headers, idle and total clocks, and
 * retries with the engine's policy before any of the answer was handed over. The
 * answer is read whole (bounded) and returned as a Response; the last HTTP error,
 * once retries are spent, is returned as the server sent it so the SDK's own error
 * classes apply.
 */
import { request as undiciRequest } from 'undici';
import type { CapturedAttempt } from '../diagnostics/capture.js';
import { scrub } from '../diagnostics/redact.js';
import { AbortError, describeRequest, TimeoutError, type TokenwireError } from '../errors.js';
import { decideRetry } from '../retry/policy.js';
import { httpError, isRetryableStatus, networkError } from '../transport/http-errors.js';
import { capturedAttempt, captureFetchFailure } from './plain-capture.js';
import type { FetchCall } from './request.js';
import { responseHeaders } from './response.js';
import type { FetchShared } from './shared.js';

/** Largest answer read into memory (a long text's JSON fits easily). */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

const now = (): number => performance.now();

/** Runs a non-relayed call with clocks and retries. */
export async function plainFetch(
  shared: FetchShared,
  call: FetchCall,
  secrets: readonly string[],
): Promise<Response> {
  const { timeouts, retry } = shared.options;
  const url = call.url.href;
  const startedAt = now();
  const deadlineMs = timeouts.totalMs > 0 ? startedAt + timeouts.totalMs : Number.POSITIVE_INFINITY;
  const total = timeouts.totalMs > 0 ? AbortSignal.timeout(timeouts.totalMs) : undefined;
  const signals = [call.signal, total].filter((s): s is AbortSignal => s !== undefined);
  const signal = signals.length > 0 ? AbortSignal.any(signals) : undefined;
  const headers = { ...shared.options.headers, ...call.headers };
  // Every attempt, for the failed-request fixture (see plain-capture.ts).
  const attempts: CapturedAttempt[] = [];
  for (let attempt = 1; ; attempt++) {
    let failure: TokenwireError;
    let answer:
      | { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }
      | undefined;
    const startedAt = { iso: new Date().toISOString(), ms: now() };
    try {
      answer = await send(shared, call, url, headers, signal);
      if (answer.status < 400) return toResponse(answer);
      // Scrubbed before the error cuts its message from the body (the body returned is untouched).
      failure = httpError(
        answer.status,
        flat(answer.headers),
        scrub(answer.body.toString('utf8'), secrets),
        call.method,
        url,
      );
      if (!isRetryableStatus(answer.status)) {
        attempts.push(capturedAttempt(call, headers, startedAt, failure));
        await captureFetchFailure(shared, failure, attempts, secrets, shared.log);
        return toResponse(answer);
      }
    } catch (error) {
      if (call.signal?.aborted) {
        throw new AbortError(`aborted by the caller${describeRequest(call.method, url)}`, {
          code: 'aborted',
          phase: 'headers',
          cause: call.signal.reason,
          url,
          method: call.method,
        });
      }
      if (total?.aborted) {
        const timeout = new TimeoutError(
          `total_timeout: the call took more than ${timeouts.totalMs} ms${describeRequest(call.method, url)}`,
          {
            code: 'total_timeout',
            phase: 'headers',
            url,
            method: call.method,
            cause: error,
          },
        );
        attempts.push(capturedAttempt(call, headers, startedAt, timeout));
        await captureFetchFailure(shared, timeout, attempts, secrets, shared.log);
        throw timeout;
      }
      failure = networkError(error, 'connect', call.method, url, timeouts);
    }
    attempts.push(capturedAttempt(call, headers, startedAt, failure));
    const decision = decideRetry({
      error: failure,
      attempts: attempt,
      tokensReceived: 0,
      canResume: false,
      policy: retry,
      nowMs: now(),
      wallClockMs: Date.now(),
      deadlineMs,
      random: Math.random,
    });
    if (!decision.retry) {
      failure.message = scrub(failure.message, secrets);
      await captureFetchFailure(shared, failure, attempts, secrets, shared.log);
      // The server's own answer goes back as it came; a failure without one is thrown.
      if (answer !== undefined) return toResponse(answer);
      throw failure;
    }
    shared.log({
      level: 'warn',
      event: 'retry',
      reason: decision.reason,
      error: scrub(failure.message, secrets),
      attempt,
      delayMs: decision.delayMs,
    });
    await sleep(decision.delayMs, signal);
  }
}

async function send(
  shared: FetchShared,
  call: FetchCall,
  url: string,
  headers: Record<string, string>,
  signal: AbortSignal | undefined,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const { timeouts } = shared.options;
  const response = await undiciRequest(url, {
    method: call.method as 'GET',
    headers,
    body: call.body,
    dispatcher: shared.agent,
    headersTimeout: timeouts.headersMs,
    bodyTimeout: timeouts.idleMs,
    signal,
  });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += chunk.length;
    if (size > MAX_ANSWER_BYTES) {
      response.body.destroy();
      throw new Error(`answer larger than ${MAX_ANSWER_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  return { status: response.statusCode, headers: response.headers, body: Buffer.concat(chunks) };
}

function toResponse(answer: {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}): Response {
  // 204/304 answers may not carry a body in a Response.
  const body = answer.status === 204 || answer.status === 304 ? null : answer.body;
  return new Response(body, { status: answer.status, headers: responseHeaders(flat(answer.headers)) });
}

function flat(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
