/**
 * A failed dialect detection (`GET /v1/models` of a `dialect: 'auto'` client) as the
 * error of a stream that waited for it: the message names the endpoint the caller
 * asked for, and the request the stream would have sent is captured, so that its
 * fixture can be replayed like any other.
 */
import type { CapturedAttempt } from '../diagnostics/capture.js';
import type { WireRequest } from '../dialects/dialect.js';
import type { TokenwireError } from '../errors.js';
import type { FleetEndpoint } from '../fleet/fleet.js';
import { newAttempt } from './attempt.js';
import type { StreamContext } from './context.js';

/**
 * This stream's copy of the detection's error (the original is shared by every stream
 * waiting for the detection, so it is not changed). `wire` is the request the stream
 * would have sent to `endpoint`; it is added to `captured` when that holds nothing yet.
 */
export function detectionFailure(
  error: TokenwireError,
  wire: WireRequest | undefined,
  endpoint: FleetEndpoint,
  ctx: StreamContext,
  captured: CapturedAttempt[],
): TokenwireError {
  if (wire === undefined) return error;
  const url = endpoint.url(wire.path);
  if (ctx.options.failedRequestsDir !== false && captured.length === 0) {
    const capture = newAttempt({
      number: 0,
      wire,
      url,
      body: '',
      headers: endpoint.streamHeaders,
      startedAt: performance.now(),
      capture: true,
    }).capture!;
    capture.error = error.toJSON();
    captured.push(capture);
  }
  return error.withMessage(
    `${error.message} (while detecting the server type for POST ${url.href}; set the dialect option to skip detection)`,
  );
}
