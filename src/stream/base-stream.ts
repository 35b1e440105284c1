/**
 * The stream engine shared by completions and chat: the attempt loop (dialect,
 * request, retries and resume), how a stream ends (usage, the final event, errors
 * with every token received, failed-request capture). What the attempts write into
 * (decoders, socket callbacks, clocks) is StreamSink, its superclass. Subclasses say
 * how to build a request and what events a decoded token becomes.
 */
import type { CapturedAttempt } from '../diagnostics/capture.js';
import type { Dialect, WireRequest } from '../dialects/dialect.js';
import { forgetTemplate } from '../dialects/fast-chunk-learn.js';
import { dialectByName } from '../dialects/index.js';
import { AbortError, describeRequest, TokenwireError } from '../errors.js';
import type { FleetEndpoint } from '../fleet/fleet.js';
import { decideRetry, type RetryDecision } from '../retry/policy.js';
import { sendRequest } from '../transport/dispatch.js';
import { withSchemeHint } from '../transport/scheme-probe.js';
import type { Usage } from '../types.js';
import { type Attempt, newAttempt, noOutputError, scrubError } from './attempt.js';
import { AttemptDriver } from './attempt-driver.js';
import { BackoffSleep } from './backoff-sleep.js';
import type { StreamContext } from './context.js';
import { nothingLeftToGenerate, withNote } from './continuation.js';
import { detectionFailure } from './detection-failure.js';
import { detectionTimeout, waitForDialect } from './dialect-wait.js';
import { captureFailure } from './failure-capture.js';
import { HedgeRound } from './hedge.js';
import {
  reportHedge,
  reportHedgeRacerFailed,
  reportLengthReached,
  reportNoFinishReason,
  reportRetry,
  reportUsageMismatch,
} from './reports.js';
import { type RouteHints, StreamRoute } from './stream-route.js';
import { StreamSink } from './stream-sink.js';
import { believedUsage, callUsage } from './usage.js';

const now = (): number => performance.now();

/**
 * Longest single wait for an endpoint to become free (re-checked after it); a call
 * without a total deadline waits at most `retry.maxDelayMs` in all: never without bound.
 */
const MAX_ENDPOINT_WAIT_MS = 1_000;

export abstract class BaseStream<E, R> extends StreamSink<E, R> implements RouteHints {
  /** Where each attempt goes (the client's fleet; a fleet of one for a single baseUrl). */
  private readonly route: StreamRoute;
  /** The model the current attempt's endpoint is configured with, if any. */
  protected routeModel: string | undefined;
  /** An explicit session / affinity key of the request (RouteHints). */
  readonly affinityKey: string | undefined;
  /** Stops this stream's wait for a dialect detection (set only while it waits). */
  private stopWaiting: ((error: TokenwireError) => void) | undefined;
  /** The wait between attempts, made when the stream first waits. */
  private backoff: BackoffSleep | undefined;
  private readonly capturedAttempts: CapturedAttempt[] = [];
  /** The request's `maxTokens`, if any. */
  protected readonly maxTokens: number | undefined;
  /** The hedge race of the attempt in flight, when it may be hedged (hedge.ts). */
  private round: HedgeRound | undefined;
  /** Hedge requests sent (they do not use up retry.maxAttempts). */
  private hedges = 0;

  /** Builds the next attempt's request; `resume` is true when continuing after received tokens. */
  protected abstract buildRequest(dialect: Dialect, resume: boolean): WireRequest | undefined;
  /** Whether the received tokens allow an exact (or documented approximate) continuation. */
  protected abstract canResume(dialect: Dialect): boolean;
  /** The final event, and how to build the `final()` result (only built when asked for). */
  protected abstract complete(usage: Usage): { done: E; result: () => R };
  /** Prefix keys of the prompt for cache-aware routing (RouteHints; asked once, only by fleets of several). */
  abstract prefixKeys(): number[] | undefined;
  /** Prefix keys of the prompt and the tokens generated so far (RouteHints; asked at an attempt's end). */
  abstract learnedKeys(): number[] | undefined;

