/**
 * The stream engine shared by completions and chat: HTTP attempts, the SSE
 * parser, per-phase clocks, end-of-stream truth, retries and resume, stats,
 * diagnostics and failed-request capture. Subclasses say how to build a request
 * and what events a decoded token becomes.
 */
import {
  CAPTURE_FORMAT,
  type CapturedAttempt,
  defaultCaptureDir,
  writeFixture,
} from '../diagnostics/capture.js';
import type {
  DecodeSink,
  Dialect,
  ToolCallDelta,
  WireError,
  WireRequest,
  WireUsage,
} from '../dialects/dialect.js';
import type { FastState } from '../dialects/fast-chunk.js';
import { newFastState } from '../dialects/fast-chunk-learn.js';
import { AbortError, describeRequest, TokenwireError } from '../errors.js';
import { decideRetry, type RetryDecision } from '../retry/policy.js';
import type { SseEvent } from '../sse/parser.js';
import { sendRequest } from '../transport/dispatch.js';
import type { StreamStats, TokenEvent, Usage } from '../types.js';
import {
  type Attempt,
  inStreamError,
  newAttempt,
  newStats,
  parseErrorsError,
  scrubError,
  timeoutError,
} from './attempt.js';
import { AttemptDriver } from './attempt-driver.js';
import { expiredClock, nextDeadline, Watchdog } from './clocks.js';
import { ConsumerStream } from './consumer-stream.js';
import type { StreamContext } from './context.js';
import { ReceivedTokens } from './received.js';
import { callUsage } from './usage.js';

/** Parse errors in a row after which the stream is declared garbage. */
export const MAX_CONSECUTIVE_PARSE_ERRORS = 3;
/** After `[DONE]`, how long the server may take to end the response before we drop the socket. */
const DRAIN_GRACE_MS = 1_000;
/**
 * Debugging switch, read once: `TOKENWIRE_NO_FAST_PATH=1` turns off the dialects'
 * byte-level fast path (every event then goes through JSON.parse), to rule it out
 * when a stream decodes strangely. The results must be identical either way.
 */
const FAST_PATH = process.env.TOKENWIRE_NO_FAST_PATH !== '1';

const now = (): number => performance.now();

/**
 * The engine under both streams. It is also the host of its attempts' socket callbacks
 * (AttemptHost, checked where an AttemptDriver is made) and the sink of the dialect
 * decoders (DecodeSink): methods of the stream rather than a host object of closures,
 * seven objects fewer per stream (measured: a held stream 10.9 -> 10.1 KB). Those
 * members are marked internal (left out of the published typings).
 */
export abstract class BaseStream<E, R> extends ConsumerStream<E, R> implements DecodeSink {
  /** @internal */
  readonly ctx: StreamContext;
  /** @internal */
  readonly stats: StreamStats = newStats();
  /** The dialect fast path's per-stream template (DecodeSink member). */
  readonly decoderState: FastState | undefined = FAST_PATH ? newFastState() : undefined;
  /** @internal Every token delivered, over all attempts (also the `partial` of an error). */
  readonly received: ReceivedTokens;
  protected dialect: Dialect | undefined;
  protected attempt: Attempt | undefined;
  protected finishReason: string | undefined;
  protected completionIdList: number[] | undefined;
  protected promptIdList: number[] | undefined;
  /** Tokens received before the current attempt began. */
  protected tokensBeforeAttempt = 0;
  /** @internal When the call started (`performance.now()`). */
  readonly startedAt = now();
  private readonly deadline: number;
  /** Stops a dialect detection this stream waits for (made only when there is one). */
  private detectAbort: AbortController | undefined;
  /** The one timer of the stream's clocks. */
  private readonly watchdog = new Watchdog(this);
  private sleepTimer: { timer: NodeJS.Timeout; resolve: () => void } | undefined;
  private readonly capturedAttempts: CapturedAttempt[] = [];

  protected abstract readonly kind: 'completion' | 'chat';
  /** Builds the next attempt's request; `resume` is true when continuing after received tokens. */
  protected abstract buildRequest(dialect: Dialect, resume: boolean): WireRequest | undefined;
  protected abstract decode(dialect: Dialect, event: SseEvent, wire: WireRequest): void;
  /** Whether the received tokens allow an exact (or documented approximate) continuation. */
  protected abstract canResume(dialect: Dialect): boolean;
  /** The final event, and how to build the `final()` result (only built when asked for). */
  protected abstract complete(usage: Usage): { done: E; result: () => R };
  abstract tokens(
    ids: readonly number[] | undefined,
    text: string,
    logprobs: readonly number[] | undefined,
  ): void;

