/**
 * The socket side of one attempt: what happens when its response head, body
 * chunks, end or error arrive — content-type and status checks, SSE parsing,
 * accounting for the clocks and stats, end-of-stream truth. The attempt loop is
 * base-stream.ts's; the stream (its StreamSink part, stream-sink.ts) is these
 * callbacks' host, seen through the narrow AttemptHost below.
 */

import type { Transform } from 'node:stream';
import { scrub } from '../diagnostics/redact.js';
import type { DecodeSink, Dialect, WireRequest } from '../dialects/dialect.js';
import { describeRequest, ProtocolError, StreamTruncatedError, TokenwireError } from '../errors.js';
import { type SseEvent, type SseHandlers, SseParser } from '../sse/parser.js';
import { createBodyDecoder } from '../transport/body-decoder.js';
import type { ResponseHandlers } from '../transport/dispatch.js';
import { httpError, networkError, requestIdOf } from '../transport/http-errors.js';
import { bodyKind, contentCoding, neverAStream } from '../transport/response-check.js';
import type { StreamStats } from '../types.js';
import { type Attempt, errorInit, nonStreamBodyError, rateLimitHeaders, streamError } from './attempt.js';
import type { StreamContext } from './context.js';
import type { StreamObserver } from './observer.js';
import type { ReceivedTokens } from './received.js';

/** Largest non-stream body (error page, JSON instead of SSE) read into memory. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

const now = (): number => performance.now();

/** What an attempt's callbacks may see and do of the stream running it. */
export interface AttemptHost extends DecodeSink {
  readonly ctx: StreamContext;
  readonly stats: StreamStats;
  readonly received: ReceivedTokens;
  /** When the whole call started (`performance.now()`). */
  readonly startedAt: number;
  /** Who watches the call (telemetry), if anyone. */
  readonly observer: StreamObserver | undefined;
  /** The attempt in flight; callbacks of an older one are ignored. */
  currentAttempt(): Attempt | undefined;
  /** Makes `attempt` the current one if it is the rival of a hedge race; false otherwise. */
  enterRacer(attempt: Attempt): boolean;
  /** The dialect's byte-level fast path, when this stream may use it. */
  fastDecoder(): Dialect['decodeCompletionBytes'];
  /** Decodes one SSE event (the stream itself is the DecodeSink). */
  decodeEvent(event: SseEvent, wire: WireRequest): void;
  failAttempt(attempt: Attempt, failure: TokenwireError): void;
  settleAttempt(attempt: Attempt): void;
  /** The dialect's explanation of an HTTP error it recognises, added to the message. */
  httpErrorHint(status: number, body: string, wire: WireRequest): string | undefined;
}

/**
 * The transport and SSE callbacks of one attempt, as one object (methods, not
 * closures: a stream is made of few objects, which counts at 10,000 streams).
 * The transport callbacks delegate to the module functions below on purpose: with
 * their bodies moved into these methods, a 20,000-token stream measured 0.77-0.86
 * µs/token in a fresh process against 0.56-0.67 this way (`node bench/run.mjs
 * --scenarios single-bulk --clients tokenwire --reps 3`, alternated, 3 runs each).
 */
export class AttemptDriver implements ResponseHandlers, SseHandlers {
  /** The dialect's byte-level decoder, when this stream may use it (known at the head). */
  private fastDecode: Dialect['decodeCompletionBytes'] = undefined;
  /** Decodes a compressed body (a proxy's gzip, br, deflate) before it is read. */
  private decoder: Transform | undefined = undefined;

  constructor(
    protected readonly host: AttemptHost,
    protected readonly attempt: Attempt,
  ) {}

  onConnect(): void {
    this.attempt.connectedAt = now();
  }

  onHead(status: number, headers: Record<string, string>): void {
    // A hedge's rival is made current first: the head chooses its dialect's fast path.
    if (this.attempt !== this.host.currentAttempt()) this.host.enterRacer(this.attempt);
    onHead(this.host, this.attempt, status, headers, this);
  }

  onData(chunk: Buffer): void {
    if (this.decoder !== undefined) this.decoder.write(chunk);
    else onData(this.host, this.attempt, chunk);
  }

  onEnd(): void {
    // With a decoder, the end comes once it has given out its last bytes.
    if (this.decoder !== undefined) this.decoder.end();
    else onEnd(this.host, this.attempt);
  }

