/**
 * A stream waiting for its endpoint's dialect detection (`dialect: 'auto'`). The
 * detection is shared by every stream of the client and runs under the client's
 * lifetime; each stream waits for it under its own clock and abort, so that one
 * stream giving up never stops it for the others.
 */
import type { Dialect } from '../dialects/dialect.js';
import { describeRequest, TimeoutError, type TokenwireError } from '../errors.js';
import type { FleetEndpoint } from '../fleet/fleet.js';
import type { StreamContext } from './context.js';

/**
 * Waits for `endpoint`'s dialect until `deadline` (`performance.now()` time; Infinity for
 * none). `onStop` receives the function that ends the wait early with an error (abort,
 * close), cleared again when the wait is over.
 */
export function waitForDialect(
  endpoint: FleetEndpoint,
  ctx: StreamContext,
  deadline: number,
  onStop: (stop: ((error: TokenwireError) => void) | undefined) => void,
): Promise<Dialect> {
  return new Promise<Dialect>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const settle = (): void => {
      clearTimeout(timer);
      onStop(undefined);
    };
    onStop((error) => {
      settle();
      reject(error);
    });
    if (deadline !== Number.POSITIVE_INFINITY) {
      timer = setTimeout(
        () => {
          settle();
          reject(detectionTimeout(endpoint, ctx));
        },
        Math.max(0, deadline - performance.now()),
      );
    }
    endpoint.dialect(ctx.detect).then(
      (dialect) => {
        settle();
        resolve(dialect);
      },
      (error: unknown) => {
        settle();
        reject(error);
      },
    );
  });
}

/** The total clock ran out while the stream waited for the dialect detection. */
export function detectionTimeout(endpoint: FleetEndpoint, ctx: StreamContext): TimeoutError {
  const { totalMs } = ctx.options.timeouts;
  const url = endpoint.url('/v1/models').href;
  return new TimeoutError(
    `total_timeout: the call took more than ${totalMs} ms, waiting for the server type to be detected${describeRequest('GET', url)}`,
    { code: 'total_timeout', phase: 'setup', retryable: false, url, method: 'GET' },
  );
}