  /** @param expectedTokens the request's `maxTokens` (sizes the token store), if any */
  constructor(ctx: StreamContext, signal: AbortSignal | undefined, expectedTokens: number | undefined) {
    super(signal);
    this.ctx = ctx;
    this.received = new ReceivedTokens(expectedTokens);
    const { totalMs } = ctx.options.timeouts;
    this.deadline = totalMs > 0 ? this.startedAt + totalMs : Number.POSITIVE_INFINITY;
    // Start at once: connecting overlaps with whatever the caller does before iterating.
    queueMicrotask(() => {
      this.run().catch((error) => this.fail(this.asTokenwireError(error)));
    });
  }

  /** @internal */
  pauseSource(): void {
    const attempt = this.attempt;
    if (!attempt) return;
    // The idle clock stops while we are the ones not reading.
    attempt.paused = true;
    attempt.handle?.pause();
  }

  /** @internal */
  resumeSource(): void {
    const attempt = this.attempt;
    if (!attempt) return;
    attempt.paused = false;
    attempt.lastDataAt = now();
    attempt.handle?.resume();
    this.armWatchdog();
  }

  // ---- consumer side --------------------------------------------------------------

  override abort(reason?: unknown): void {
    if (this.finished) return;
    const error = new AbortError(
      `aborted by the caller${describeRequest('POST', this.attempt?.url.href)}${
        reason instanceof Error ? `: ${reason.message}` : typeof reason === 'string' ? `: ${reason}` : ''
      }`,
      { code: 'aborted', phase: this.phaseNow(), cause: reason, partial: this.received.events() },
    );
    this.interrupt(error);
  }

  // ---- the attempt loop -----------------------------------------------------------

  private async run(): Promise<void> {
    const dialect = this.ctx.knownDialect() ?? (await this.detectDialect());
    if (dialect === undefined || this.finished) return;
    this.dialect = dialect;
    let resume = false;
    for (;;) {
      const wire = this.buildRequest(dialect, resume);
      if (wire === undefined) {
        throw new TokenwireError('internal: no request could be built', {
          code: 'unsupported',
          phase: 'setup',
        });
      }
      const attempt = this.startAttempt(wire);
      await new Promise<void>((resolve) => {
        attempt.settle = resolve;
        if (attempt.settled) resolve();
      });
      if (this.finished) return;
      const failure = attempt.failure;
      if (failure === undefined) {
        this.succeed(attempt);
        return;
      }
      this.tokensBeforeAttempt = this.received.length;
      const decision = this.retryDecision(failure, this.stats.attempts, this.canResume(dialect));
      if (attempt.capture) {
        attempt.capture.retry = {
          reason: decision.reason,
          delayMs: decision.delayMs,
          resume: decision.resume,
        };
      }
      if (!decision.retry) {
        await this.failWithCapture(failure, decision.reason);
        return;
      }
      this.ctx.log({
        level: 'warn',
        event: decision.resume ? 'resume' : 'retry',
        reason: decision.reason,
        error: failure.message,
        attempt: this.stats.attempts,
        tokensReceived: this.received.length,
        delayMs: decision.delayMs,
      });
      if (decision.resume) this.stats.resumes++;
      resume = resume || decision.resume;
      await this.sleep(decision.delayMs);
      if (this.finished) return;
    }
  }

  /**
   * The dialect (detected once per client when `auto`). A detection that cannot reach the
   * server is retried like a request; undefined when the stream failed instead.
   */
  private async detectDialect(): Promise<Dialect | undefined> {
    for (let tries = 1; ; tries++) {
      try {
        this.detectAbort ??= new AbortController();
        return await this.ctx.dialect(this.detectAbort.signal);
      } catch (error) {
        if (this.finished) return undefined;
        const failure = this.asTokenwireError(error);
        const decision = this.retryDecision(failure, tries, false);
        if (!decision.retry) {
          await this.failWithCapture(failure, decision.reason);
          return undefined;
        }
        this.ctx.log({
          level: 'warn',
          event: 'retry',
          reason: `dialect detection: ${decision.reason}`,
          error: failure.message,
          delayMs: decision.delayMs,
        });
        await this.sleep(decision.delayMs);
        if (this.finished) return undefined;
      }
    }
  }

