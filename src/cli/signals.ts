/**
 * How a command stops on a signal: Ctrl-C (SIGINT) and SIGTERM (a service
 * manager, `kill`, a container stopping) end its work cleanly (requests aborted,
 * servers closed, the summary printed) and the command exits 130 or 143; a second
 * signal means "out now" and exits at once.
 */
import { EXIT } from './exit-codes.js';

/** A signal that stops a command. */
export type StopSignal = 'SIGINT' | 'SIGTERM';

/** The exit code of a command stopped by `signal` (a shell's 128 + the signal's number). */
export function exitForSignal(signal: StopSignal): number {
  return signal === 'SIGINT' ? EXIT.interrupted : EXIT.terminated;
}

/** What {@link watchStopSignals} returns. */
export interface StopSignals {
  /** The first signal received, if any. */
  received(): StopSignal | undefined;
  /** Removes the handlers (the signals' default action is back). */
  dispose(): void;
}

/**
 * Handles SIGINT and SIGTERM until `dispose()`: the first one calls `stop` (the command
 * ends its work and returns); a second exits the process at once with its code.
 */
export function watchStopSignals(stop: (signal: StopSignal) => void): StopSignals {
  let first: StopSignal | undefined;
  const onSignal = (received: StopSignal): void => {
    if (first !== undefined) {
      // A second signal: the user (or the service manager) wants out now.
      process.exit(exitForSignal(received));
    }
    first = received;
    stop(received);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    received: () => first,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
