/**
 * A Dispatcher of ours whose close() and destroy() are each one promise: undici's
 * calling forms (a promise, or a callback; destroy with or without an error) are
 * taken apart here once, for every dispatcher that composes others (the connection
 * pool, the proxy router).
 */
import { Dispatcher } from 'undici';

/** A Dispatcher whose subclass says how to close and destroy, each as one promise. */
export abstract class PromiseDispatcher extends Dispatcher {
  /** Closes: no new requests, those queued and in flight finish. Called on every close(). */
  protected abstract closeAll(): Promise<void>;
  /** Destroys at once: requests queued and in flight fail with `error`. Called on every destroy(). */
  protected abstract destroyAll(error: Error | null): Promise<void>;

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    const closing = this.closeAll();
    if (callback === undefined) return closing;
    closing.then(callback, callback);
  }

  override destroy(): Promise<void>;
  override destroy(error: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(error: Error | null, callback: () => void): void;
  override destroy(
    errorOrCallback?: Error | null | (() => void),
    maybeCallback?: () => void,
  ): Promise<void> | void {
    const callback = typeof errorOrCallback === 'function' ? errorOrCallback : maybeCallback;
    const error = typeof errorOrCallback === 'function' ? null : (errorOrCallback ?? null);
    const destroying = this.destroyAll(error);
    if (callback === undefined) return destroying;
    destroying.then(callback, callback);
  }
}