  /** Whether (and how soon, and by resuming or not) to try again after `failure`. */
  private retryDecision(failure: TokenwireError, attempts: number, canResume: boolean): RetryDecision {
    return decideRetry({
      error: failure,
      attempts,
      tokensReceived: this.received.length,
      canResume,
      policy: this.ctx.options.retry,
      nowMs: now(),
      deadlineMs: this.deadline,
      random: Math.random,
    });
  }

  private startAttempt(wire: WireRequest): Attempt {
    const { options } = this.ctx;
    const body = JSON.stringify(wire.body);
    const url = this.ctx.url(wire.path);
    const headers = this.ctx.streamHeaders;
    this.stats.attempts++;
    const attempt = newAttempt({
      number: this.stats.attempts,
      wire,
      url,
      body,
      headers,
      startedAt: now(),
      capture: options.failedRequestsDir !== false,
    });
    this.attempt = attempt;
    if (attempt.capture) this.capturedAttempts.push(attempt.capture);
    // Debug records are built only when debug is on: they cost per request.
    if (this.ctx.options.debug)
      this.ctx.log({
        level: 'debug',
        event: 'request',
        method: 'POST',
        url: url.href,
        attempt: attempt.number,
        dialect: this.dialect?.name,
        payloadBytes: Buffer.byteLength(body),
      });
    attempt.handle = sendRequest(
      this.ctx.dispatcher,
      { url, method: 'POST', headers, body, headersTimeoutMs: 0 },
      new AttemptDriver(this, attempt),
    );
    this.armWatchdog();
    return attempt;
  }

  // ---- AttemptHost ------------------------------------------------------------------

  /** @internal */
  currentAttempt(): Attempt | undefined {
    return this.attempt;
  }

  /** @internal */
  fastDecoder(): Dialect['decodeCompletionBytes'] {
    return this.kind === 'completion' && FAST_PATH ? this.dialect?.decodeCompletionBytes : undefined;
  }

  /** @internal */
  decodeEvent(event: SseEvent, wire: WireRequest): void {
    this.decode(this.dialect!, event, wire);
  }

  // ---- DecodeSink ---------------------------------------------------------------------

  /** Subclasses call this for every token event they deliver. */
  protected deliverToken(event: TokenEvent, hasId: boolean): void {
    const attempt = this.markActivity();
    attempt.tokens++;
    if (hasId) attempt.ids++;
    this.stats.tokens++;
    this.received.record(event.id, event.text, event.logprob);
  }

  /**
   * Output arrived (a token, or a chat reasoning or tool-call delta): the first one of an
   * attempt stops its first-token clock and starts the idle one.
   */
  protected markActivity(): Attempt {
    const attempt = this.attempt!;
    if (attempt.firstTokenAt === undefined) {
      const t = now();
      attempt.firstTokenAt = t;
      if (attempt.capture) attempt.capture.timings.firstTokenMs = t - attempt.startedAt;
      this.armWatchdog();
      if (this.stats.timeToFirstTokenMs === undefined) {
        this.stats.timeToFirstTokenMs = t - this.startedAt;
        if (this.ctx.options.debug) {
          this.ctx.log({
            level: 'debug',
            event: 'first_token',
            ms: Math.round(this.stats.timeToFirstTokenMs),
          });
        }
      }
    }
    attempt.parseErrorsInRow = 0;
    return attempt;
  }

  promptIds(ids: readonly number[]): void {
    if (this.promptIdList === undefined) this.promptIdList = [...ids];
  }

  completionIds(ids: readonly number[]): void {
    this.completionIdList = [...ids];
  }

  finish(reason: string): void {
    this.attempt!.finishReason = reason;
    this.attempt!.parseErrorsInRow = 0;
  }

  usage(usage: WireUsage): void {
    this.attempt!.usage = usage;
  }

  serverTokenCount(count: number): void {
    const attempt = this.attempt!;
    attempt.serverTokenCount = count;
    this.checkIdsAgainst(attempt, count);
  }

