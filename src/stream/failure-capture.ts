/**
 * A failed stream's fixture: everything needed to replay the call (every attempt's
 * request, the bytes received, the error and why no retry followed), saved under
 * the failed-requests directory. Saving is bounded in time (CAPTURE_WRITE_TIMEOUT_MS):
 * a directory that cannot be written is a `capture_failed` warning, never a delay or
 * a different error.
 */
import { CAPTURE_FORMAT, type CapturedAttempt } from '../diagnostics/capture.js';
import { defaultCaptureDir, saveFixture } from '../diagnostics/fixture-store.js';
import type { TokenwireError } from '../errors.js';
import type { StreamContext } from './context.js';

/** What the fixture says about the call besides its error. */
export interface FailedCall {
  kind: 'completion' | 'chat';
  /** The dialect in use ('unknown' when none was known yet). */
  dialect: string;
  tokensReceived: number;
  attempts: CapturedAttempt[];
}

/**
 * Saves `failure`'s fixture (unless capture is off or the caller aborted) and sets its
 * `fixturePath`; `reason` says why the call was not tried again.
 */
export async function captureFailure(
  ctx: StreamContext,
  failure: TokenwireError,
  reason: string,
  call: FailedCall,
): Promise<void> {
  const { failedRequestsDir: dir, failedRequestsRetention } = ctx.options;
  if (dir === false || failure.code === 'aborted') return;
  const target = dir ?? defaultCaptureDir();
  const outcome = await saveFixture(
    target,
    {
      format: CAPTURE_FORMAT,
      createdAt: new Date().toISOString(),
      tokenwireVersion: ctx.version,
      kind: call.kind,
      dialect: call.dialect,
      error: { ...failure.toJSON(), finalReason: reason },
      tokensReceived: call.tokensReceived,
      attempts: call.attempts,
    },
    ctx.secrets,
    failedRequestsRetention,
    (late) => ctx.log({ level: 'warn', event: 'capture_late', dir: target, ...late }),
  );
  if ('path' in outcome) {
    failure.fixturePath = outcome.path;
    ctx.log({ level: 'debug', event: 'captured', path: outcome.path });
  } else {
    ctx.log({ level: 'warn', event: 'capture_failed', dir: target, error: outcome.error });
  }
}