  /**
   * Before a continuation is built (after `failure` broke the stream): the error to end the
   * stream with instead when it cannot continue exactly (held-text.ts), else undefined.
   */
  protected async beforeContinuation(
    _endpoint: FleetEndpoint,
    _dialect: Dialect,
    _failure: TokenwireError,
  ): Promise<TokenwireError | undefined> {
    return undefined;
  }

  /** Before a stream that ended well is completed: the error to end it with instead, else undefined. */
  protected async beforeSuccess(
    _attempt: Attempt,
    _endpoint: FleetEndpoint,
    _dialect: Dialect,
  ): Promise<TokenwireError | undefined> {
    return undefined;
  }

  /**
   * @param expectedTokens the request's `maxTokens` (sizes the token store), if any
   * @param affinityKey the request's `session` / `affinityKey`, if any
   */
  constructor(
    ctx: StreamContext,
    signal: AbortSignal | undefined,
    expectedTokens: number | undefined,
    affinityKey?: string,
  ) {
    super(ctx, signal, expectedTokens);
    this.affinityKey = affinityKey;
    this.route = new StreamRoute(ctx.fleet, this);
    this.maxTokens = expectedTokens;
    ctx.liveStreams.add(this);
    // Start at once: connecting overlaps with whatever the caller does before iterating.
    queueMicrotask(() => {
      this.run().catch((error) => this.fail(this.asTokenwireError(error)));
    });
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
    let resume = false;
    let detections = 0;
    let lastFailure: TokenwireError | undefined;
    for (;;) {
      const lease = this.route.take(this.stats.endpoints) ?? (await this.waitForEndpoint());
      if (lease === undefined || this.finished) return;
      const endpoint = lease.endpoint;
      let dialect = endpoint.knownDialect;
      if (dialect === undefined) {
        try {
          dialect = await waitForDialect(endpoint, this.ctx, this.deadline, (stop) => {
            this.stopWaiting = stop;
          });
        } catch (caught) {
          if (this.finished) return;
          // This stream's own clock ran out while the detection went on: its clock's error.
          const error = now() >= this.deadline ? detectionTimeout(endpoint, this.ctx) : caught;
          // The endpoint could not be asked what it is: judged like a failed attempt. The
          // detection's error is shared by every stream waiting for it: copied, with the
          // endpoint this stream was called for named.
          const failure = this.detectionFailure(this.asTokenwireError(error), endpoint);
          this.route.failPending(failure);
          const decision = this.retryDecision(
            failure,
            ++detections,
            this.dialect !== undefined && this.canResume(this.dialect),
            this.route.elsewhere(),
            0,
          );
          this.observer?.detectionFailed(
            failure,
            detections,
            endpoint.rootUrl,
            decision.retry ? decision.delayMs : undefined,
          );
          if (!decision.retry) {
            await this.failWithCapture(withNote(failure, decision), decision.reason);
            return;
          }
          reportRetry(
            this.ctx.log,
            'retry',
            `dialect detection: ${decision.reason}`,
            failure,
            detections,
            0,
            decision,
          );
          await this.sleep(decision.delayMs);
          if (this.finished) return;
          continue;
        }
        if (this.finished) return;
      }
      this.dialect = dialect;
      this.routeModel = endpoint.options.model;
      const refusal =
        resume && lastFailure !== undefined
          ? await this.beforeContinuation(endpoint, dialect, lastFailure)
          : undefined;
      if (refusal !== undefined || this.finished) {
        // No attempt was sent: the endpoint is told nothing about its health.
        this.route.abandon(refusal?.code);
        if (refusal !== undefined && !this.finished) await this.failWithCapture(refusal, 'not resumed');
        return;
      }
      const wire = this.buildRequest(dialect, resume);
      if (wire === undefined) {
        throw new TokenwireError('internal: no request could be built', {
          code: 'unsupported',
          phase: 'setup',
        });
      }
      const attempt = await this.outcomeOf(this.startAttempt(wire, endpoint, dialect, false));
      this.round = undefined;
      this.route.release(attempt, attempt.failure);
      if (this.finished) return;
      this.checkLiveIds(attempt);
      const failure = attempt.failure;
      if (failure === undefined) {
        if (attempt.firstTokenAt === undefined && attempt.finishReason === undefined) {
          // "Complete" with nothing for choice 0 at all: no generation to report as a success.
          await this.failWithCapture(noOutputError(attempt, this.received.events()), 'no output');
          return;
        }
        const failed = await this.beforeSuccess(attempt, endpoint, dialect);
        if (this.finished) return;
        if (failed !== undefined) await this.failWithCapture(failed, 'not completed');
        else this.succeed(attempt);
        return;
      }
      lastFailure = failure;
      this.tokensBeforeAttempt = this.received.length;
      if (this.lengthReached(failure, attempt.dialect ?? dialect)) {
        this.succeedAtLength(attempt, failure);
        return;
      }
      const decision = this.retryDecision(
        failure,
        // A hedge's second request is not a retry: it does not use up retry.maxAttempts.
        this.stats.attempts - this.hedges,
        this.canResume(attempt.dialect ?? dialect),
        this.route.elsewhere(),
        attempt.tokens,
      );
      if (attempt.capture) {
        attempt.capture.retry = {
          reason: decision.reason,
          delayMs: decision.delayMs,
          resume: decision.resume,
        };
      }
      if (!decision.retry) {
        await this.failWithCapture(withNote(failure, decision), decision.reason);
        return;
      }
      const event = decision.resume ? 'resume' : 'retry';
      reportRetry(
        this.ctx.log,
        event,
        decision.reason,
        failure,
        this.stats.attempts,
        this.received.length,
        decision,
      );
      if (decision.resume) this.stats.resumes++;
      this.observer?.retry(decision.resume, failure, this.received.length, decision.delayMs);
      resume = resume || decision.resume;
      await this.sleep(decision.delayMs);
      if (this.finished) return;
    }
  }