  end(): void {
    const attempt = this.attempt!;
    attempt.complete = true;
    this.settleAttempt(attempt);
    // The server should end the response right after [DONE]; if it does not, drop it.
    attempt.drainTimer = setTimeout(
      () => attempt.handle?.abort(new Error('response kept open after [DONE]')),
      DRAIN_GRACE_MS,
    );
    attempt.drainTimer.unref();
  }

  /** Ends the current attempt as complete now and drops its connection (client-side stop). */
  protected completeEarly(): void {
    const attempt = this.attempt!;
    attempt.complete = true;
    this.settleAttempt(attempt);
    attempt.handle?.abort(new Error('stopped by the client'));
  }

  error(error: WireError): void {
    const attempt = this.attempt!;
    this.ctx.log({
      level: 'warn',
      event: 'server_error',
      url: attempt.url.href,
      message: error.message,
      code: error.code,
    });
    this.failAttempt(attempt, inStreamError(attempt, error, this.received.events()));
  }

  parseError(preview: string, cause: unknown): void {
    const attempt = this.attempt!;
    this.stats.parseErrors++;
    attempt.parseErrorsInRow++;
    this.ctx.log({
      level: 'warn',
      event: 'parse_error',
      url: attempt.url.href,
      preview,
      error: String(cause),
    });
    if (attempt.parseErrorsInRow > MAX_CONSECUTIVE_PARSE_ERRORS) {
      this.failAttempt(attempt, parseErrorsError(attempt, preview, cause, this.received.events()));
    }
  }

  reasoning(_text: string, _ids: readonly number[] | undefined): void {}

  toolCall(_delta: ToolCallDelta): void {}

  // ---- outcomes -----------------------------------------------------------------

  /**
   * The server counted `serverCount` tokens for this attempt: more than the ids that came
   * (each token having had one) means some ids never arrived.
   */
  private checkIdsAgainst(attempt: Attempt, serverCount: number): void {
    if (
      !this.stats.idsIncomplete &&
      this.dialect?.liveIds &&
      attempt.ids === attempt.tokens &&
      serverCount > attempt.ids
    ) {
      this.markIdsIncomplete(serverCount, attempt.ids);
    }
  }

  private markIdsIncomplete(serverCount: number, idsReceived: number): void {
    this.stats.idsIncomplete = true;
    this.ctx.log({
      level: 'warn',
      event: 'ids_incomplete',
      url: this.attempt?.url.href,
      serverCount,
      idsReceived,
      note: 'the server counted more tokens than ids it sent (a token ending inside a UTF-8 character)',
    });
  }

  /** @internal */
  settleAttempt(attempt: Attempt): void {
    if (attempt.settled) return;
    attempt.settled = true;
    this.watchdog.clear();
    attempt.settle();
  }

  /** @internal */
  failAttempt(attempt: Attempt, failure: TokenwireError): void {
    if (attempt.settled) return;
    attempt.failure = failure;
    const capture = attempt.capture;
    if (capture) {
      capture.timings.durationMs = now() - attempt.startedAt;
      capture.error = failure.toJSON();
      capture.raw = attempt.tail?.snapshot();
    }
    this.settleAttempt(attempt);
    attempt.handle?.abort(failure);
  }

  private succeed(attempt: Attempt): void {
    this.finishReason = attempt.finishReason ?? (attempt.complete ? 'stop' : undefined);
    const usage = this.computeUsage(attempt);
    this.stats.durationMs = now() - this.startedAt;
    const { done, result } = this.complete(usage);
    if (this.ctx.options.debug)
      this.ctx.log({ level: 'debug', event: 'summary', url: attempt.url.href, ...this.stats });
    this.cleanup();
    this.endWith(done, result);
  }

  private computeUsage(attempt: Attempt): Usage {
    const reported = attempt.usage;
    if (reported?.completionTokens !== undefined && attempt.ids > 0) {
      this.checkIdsAgainst(attempt, reported.completionTokens);
    }
    return callUsage({
      reported,
      tokensBeforeAttempt: this.tokensBeforeAttempt,
      resumed: attempt.number > 1,
      promptTokens: this.promptTokenCount(),
      tokensReceived: this.received.length,
      endIds: this.completionIdList?.length,
    });
  }

