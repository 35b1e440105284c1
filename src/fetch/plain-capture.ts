/**
 * Failed-request capture for the fetch's plain calls (non-streaming completions,
 * models, anything not relayed as a stream), as a Client captures its calls: a call
 * that ends without a response, or with an HTTP error (400 and up) once retries are
 * spent, leaves a fixture of every attempt (request with redacted headers, response
 * head, the start of the body, the error). Kind `fetch`: `tokenwire replay` re-sends
 * the request as it was.
 */
import { CAPTURE_FORMAT, type CapturedAttempt } from '../diagnostics/capture.js';
import { defaultCaptureDir, saveFixture } from '../diagnostics/fixture-store.js';
import type { TokenwireError } from '../errors.js';
import { VERSION } from '../version.js';
import type { FetchCall } from './request.js';
import type { FetchShared } from './shared.js';

/** One attempt's record: the request as sent, and what came back. */
export function capturedAttempt(
  call: FetchCall,
  headers: Record<string, string>,
  startedAt: { iso: string; ms: number },
  failure: TokenwireError | undefined,
): CapturedAttempt {
  return {
    startedAt: startedAt.iso,
    request: { method: call.method, url: call.url.href, headers: { ...headers }, body: bodyOf(call.body) },
    response:
      failure?.status === undefined
        ? undefined
        : { status: failure.status, headers: { ...(failure.headers ?? {}) } },
    // The error's body is the scrubbed start of what the server sent (ERROR_BODY_PREVIEW_BYTES).
    raw:
      failure?.body === undefined
        ? undefined
        : {
            encoding: 'utf8',
            data: failure.body,
            totalBytes: Buffer.byteLength(failure.body),
            truncatedHead: false,
          },
    error: failure?.toJSON(),
    timings: { durationMs: performance.now() - startedAt.ms },
  };
}

/** A JSON body is kept as JSON (readable, and what replay re-sends); any other text as it is. */
function bodyOf(body: string | undefined): unknown {
  if (body === undefined) return undefined;
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}

/**
 * Saves the call's fixture unless capture is off or the caller aborted (bounded in time,
 * see saveFixture); sets `failure.fixturePath` when it was written.
 */
export async function captureFetchFailure(
  shared: FetchShared,
  failure: TokenwireError,
  attempts: CapturedAttempt[],
  secrets: readonly string[],
  log: FetchShared['log'],
): Promise<void> {
  const { failedRequestsDir: dir, failedRequestsRetention } = shared.options;
  if (dir === false || failure.code === 'aborted') return;
  const target = dir ?? defaultCaptureDir();
  const outcome = await saveFixture(
    target,
    {
      format: CAPTURE_FORMAT,
      createdAt: new Date().toISOString(),
      tokenwireVersion: VERSION,
      kind: 'fetch',
      dialect: 'unknown',
      error: { ...failure.toJSON(), finalReason: `no retry after ${attempts.length} attempt(s)` },
      tokensReceived: 0,
      attempts,
    },
    secrets,
    failedRequestsRetention,
    (late) => log({ level: 'warn', event: 'capture_late', dir: target, ...late }),
  );
  if ('path' in outcome) {
    failure.fixturePath = outcome.path;
    log({ level: 'debug', event: 'captured', path: outcome.path, url: failure.url, status: failure.status });
  } else {
    log({ level: 'warn', event: 'capture_failed', dir: target, error: outcome.error });
  }
}