  /**
   * No endpoint can take the call now (all ejected, cooling, or at their maxInFlight):
   * waits until one can, within the total deadline, then fails with the last real error.
   * Undefined when the stream ended instead.
   */
  private async waitForEndpoint(): Promise<ReturnType<StreamRoute['take']>> {
    const limit = Number.isFinite(this.deadline) ? this.deadline : now() + this.ctx.options.retry.maxDelayMs;
    for (let waits = 0; ; waits++) {
      if (this.finished) return undefined;
      const lease = this.route.take(this.stats.endpoints);
      if (lease !== undefined) return lease;
      const t = now();
      if (t >= limit) {
        await this.failWithCapture(
          this.route.unavailableError(),
          'no endpoint could take the request in time',
        );
        return undefined;
      }
      if (waits === 0) {
        this.ctx.log({
          level: 'warn',
          event: 'no_endpoint',
          note: 'every endpoint is ejected, cooling or full: waiting',
        });
      }
      const wakeAt = Math.min(this.route.nextAvailableAt(), limit, t + MAX_ENDPOINT_WAIT_MS);
      await this.sleep(Math.max(1, wakeAt - t), this.route.changed());
    }
  }

  /**
   * A failed dialect detection as this stream's error (see detectionFailure), with the
   * request this stream would have sent, built with the generic dialect.
   */
  private detectionFailure(error: TokenwireError, endpoint: FleetEndpoint): TokenwireError {
    let wire: WireRequest | undefined;
    try {
      wire = this.buildRequest(dialectByName('openai')!, false);
    } catch {
      wire = undefined;
    }
    return detectionFailure(error, wire, endpoint, this.ctx, this.capturedAttempts);
  }