  onError(error: Error): void {
    this.decoder?.destroy();
    onError(this.host, this.attempt, error);
  }

  /** The body is compressed as `coding` (one the transport decodes): read it decoded. */
  decodeBody(coding: string): void {
    const { host, attempt } = this;
    const decoder = createBodyDecoder(coding);
    decoder.on('data', (chunk: Buffer) => onData(host, attempt, chunk));
    decoder.on('end', () => onEnd(host, attempt));
    decoder.on('error', (error: Error) => {
      if (attempt.settled) return;
      host.failAttempt(
        attempt,
        new ProtocolError(
          `protocol_error: the body could not be decoded as ${coding} (content-encoding): ${error.message}${describeRequest('POST', attempt.url.href)}`,
          { ...errorInit(attempt, host.received.events(), 'protocol_error', 'stream', false), cause: error },
        ),
      );
    });
    this.decoder = decoder;
  }

  /** Started parsing an event stream: from now on the fast path may be tried. */
  startEvents(fastDecode: Dialect['decodeCompletionBytes']): void {
    this.fastDecode = fastDecode;
  }

  onEvent(event: SseEvent): void {
    const attempt = this.attempt;
    if (attempt.complete || attempt.failure) return;
    this.host.stats.events++;
    this.host.decodeEvent(event, attempt.wire);
  }

  onEventBytes(line: Buffer, start: number, end: number): boolean {
    const fastDecode = this.fastDecode;
    if (fastDecode === undefined) return false;
    const attempt = this.attempt;
    // As onEvent: events after the end or a failure are dropped.
    if (attempt.complete || attempt.failure) return true;
    if (!fastDecode(line, start, end, this.host)) return false;
    this.host.stats.events++;
    return true;
  }

  onComment(): void {
    this.host.stats.keepalives++;
    if (this.host.ctx.options.timeouts.keepaliveResetsIdle) this.attempt.lastDataAt = now();
  }
}

function onHead(
  host: AttemptHost,
  attempt: Attempt,
  status: number,
  headers: Record<string, string>,
  driver: AttemptDriver,
): void {
  const t = now();
  attempt.status = status;
  attempt.headers = headers;
  attempt.headersAt = t;
  attempt.connectedAt ??= t;
  attempt.lastChunkAt = t;
  const capture = attempt.capture;
  if (capture) {
    capture.response = { status, headers };
    capture.timings.headersMs = t - attempt.startedAt;
  }
  if (host.stats.timeToHeadersMs === undefined) host.stats.timeToHeadersMs = t - host.startedAt;
  const contentType = headers['content-type'] ?? '';
  const never = neverAStream(status, headers);
  if (never !== undefined) {
    host.failAttempt(
      attempt,
      new ProtocolError(
        `protocol_error: ${never}${describeRequest('POST', attempt.url.href)}`,
        errorInit(attempt, host.received.events(), 'protocol_error', 'headers', false),
      ),
    );
    return;
  }
  attempt.mode = bodyKind(status, headers);
  const coding = contentCoding(headers);
  if (coding !== undefined) driver.decodeBody(coding);
  if (attempt.mode === 'sse') {
    driver.startEvents(host.fastDecoder());
    attempt.parser = new SseParser(
      driver,
      host.ctx.options.maxLineBytes === undefined
        ? undefined
        : { maxLineBytes: host.ctx.options.maxLineBytes },
    );
  }
  // Debug records are built only when debug is on: they cost per request.
  if (host.ctx.options.debug)
    host.ctx.log({
      level: 'debug',
      event: 'response',
      url: attempt.url.href,
      status,
      contentType,
      headersMs: Math.round(t - attempt.startedAt),
      requestId: requestIdOf(headers),
      rateLimit: rateLimitHeaders(headers),
    });
}

