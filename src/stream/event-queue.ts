/**
 * A single-consumer async queue: the producer (socket callbacks) pushes events
 * synchronously; the consumer pulls with `next()`. It signals when the backlog is
 * large so the producer can pause the socket (backpressure), and ends either
 * cleanly or with an error delivered exactly once.
 */

/** Backlog at which the socket is paused: a slow consumer must not make us buffer a whole generation. */
export const QUEUE_HIGH_WATER = 8192;
/** Backlog at which a paused socket is resumed. */
export const QUEUE_LOW_WATER = 1024;

type Waiter<T> = { resolve: (result: IteratorResult<T>) => void; reject: (error: unknown) => void };

/** Who produces into the queue: told to stop reading at high water and to go on at low water. */
export interface FlowControl {
  pauseSource(): void;
  resumeSource(): void;
}

export class EventQueue<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  private waiter: Waiter<T> | undefined;
  private ended = false;
  private failure: unknown;
  private failureDelivered = false;
  /** Whether the producer was asked to pause. */
  paused = false;

  /** @param flow the producer (an object rather than two closures: memory at many streams) */
  constructor(private readonly flow: FlowControl) {}

  get closed(): boolean {
    return this.ended;
  }

  /** Adds an event; wakes a waiting consumer directly (no queueing when someone waits). */
  push(item: T): void {
    if (this.ended) return;
    const waiter = this.waiter;
    if (waiter !== undefined) {
      this.waiter = undefined;
      waiter.resolve({ value: item, done: false });
      return;
    }
    this.items.push(item);
    if (!this.paused && this.items.length - this.head > QUEUE_HIGH_WATER) {
      this.paused = true;
      this.flow.pauseSource();
    }
  }

  /** No more events: the consumer drains what is queued, then sees `done`. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.wake();
  }

  /** Ends with an error, thrown to the consumer after the queued events. */
  fail(error: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = error;
    this.wake();
  }

  /** Drops queued events and ends without an error (consumer went away). */
  discard(): void {
    this.items = [];
    this.head = 0;
    this.ended = true;
    this.failureDelivered = true;
    this.wake();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.head < this.items.length) {
      const item = this.items[this.head] as T;
      this.items[this.head++] = undefined;
      if (this.head === this.items.length) {
        this.items.length = 0;
        this.head = 0;
      } else if (this.head > 4096) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
      if (this.paused && this.items.length - this.head <= QUEUE_LOW_WATER) {
        this.paused = false;
        this.flow.resumeSource();
      }
      return Promise.resolve({ value: item, done: false });
    }
    if (this.ended) return this.settled();
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /**
   * Everything queued, as one array (waiting for at least one event when none is):
   * the events that arrived together, for one promise instead of one per event.
   */
  async nextBatch(): Promise<IteratorResult<T[], undefined>> {
    if (this.head < this.items.length) return { value: this.takeAll(), done: false };
    const first = await this.next();
    if (first.done) return { value: undefined, done: true };
    // With what the producer pushed in the same turn, after waking us with the first one.
    const batch = this.takeAll();
    batch.unshift(first.value);
    return { value: batch, done: false };
  }

  private takeAll(): T[] {
    const items = (this.head === 0 ? this.items : this.items.slice(this.head)) as T[];
    this.items = [];
    this.head = 0;
    if (this.paused) {
      this.paused = false;
      this.flow.resumeSource();
    }
    return items;
  }

  private settled(): Promise<IteratorResult<T>> {
    if (this.failure !== undefined && !this.failureDelivered) {
      this.failureDelivered = true;
      return Promise.reject(this.failure);
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  private wake(): void {
    const waiter = this.waiter;
    if (waiter === undefined || this.head < this.items.length) return;
    this.waiter = undefined;
    this.settled().then(waiter.resolve, waiter.reject);
  }
}