  /** A resumable break after every token maxTokens allows (see nothingLeftToGenerate). */
  private lengthReached(failure: TokenwireError, dialect: Dialect): boolean {
    const resumable = this.ctx.options.retry.resume && this.canResume(dialect);
    return nothingLeftToGenerate(failure, this.maxTokens, this.received.length, resumable);
  }

  /** Ends the stream complete with `length` after a break that came after the last allowed token. */
  private succeedAtLength(attempt: Attempt, failure: TokenwireError): void {
    reportLengthReached(this.ctx.log, attempt, failure, this.received.length);
    attempt.finishReason = 'length';
    attempt.complete = true;
    attempt.usage = undefined;
    this.succeed(attempt);
  }

  /** Whether (and how soon, and by resuming or not) to try again after `failure`. */
  private retryDecision(
    failure: TokenwireError,
    attempts: number,
    canResume: boolean,
    elsewhere: boolean,
    attemptTokens: number,
  ): RetryDecision {
    return decideRetry({
      error: failure,
      attempts,
      tokensReceived: this.received.length,
      attemptTokens,
      canResume,
      elsewhere,
      policy: this.ctx.options.retry,
      nowMs: now(),
      deadlineMs: this.deadline,
      wallClockMs: Date.now(),
      totalMs: this.ctx.options.timeouts.totalMs,
      random: Math.random,
    });
  }

  /**
   * Sends an attempt to `endpoint`: the current one, or (`hedge`) the rival of the current
   * one in a hedge race (hedge.ts).
   */
  private startAttempt(
    wire: WireRequest,
    endpoint: FleetEndpoint,
    dialect: Dialect,
    hedge: boolean,
  ): Attempt {
    const { options } = this.ctx;
    const body = JSON.stringify(wire.body);
    const url = endpoint.url(wire.path);
    const observer = this.observer;
    const extra = this.ctx.requestHeaders;
    let base = extra === undefined ? endpoint.streamHeaders : endpoint.streamHeadersWith(extra);
    // The dialect's own (a session routing header); a header of the caller's of that name wins.
    if (wire.headers !== undefined) base = { ...wire.headers, ...base };
    const headers = observer === undefined ? base : observer.headers(base);
    this.stats.attempts++;
    // A new response: its first chunk names its id and model (read by the full path).
    if (this.decoderState !== undefined) forgetTemplate(this.decoderState);
    if (hedge) {
      this.rivalResponsePending = true;
      observer?.hedge(this.stats.attempts, url, dialect.name, this.attempt?.url);
    } else {
      this.responsePending = true;
      observer?.attempt(this.stats.attempts, url, dialect.name);
    }
    const attempt = newAttempt({
      number: this.stats.attempts,
      wire,
      url,
      body,
      headers,
      startedAt: now(),
      capture: options.failedRequestsDir !== false,
    });
    attempt.dialect = dialect;
    if (hedge) this.rival = attempt;
    else this.attempt = attempt;
    this.route.attach(attempt, hedge, this.stats.endpoints);
    if (attempt.capture) this.capturedAttempts.push(attempt.capture);
    // Debug records are built only when debug is on: they cost per request.
    if (this.ctx.options.debug)
      this.ctx.log({
        level: 'debug',
        event: 'request',
        method: 'POST',
        url: url.href,
        attempt: attempt.number,
        dialect: dialect.name,
        hedge: hedge || undefined,
        payloadBytes: Buffer.byteLength(body),
      });
    attempt.handle = sendRequest(
      this.ctx.dispatcher,
      { url, method: 'POST', headers, body, headersTimeoutMs: 0 },
      this.newDriver(attempt),
    );
    this.armWatchdog();
    return attempt;
  }

  /**
   * The socket and parser callbacks of an attempt. A subclass that also passes the
   * accepted events on (the fetch adapter's relay) gives its own driver.
   */
  protected newDriver(attempt: Attempt): AttemptDriver {
    return new AttemptDriver(this, attempt);
  }