function onData(host: AttemptHost, attempt: Attempt, chunk: Buffer): void {
  // Another attempt's bytes: ignored, unless it races the current one (a hedge's rival).
  if ((attempt !== host.currentAttempt() && !host.enterRacer(attempt)) || attempt.complete || attempt.settled)
    return;
  const t = now();
  const stats = host.stats;
  stats.chunks++;
  stats.bytes += chunk.length;
  const gap = t - attempt.lastChunkAt;
  if (gap > stats.maxGapMs) stats.maxGapMs = gap;
  attempt.lastChunkAt = t;
  attempt.tail?.push(chunk);
  if (attempt.mode !== 'sse') {
    if (attempt.bodySize < MAX_ERROR_BODY_BYTES) {
      attempt.bodyChunks.push(chunk);
      attempt.bodySize += chunk.length;
    }
    return;
  }
  const parser = attempt.parser!;
  const eventsBefore = stats.events;
  try {
    parser.push(chunk);
  } catch (error) {
    host.failAttempt(attempt, streamError(attempt, error, host.received.events()));
    return;
  }
  // The idle clock is reset by content (a token, text, a tool-call or reasoning delta: see
  // StreamSink.markActivity), not by keepalive comments, `choices: []` heartbeats or empty
  // deltas; but the bytes of an event still arriving count, so that a long event that trickles
  // in is not cut off (its length is bounded by maxLineBytes).
  if (parser.pendingLineIsField) attempt.lastDataAt = t;
  const observer = host.observer;
  if (observer !== undefined && stats.events !== eventsBefore) observer.chunk(t);
}

function onEnd(host: AttemptHost, attempt: Attempt): void {
  // The timer would keep the whole stream reachable for a second after it ended.
  if (attempt.drainTimer) clearTimeout(attempt.drainTimer);
  if (attempt.settled) return;
  // The parser's last events are decoded into the current attempt: a rival becomes it.
  if (attempt !== host.currentAttempt()) host.enterRacer(attempt);
  if (attempt.capture) attempt.capture.timings.durationMs = now() - attempt.startedAt;
  if (attempt.mode === 'sse') {
    try {
      attempt.parser!.end();
    } catch (error) {
      host.failAttempt(attempt, streamError(attempt, error, host.received.events()));
      return;
    }
    if (attempt.failure) return;
    if (attempt.complete || attempt.finishReason !== undefined) {
      attempt.complete = true;
      host.settleAttempt(attempt);
      return;
    }
    const message = `stream_truncated: the server closed the stream after ${attempt.tokens} tokens without a finish reason or [DONE]${describeRequest('POST', attempt.url.href)}`;
    host.ctx.log({
      level: 'warn',
      event: 'stream_truncated',
      url: attempt.url.href,
      tokens: attempt.tokens,
    });
    host.failAttempt(
      attempt,
      new StreamTruncatedError(
        message,
        errorInit(attempt, host.received.events(), 'stream_truncated', 'stream', true),
      ),
    );
    return;
  }
  // Scrubbed before any preview is cut from it: a cut must not leave part of a secret.
  const body = scrub(Buffer.concat(attempt.bodyChunks).toString('utf8'), host.ctx.secrets);
  if (attempt.mode === 'error-body') {
    const hint = host.httpErrorHint(attempt.status!, body, attempt.wire);
    host.failAttempt(
      attempt,
      httpError(attempt.status!, attempt.headers!, body, 'POST', attempt.url.href, [], hint),
    );
    return;
  }
  host.failAttempt(attempt, nonStreamBodyError(attempt, body, host.received.events()));
}

function onError(host: AttemptHost, attempt: Attempt, error: Error): void {
  if (attempt.drainTimer) clearTimeout(attempt.drainTimer);
  if (attempt.settled) return;
  if (attempt.capture) attempt.capture.timings.durationMs = now() - attempt.startedAt;
  if (attempt.complete) {
    // We dropped the socket after [DONE] (the server kept it open): not a failure.
    host.settleAttempt(attempt);
    return;
  }
  if (attempt.finishReason !== undefined && attempt.failure === undefined) {
    // The server already said why generation ended: only the usage chunk or [DONE] was
    // lost. Resuming now would generate past the end.
    host.ctx.log({
      level: 'warn',
      event: 'lost_after_finish',
      url: attempt.url.href,
      error: error.message,
    });
    attempt.complete = true;
    host.settleAttempt(attempt);
    return;
  }
  const failure =
    attempt.failure ??
    (error instanceof TokenwireError
      ? error
      : networkError(
          error,
          attempt.headersAt === undefined ? 'connect' : 'stream',
          'POST',
          attempt.url.href,
          host.ctx.options.timeouts,
        ));
  if (failure.phase === 'stream' || attempt.headersAt !== undefined) {
    failure.partial = host.received.events();
  }
  host.failAttempt(attempt, failure);
}
