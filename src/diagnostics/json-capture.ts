/**
 * The fixture of a failed JSON call (`models()`, `tokenize()`, `detokenize()`): the
 * request as sent (headers redacted when written), the response head and the start
 * of its body when one came, and the error. Saved like a stream's, so that every
 * failed call leaves a fixture `tokenwire replay` can re-send.
 */
import type { TokenwireError } from '../errors.js';
import { CAPTURE_FORMAT, type FailedRequestFixture } from './capture.js';
import { defaultCaptureDir, type Retention, saveFixture } from './fixture-store.js';

/** One failed JSON call, as the client saw it. */
export interface JsonCallFailure {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  body: unknown;
  dialect: string;
  startedAt: { iso: string; ms: number };
  error: TokenwireError;
}

/** Saves the call's fixture (bounded in time, see saveFixture) and sets `error.fixturePath`; the log gets what went wrong. */
export async function captureJsonFailure(
  call: JsonCallFailure,
  dir: string | undefined,
  retention: Retention,
  secrets: readonly (string | undefined)[],
  version: string,
  log: (record: { level: 'warn' | 'debug'; event: string; [field: string]: unknown }) => void,
): Promise<void> {
  const { error } = call;
  const fixture: FailedRequestFixture = {
    format: CAPTURE_FORMAT,
    createdAt: new Date().toISOString(),
    tokenwireVersion: version,
    kind: 'json',
    dialect: call.dialect,
    error: { ...error.toJSON(), finalReason: 'a JSON call is not retried' },
    tokensReceived: 0,
    attempts: [
      {
        startedAt: call.startedAt.iso,
        request: { method: call.method, url: call.url, headers: { ...call.headers }, body: call.body },
        response:
          error.status === undefined
            ? undefined
            : { status: error.status, headers: { ...(error.headers ?? {}) } },
        raw:
          error.body === undefined
            ? undefined
            : {
                encoding: 'utf8',
                data: error.body,
                totalBytes: Buffer.byteLength(error.body),
                truncatedHead: false,
              },
        error: error.toJSON(),
        timings: { durationMs: performance.now() - call.startedAt.ms },
      },
    ],
  };
  const target = dir ?? defaultCaptureDir();
  const outcome = await saveFixture(target, fixture, secrets, retention, (late) =>
    log({ level: 'warn', event: 'capture_late', dir: target, ...late }),
  );
  if ('path' in outcome) {
    error.fixturePath = outcome.path;
    log({ level: 'debug', event: 'captured', path: outcome.path });
  } else {
    log({ level: 'warn', event: 'capture_failed', dir: target, error: outcome.error });
  }
}