  /** Waits `ms` (or until `wake` resolves, if given); interrupt() and cleanup() end it at once. */
  private sleep(ms: number, wake?: Promise<void>): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    this.backoff ??= new BackoffSleep();
    return this.backoff.sleep(ms, wake);
  }

  // ---- hedging (HedgeHost: see hedge.ts) ------------------------------------------

  /** How `first` ends: when it may be hedged, the outcome of its hedge race. */
  private outcomeOf(first: Attempt): Promise<Attempt> {
    const afterMs = this.ctx.options.hedgeAfterMs;
    if (afterMs === undefined || this.received.length > 0 || this.ctx.fleet.size < 2) {
      return new Promise<Attempt>((resolve) => {
        first.settle = () => resolve(first);
        if (first.settled) resolve(first);
      });
    }
    this.round = new HedgeRound(this, first, afterMs);
    return this.round.outcome;
  }

  /** @internal */
  isFinished(): boolean {
    return this.finished;
  }

  /** @internal */
  async startHedge(round: HedgeRound, first: Attempt): Promise<void> {
    const lease = this.route.takeHedge(first);
    if (lease === undefined) {
      if (this.ctx.options.debug) {
        this.ctx.log({
          level: 'debug',
          event: 'hedge_skipped',
          url: first.url.href,
          note: 'no other endpoint free',
        });
      }
      return;
    }
    const endpoint = lease.endpoint;
    let dialect = endpoint.knownDialect;
    if (dialect === undefined) {
      try {
        dialect = await endpoint.dialect(this.ctx.detect);
      } catch (error) {
        // Its server could not be asked what it is: judged like a failed attempt there.
        if (round.wanted()) this.route.failPending(this.asTokenwireError(error), true);
        else this.route.abandonHedge();
        return;
      }
      if (!round.wanted()) {
        this.route.abandonHedge();
        return;
      }
    }
    const model = this.routeModel;
    this.routeModel = endpoint.options.model;
    const wire = this.buildRequest(dialect, false);
    this.routeModel = model;
    if (wire === undefined) {
      this.route.abandonHedge();
      return;
    }
    this.hedges++;
    reportHedge(this.ctx.log, first, endpoint.url(wire.path), this.ctx.options.hedgeAfterMs!);
    round.sent(this.startAttempt(wire, endpoint, dialect, true));
  }

  /** @internal */
  dropPendingHedge(): void {
    this.route.abandonHedge();
  }

  /** @internal */
  crown(winner: Attempt, loser: Attempt | undefined): void {
    this.endRace(winner);
    if (loser !== undefined) this.observer?.hedgeDecided(winner.url, loser.url);
  }

  /** @internal */
  cancelLoser(loser: Attempt, error: AbortError): void {
    // Its request is aborted (the server sees the connection close); what it ends with says
    // nothing about its endpoint.
    this.failAttempt(loser, error);
    this.route.cancel(loser, 'hedge_lost');
    this.armWatchdog();
  }

  /** @internal */
  racerFailed(failed: Attempt, survivor: Attempt): void {
    this.route.release(failed, failed.failure);
    this.endRace(survivor);
    reportHedgeRacerFailed(this.ctx.log, failed, survivor);
    this.armWatchdog();
  }

  protected override firstOutputInRace(attempt: Attempt): void {
    this.round?.won(attempt);
  }

  // ---- how the stream ends ------------------------------------------------------

  private succeed(attempt: Attempt): void {
    if (attempt.finishReason === undefined) {
      // [DONE] (or native stop) after output, but no finish reason: 'stop' is our word, not the server's.
      reportNoFinishReason(this.ctx.log, attempt);
    }
    this.finishReason = attempt.finishReason ?? (attempt.complete ? 'stop' : undefined);
    const usage = this.computeUsage(attempt);
    this.stats.durationMs = now() - this.startedAt;
    const { done, result } = this.complete(usage);
    if (this.ctx.options.debug)
      this.ctx.log({ level: 'debug', event: 'summary', url: attempt.url.href, ...this.stats });
    this.cleanup();
    this.observer?.succeeded(this.finishReason ?? 'stop', usage, this.stats, this.received);
    this.endWith(done, result);
  }

  private computeUsage(attempt: Attempt): Usage {
    if (attempt.usage?.completionTokens !== undefined && attempt.ids > 0) {
      this.checkIdsAgainst(attempt, attempt.usage.completionTokens);
    }
    const reported = believedUsage(attempt.usage, attempt.ids, this.expectedPromptTokens(), (mismatch) => {
      reportUsageMismatch(this.ctx.log, attempt, mismatch);
      if (mismatch.field === 'prompt_tokens' && mismatch.reported < mismatch.expected) {
        // It read fewer prompt tokens than were sent: it cut the prompt (llama.cpp before 2026).
        this.markContextTruncated(
          attempt,
          `the server counted ${mismatch.reported} prompt tokens of the ${mismatch.expected} sent`,
        );
      }
    });
    return callUsage({
      reported,
      tokensBeforeAttempt: this.tokensBeforeAttempt,
      resumed: attempt.number > 1,
      promptTokens: this.promptTokenCount(),
      tokensReceived: this.received.length,
      endIds: this.completionIdList?.length,
    });
  }

  /** The prompt tokens the last attempt sent, when known as ids (not the server's word). */
  protected expectedPromptTokens(): number | undefined {
    return undefined;
  }

  /** The prompt's token count when known without the server (id prompts). */
  protected promptTokenCount(): number | undefined {
    return this.promptIdList?.length;
  }

  /** Fails the stream after saving its fixture (see failure-capture.ts). */
  private async failWithCapture(lastError: TokenwireError, reason: string): Promise<void> {
    const failure = await withSchemeHint(lastError);
    failure.partial = this.received.events();
    await captureFailure(this.ctx, failure, reason, {
      kind: this.kind,
      dialect: this.dialect?.name ?? 'unknown',
      tokensReceived: this.received.length,
      attempts: this.capturedAttempts,
    });
    this.fail(failure);
  }

  private fail(failure: TokenwireError): void {
    if (this.finished) return;
    if (failure.partial.length === 0) failure.partial = this.received.events();
    scrubError(failure, this.ctx.secrets);
    this.stats.durationMs = now() - this.startedAt;
    this.cleanup(failure.code);
    this.observer?.failed(failure, this.stats);
    this.failWith(failure);
  }

  /** Stops whatever is in flight (request or backoff sleep) with `error`. */
  private interrupt(error: TokenwireError): void {
    this.stopWaiting?.(error);
    // A hedge race decides nothing more; both of its requests end.
    this.round?.stop();
    const rival = this.rival;
    if (rival !== undefined && !rival.settled) this.failAttempt(rival, error);
    const attempt = this.attempt;
    if (attempt && !attempt.settled) {
      this.failAttempt(attempt, error);
      this.fail(error);
      return;
    }
    this.backoff?.wakeNow();
    this.fail(error);
  }

  /** The stream ended (`why`: its error's code, when it failed). */
  private cleanup(why?: string): void {
    this.ctx.liveStreams.delete(this);
    // The endpoint is told how its attempt ended even when the stream ends from outside (abort).
    const attempt = this.attempt;
    if (attempt !== undefined) this.route.release(attempt, attempt.failure);
    const rival = this.rival;
    this.rival = undefined;
    if (rival !== undefined) this.route.release(rival, rival.failure);
    this.round?.stop();
    // A lease whose attempt was never sent (the stream waited for its server detection).
    this.route.abandon(why);
    this.watchdog.clear();
    this.backoff?.wakeNow();
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
