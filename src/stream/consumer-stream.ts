/**
 * The consumer's side of a stream: async iteration over a queue of events,
 * `final()`, leaving early (`break`, `return`, `await using`) and an AbortSignal.
 * How events are produced is the subclasses' business (StreamSink, BaseStream).
 */
import { EventQueue } from './event-queue.js';

export abstract class ConsumerStream<E, R> implements AsyncIterableIterator<E> {
  protected readonly queue: EventQueue<E>;
  /** Set once the stream has succeeded or failed; nothing changes after that. */
  protected finished = false;
  /** How to build final()'s result, once the stream succeeded. */
  private buildResult: (() => R) | undefined;
  /** The result, built on the first final() call (a stream that is only iterated never builds it). */
  private result: R | undefined;
  /** Set once the stream failed (with `failure`). */
  private failed = false;
  private failure: unknown;
  private removeSignalListener: (() => void) | undefined;

  /** Aborts the request. Iteration then fails with code `aborted` (unless it already ended). */
  abstract abort(reason?: unknown): void;
  /** @internal The consumer is far behind: stop reading from the socket for now. */
  abstract pauseSource(): void;
  /** @internal The consumer caught up: read again. */
  abstract resumeSource(): void;

  constructor(signal: AbortSignal | undefined) {
    this.queue = new EventQueue<E>(this);
    if (signal) {
      if (signal.aborted) {
        queueMicrotask(() => this.abort(signal.reason));
      } else {
        const onAbort = () => this.abort(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        this.removeSignalListener = () => signal.removeEventListener('abort', onAbort);
      }
    }
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<E>> {
    return this.queue.next();
  }

  /**
   * The same events in arrays: each batch holds what arrived together (one socket
   * read can carry hundreds of tokens), for one promise per batch instead of one
   * per event. Leaving the loop early stops the stream as with events; an error is
   * thrown after the batches of the events that came before it.
   *
   * @example
   * for await (const batch of client.streamCompletion({ prompt, maxTokens }).batches()) {
   *   for (const ev of batch) if (ev.type === 'token') ids.push(ev.id);
   * }
   */
  batches(): AsyncIterableIterator<E[]> {
    const iterator: AsyncIterableIterator<E[]> = {
      next: () => this.queue.nextBatch() as Promise<IteratorResult<E[]>>,
      return: async () => {
        this.cancel();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /** Called when a `for await` loop exits early: aborts quietly. */
  async return(): Promise<IteratorResult<E>> {
    this.cancel();
    return { value: undefined, done: true };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.cancel();
  }

  /** Reads the stream to its end and resolves with everything; rejects with the stream's error. */
  async final(): Promise<R> {
    if (!this.finished) {
      // Ends when the stream has succeeded or failed: the queue ends only then.
      while (!(await this.queue.next()).done) {
        // The producer keeps what final() needs; the events themselves are not.
      }
    }
    if (this.failed) throw this.failure;
    this.result ??= this.buildResult!();
    return this.result;
  }

  /** Consumer left (break, return, dispose): stop quietly, no error to anyone. */
  private cancel(): void {
    if (this.finished) return;
    this.queue.discard();
    this.abort('consumer stopped reading');
  }

  /** Success: `done` is the last event; `result` builds what final() resolves to. */
  protected endWith(done: E, result: () => R): void {
    this.finished = true;
    this.removeSignalListener?.();
    this.buildResult = result;
    this.queue.push(done);
    this.queue.end();
  }

  /** Failure: the consumer gets `error` after the events already queued. */
  protected failWith(error: unknown): void {
    this.finished = true;
    this.removeSignalListener?.();
    this.failed = true;
    this.failure = error;
    this.queue.fail(error);
  }
}
