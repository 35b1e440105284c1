/**
 * Failed-request capture: every failed call is written as a replayable JSON
 * fixture (request with redacted headers, response head, the raw bytes received,
 * the error, timings, retries). Directory 0700, file 0600, unique names.
 * Writing them, bounded in time and count, is fixture-store.ts's job.
 */
import { redactHeaders, scrub, scrubBytes } from './redact.js';

/**
 * Raw bytes kept per attempt: the tail, where the failure is. 16 KiB shows the last
 * few dozen events, and a thousand concurrent streams keep only 16 MiB for it.
 */
export const CAPTURE_MAX_BYTES = 16 * 1024;

export const CAPTURE_FORMAT = 'tokenwire-failed-request/1';

/** One HTTP attempt as captured. */
export interface CapturedAttempt {
  startedAt: string;
  request: { method: string; url: string; headers: Record<string, string>; body: unknown };
  response?: { status: number; headers: Record<string, string> };
  /** The last bytes received (base64 when not valid UTF-8, else text). */
  raw?: { encoding: 'utf8' | 'base64'; data: string; totalBytes: number; truncatedHead: boolean };
  error?: Record<string, unknown>;
  timings: { headersMs?: number; firstTokenMs?: number; durationMs: number };
  retry?: { reason: string; delayMs: number; resume: boolean };
}

/** The fixture file's content. */
export interface FailedRequestFixture {
  format: typeof CAPTURE_FORMAT;
  createdAt: string;
  tokenwireVersion: string;
  /** `json`: a Client's JSON call; `fetch`: a plain (not streamed) call through tokenwire/fetch. */
  kind: 'completion' | 'chat' | 'json' | 'fetch';
  dialect: string;
  error: Record<string, unknown>;
  tokensReceived: number;
  attempts: CapturedAttempt[];
}

/**
 * The last bytes of a response, copied into one buffer of its own (holding on to the
 * socket's chunks would keep their whole, larger backing buffers alive).
 */
export class ByteTail {
  private buffer = Buffer.alloc(0);
  /** Write position in the ring once it is full; the fill level before that. */
  private end = 0;
  private full = false;
  total = 0;

  push(chunk: Buffer): void {
    this.total += chunk.length;
    if (chunk.length >= CAPTURE_MAX_BYTES) {
      this.buffer = Buffer.from(chunk.subarray(chunk.length - CAPTURE_MAX_BYTES));
      this.end = 0;
      this.full = true;
      return;
    }
    if (!this.full) {
      const needed = this.end + chunk.length;
      if (needed <= CAPTURE_MAX_BYTES) {
        if (needed > this.buffer.length) {
          // Grow by doubling: most streams are short and never need the whole ring.
          const grown = Buffer.allocUnsafe(
            Math.min(CAPTURE_MAX_BYTES, Math.max(needed, this.buffer.length * 2, 1024)),
          );
          this.buffer.copy(grown, 0, 0, this.end);
          this.buffer = grown;
        }
        chunk.copy(this.buffer, this.end);
        this.end = needed;
        if (this.end === CAPTURE_MAX_BYTES) {
          this.full = true;
          this.end = 0;
        }
        return;
      }
      // Becoming full: make the ring its final size, then wrap.
      const ring = Buffer.allocUnsafe(CAPTURE_MAX_BYTES);
      this.buffer.copy(ring, 0, 0, this.end);
      this.buffer = ring;
      this.full = true;
    }
    const first = Math.min(chunk.length, CAPTURE_MAX_BYTES - this.end);
    chunk.copy(this.buffer, this.end, 0, first);
    chunk.copy(this.buffer, 0, first);
    this.end = (this.end + chunk.length) % CAPTURE_MAX_BYTES;
  }

  /** The bytes in order, oldest first. */
  bytes(): Buffer {
    if (!this.full) return this.buffer.subarray(0, this.end);
    return Buffer.concat([this.buffer.subarray(this.end), this.buffer.subarray(0, this.end)]);
  }

  /**
   * The bytes for the fixture, secrets scrubbed from the bytes themselves (before a
   * base64 encoding could hide them), and a secret's end left at the cut dropped.
   */
  snapshot(secrets: readonly (string | undefined)[] = []): CapturedAttempt['raw'] {
    const kept = this.bytes();
    const truncatedHead = this.total > kept.length;
    const bytes = secrets.length > 0 ? scrubBytes(kept, secrets, truncatedHead) : kept;
    const text = bytes.toString('utf8');
    const valid = Buffer.from(text, 'utf8').equals(bytes);
    return {
      encoding: valid ? 'utf8' : 'base64',
      data: valid ? text : bytes.toString('base64'),
      totalBytes: this.total,
      truncatedHead,
    };
  }
}

/** Redacts every attempt's headers and scrubs secrets from the whole document. */
export function sanitizeFixture(
  fixture: FailedRequestFixture,
  secrets: readonly (string | undefined)[],
): string {
  for (const attempt of fixture.attempts) {
    attempt.request.headers = redactHeaders(attempt.request.headers, secrets);
    if (attempt.response) attempt.response.headers = redactHeaders(attempt.response.headers, secrets);
  }
  return scrub(JSON.stringify(fixture, null, 2), secrets);
}