  /** The prompt's token count when known without the server (id prompts). */
  protected promptTokenCount(): number | undefined {
    return this.promptIdList?.length;
  }

  private async failWithCapture(failure: TokenwireError, reason: string): Promise<void> {
    failure.partial = this.received.events();
    const dir = this.ctx.options.failedRequestsDir;
    if (dir !== false && failure.code !== 'aborted') {
      try {
        const path = await writeFixture(
          dir ?? defaultCaptureDir(),
          {
            format: CAPTURE_FORMAT,
            createdAt: new Date().toISOString(),
            tokenwireVersion: this.ctx.version,
            kind: this.kind,
            dialect: this.dialect?.name ?? 'unknown',
            error: { ...failure.toJSON(), finalReason: reason },
            tokensReceived: this.received.length,
            attempts: this.capturedAttempts,
          },
          this.ctx.secrets,
        );
        failure.fixturePath = path;
        this.ctx.log({ level: 'debug', event: 'captured', path });
      } catch (error) {
        this.ctx.log({ level: 'warn', event: 'capture_failed', error: String(error) });
      }
    }
    this.fail(failure);
  }

  private fail(failure: TokenwireError): void {
    if (this.finished) return;
    if (failure.partial.length === 0) failure.partial = this.received.events();
    scrubError(failure, this.ctx.secrets);
    this.stats.durationMs = now() - this.startedAt;
    this.cleanup();
    this.failWith(failure);
  }

  /** Stops whatever is in flight (request or backoff sleep) with `error`. */
  private interrupt(error: TokenwireError): void {
    this.detectAbort?.abort(error);
    const attempt = this.attempt;
    if (attempt && !attempt.settled) {
      this.failAttempt(attempt, error);
      this.fail(error);
      return;
    }
    if (this.sleepTimer) {
      clearTimeout(this.sleepTimer.timer);
      this.sleepTimer.resolve();
      this.sleepTimer = undefined;
    }
    this.fail(error);
  }

  private cleanup(): void {
    this.watchdog.clear();
    if (this.sleepTimer) {
      clearTimeout(this.sleepTimer.timer);
      this.sleepTimer.resolve();
      this.sleepTimer = undefined;
    }
  }

  private sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.sleepTimer = { timer: setTimeout(resolve, ms), resolve };
    });
  }

  // ---- clocks ---------------------------------------------------------------------

  /** The watchdog fires by the running attempt's next deadline (not at all without one). */
  private armWatchdog(): void {
    const attempt = this.attempt;
    if (!attempt || attempt.settled) this.watchdog.clear();
    else this.watchdog.arm(nextDeadline(attempt, this.ctx.options.timeouts, this.deadline), now());
  }

  /** @internal The watchdog's timer fired: fails the attempt whose clock ran out, or re-arms. */
  checkClocks(): void {
    const attempt = this.attempt;
    if (!attempt || attempt.settled) return;
    const { timeouts } = this.ctx.options;
    const expired = expiredClock(attempt, timeouts, this.deadline, now());
    if (expired === undefined) {
      this.armWatchdog();
      return;
    }
    if (attempt.finishReason !== undefined) {
      // The server said why generation ended and then went quiet (no usage chunk, no
      // [DONE]): everything generated is here, so the stream is complete, not failed.
      this.ctx.log({ level: 'warn', event: 'lost_after_finish', url: attempt.url.href, error: expired });
      this.completeEarly();
      return;
    }
    const tokens = this.received.length;
    const error = timeoutError(attempt, expired, timeouts, this.received.events());
    this.ctx.log({ level: 'warn', event: expired, url: attempt.url.href, tokens });
    this.failAttempt(attempt, error);
  }

  // ---- helpers --------------------------------------------------------------------

  private phaseNow(): 'connect' | 'headers' | 'stream' {
    const attempt = this.attempt;
    if (!attempt || attempt.headersAt === undefined) return 'headers';
    return 'stream';
  }

  private asTokenwireError(error: unknown): TokenwireError {
    if (error instanceof TokenwireError) return error;
    return new TokenwireError(`internal error: ${String(error)}`, {
      code: 'protocol_error',
      phase: this.phaseNow(),
      cause: error,
      partial: this.received.events(),
    });
  }
}
