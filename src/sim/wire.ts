/**
 * The byte-level output of one streaming response: batches events into one
 * write when nothing paces them, honours backpressure, and applies the
 * byte-level faults (line endings, one write per byte, trickle). Every wait is
 * tied to the response's AbortSignal, so a closed socket stops all timers.
 */
import type { ServerResponse } from 'node:http';
import { setImmediate as immediate, setTimeout as sleepTimer } from 'node:timers/promises';
import type { FaultPlan } from './faults.js';

/** Batched bytes are written once they pass this size, so one huge burst never sits in memory. */
const BATCH_LIMIT_BYTES = 64 * 1024;

/** Thrown (and caught by the responder) when the response's socket closed under us. */
export class ResponseClosed extends Error {}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(new ResponseClosed());
  return sleepTimer(ms, undefined, { signal }).catch(() => {
    throw new ResponseClosed();
  });
}

export class Wire {
  private batch: Buffer[] = [];
  private batchBytes = 0;
  private busy = false;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  /** Bytes handed to the socket so far. */
  bytesWritten = 0;

  constructor(
    private readonly res: ServerResponse,
    private readonly plan: FaultPlan,
    private readonly signal: AbortSignal,
    /** Batch events into one write (nothing paces the stream). */
    private readonly batching: boolean,
  ) {
    signal.addEventListener('abort', () => this.stopKeepalive(), { once: true });
  }

  private encode(text: string): Buffer {
    if (this.plan.lineEndings === 'cr') text = text.replaceAll('\n', '\r');
    else if (this.plan.lineEndings === 'crlf') text = text.replaceAll('\n', '\r\n');
    return Buffer.from(text, 'utf8');
  }

  /** Queues text; written at once unless batching (then at flush or when the batch is large). */
  async send(text: string): Promise<void> {
    if (text === '') return;
    const buf = this.encode(text);
    this.batch.push(buf);
    this.batchBytes += buf.length;
    if (!this.batching || this.batchBytes >= BATCH_LIMIT_BYTES) await this.flush();
  }

  /** Queues raw bytes (no line-ending change) and writes everything queued; `settled` as in flush(). */
  async sendBytes(buf: Buffer, settled = false): Promise<void> {
    if (buf.length > 0) {
      this.batch.push(buf);
      this.batchBytes += buf.length;
    }
    await this.flush(settled);
  }

  /** Writes everything queued. With `settled`, resolves only once the bytes reached the kernel. */
  async flush(settled = false): Promise<void> {
    if (this.batchBytes === 0) return;
    const buf = this.batch.length === 1 ? this.batch[0] : Buffer.concat(this.batch, this.batchBytes);
    this.batch = [];
    this.batchBytes = 0;
    this.busy = true;
    try {
      if (this.plan.trickleMs !== undefined || this.plan.byteWrites) {
        for (let i = 0; i < buf.length; i++) {
          await this.write(buf.subarray(i, i + 1), settled && i === buf.length - 1);
          if (this.plan.trickleMs !== undefined) await sleep(this.plan.trickleMs, this.signal);
          // A turn of the event loop between bytes, so each really leaves as its own write.
          else await immediate();
          if (this.signal.aborted) throw new ResponseClosed();
        }
      } else {
        await this.write(buf, settled);
      }
    } finally {
      this.busy = false;
    }
  }

  private write(buf: Buffer, settled: boolean): Promise<void> {
    if (this.signal.aborted || this.res.destroyed) return Promise.reject(new ResponseClosed());
    this.bytesWritten += buf.length;
    if (settled) {
      return new Promise((resolve, reject) => {
        this.res.write(buf, (error) => (error ? reject(new ResponseClosed()) : resolve()));
      });
    }
    if (this.res.write(buf)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (): void => {
        this.res.off('drain', done);
        this.signal.removeEventListener('abort', done);
        if (this.signal.aborted) reject(new ResponseClosed());
        else resolve();
      };
      this.res.on('drain', done);
      this.signal.addEventListener('abort', done, { once: true });
    });
  }

  /** Sends an SSE comment line every `ms` while the wire is idle, until stopped. */
  startKeepalive(ms: number, text = ': keepalive\n\n'): void {
    this.stopKeepalive();
    const comment = this.encode(text);
    this.keepaliveTimer = setInterval(() => {
      if (this.busy || this.batchBytes > 0 || this.signal.aborted || this.res.destroyed) return;
      this.bytesWritten += comment.length;
      this.res.write(comment);
    }, ms);
  }

  stopKeepalive(): void {
    if (this.keepaliveTimer !== undefined) clearInterval(this.keepaliveTimer);
    this.keepaliveTimer = undefined;
  }
}
