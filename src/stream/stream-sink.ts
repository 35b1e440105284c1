/**
 * What a stream's attempts write into: the decoders' DecodeSink and the socket
 * callbacks' AttemptHost are this object's methods, with the state they keep (the
 * attempt in flight, tokens received, stats) and the clocks that watch it. The
 * attempt loop that starts attempts and decides what follows them is BaseStream,
 * its subclass; what tokens become is CompletionStream's and ChatStream's.
 *
 * Methods rather than closures: a stream is a few objects, which counts at 10,000
 * streams (a host object of closures cost ~0.8 KB per held stream). The members
 * only the engine uses are marked internal (left out of the published typings).
 */

import { scrubbedPreview } from '../diagnostics/redact.js';
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
import { PARSE_ERROR_PREVIEW_CHARS } from '../dialects/openai-shapes.js';
import type { TokenwireError } from '../errors.js';
import type { SseEvent } from '../sse/types.js';
import type { StreamStats, TokenEvent } from '../types.js';
import { type Attempt, inStreamError, newStats, parseErrorsError, timeoutError } from './attempt.js';
import { expiredClock, nextDeadline, Watchdog } from './clocks.js';
import { ConsumerStream } from './consumer-stream.js';
import type { StreamContext } from './context.js';
import { isTokenId, tokenIdList, toTokenId } from './ids.js';
import type { StreamObserver } from './observer.js';
import { ReceivedTokens } from './received.js';
import {
  firstBadId,
  reportBadId,
  reportContextTruncated,
  reportIdsIncomplete,
  reportIdsMissing,
  reportModelChanged,
  reportParseError,
  reportServerError,
  reportTokenAfterFinish,
  shownWireError,
} from './reports.js';
import { CallResponse } from './response-info.js';

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

export abstract class StreamSink<E, R> extends ConsumerStream<E, R> implements DecodeSink {
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
  /**
   * The other attempt of a hedge race (hedge.ts), while neither has produced output: the
   * one whose bytes arrive becomes `attempt` while they are processed (enterRacer).
   */
  protected rival: Attempt | undefined;
  protected finishReason: string | undefined;
  protected completionIdList: number[] | undefined;
  protected promptIdList: number[] | undefined;
  /** A bad id was reported already (once per stream is enough to say so). */
  private badIdReported = false;
  /** Tokens received before the current attempt began. */
  protected tokensBeforeAttempt = 0;
  /** @internal When the call started (`performance.now()`). */
  readonly startedAt = now();
  /** When the total clock runs out (`performance.now()` time; Infinity without one). */
  protected readonly deadline: number;
  /** The one timer of the stream's clocks. */
  protected readonly watchdog = new Watchdog(this);
  /** @internal Who watches this call (telemetry), when anyone does: see observe(). */
  observer: StreamObserver | undefined = undefined;
  /** The current attempt's response id and model are not read yet (DecodeSink member). */
  responsePending = false;
  /** The same for the rival of a hedge race (swapped with it by enterRacer). */
  protected rivalResponsePending = false;
  /** @internal The call's response id and model (response-info.ts). */
  readonly callResponse = new CallResponse();

  protected abstract readonly kind: 'completion' | 'chat';
  protected abstract decode(dialect: Dialect, event: SseEvent, wire: WireRequest): void;
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

  /**
   * @internal Sets the call's observer. The stream starts in a microtask, so an observer
   * set right after construction sees the whole call.
   */
  observe(observer: StreamObserver): void {
    this.observer = observer;
  }

  // ---- AttemptHost ------------------------------------------------------------------

  /** @internal */
  currentAttempt(): Attempt | undefined {
    return this.attempt;
  }

  /**
   * @internal Bytes (or the head, or the end) of `attempt` arrived and it is the rival of a
   * hedge race: it becomes the attempt the decoders write into (the other, the rival). False
   * when it is not the rival (an ended attempt: its callbacks are ignored).
   */
  enterRacer(attempt: Attempt): boolean {
    if (attempt !== this.rival) return false;
    this.rival = this.attempt;
    this.attempt = attempt;
    this.dialect = attempt.dialect;
    // Each racer's response id and model are read from its own first chunk.
    const pending = this.responsePending;
    this.responsePending = this.rivalResponsePending;
    this.rivalResponsePending = pending;
    return true;
  }

  /** `attempt` (the current one or the rival) is the only attempt from now on: the race is over. */
  protected endRace(attempt: Attempt): void {
    if (attempt !== this.attempt) this.enterRacer(attempt);
    this.rival = undefined;
    // The call's response is the survivor's (the other's first chunk may have been read last).
    this.callResponse.merge(attempt, false);
    this.observer?.response(this.callResponse);
  }

  /** The first output of `attempt` while it races a rival (hedge.ts): it wins. */
  protected firstOutputInRace(_attempt: Attempt): void {}

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
    if (attempt.finishReason !== undefined && attempt.tokensAfterFinish++ === 0) {
      reportTokenAfterFinish(this.ctx.log, attempt);
    }
    attempt.tokens++;
    if (hasId) attempt.ids++;
    this.stats.tokens++;
    this.received.record(event.id, event.text, event.logprob);
  }

  /**
   * Output arrived (a token, or a chat reasoning or tool-call delta): the first one of an
   * attempt stops its first-token clock and starts the idle one; each resets the idle clock
   * (to the arrival of the chunk that carried it: no clock read per token).
   */
  protected markActivity(): Attempt {
    const attempt = this.attempt!;
    attempt.lastDataAt = attempt.lastChunkAt;
    if (attempt.firstTokenAt === undefined) {
      const t = now();
      attempt.firstTokenAt = t;
      if (this.rival !== undefined) this.firstOutputInRace(attempt);
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

  /**
   * A token id from the server as the stream keeps it (see ids.ts): anything that is not
   * one is no id, which makes the stream's ids incomplete (never resumed from) and is
   * reported once.
   */
  protected checkedId(value: unknown): number | undefined {
    if (isTokenId(value)) return value;
    const id = toTokenId(value);
    if (id === undefined) this.badId(value, 'a generated token', true);
    return id;
  }

  private badId(value: unknown, what: string, incomplete: boolean): void {
    if (incomplete) this.stats.idsIncomplete = true;
    if (this.badIdReported) return;
    this.badIdReported = true;
    reportBadId(this.ctx.log, this.attempt?.url.href, value, what, this.ctx.secrets);
  }

  promptIds(ids: readonly number[]): void {
    const valid = tokenIdList(ids);
    // An echo with a bad entry says nothing reliable about the prompt: not used.
    if (valid === undefined) this.badId(firstBadId(ids), 'the prompt', false);
    else this.acceptPromptIds(valid);
  }

  /** The server's echo of the prompt's ids (all valid ids). */
  protected acceptPromptIds(ids: readonly number[]): void {
    if (this.promptIdList === undefined) this.promptIdList = [...ids];
  }

  completionIds(ids: readonly number[]): void {
    const valid = tokenIdList(ids);
    if (valid === undefined) {
      this.badId(firstBadId(ids), 'the completion', true);
      this.completionIdList = undefined;
    } else this.completionIdList = [...valid];
  }

  finish(reason: string): void {
    const attempt = this.attempt!;
    // The client ended the attempt itself (a stop string across a resume) earlier in this event.
    if (attempt.complete) return;
    attempt.finishReason = reason;
    attempt.parseErrorsInRow = 0;
  }

  usage(usage: WireUsage): void {
    this.attempt!.usage = usage;
  }

  response(id: string | undefined, model: string | undefined): void {
    const attempt = this.attempt!;
    this.responsePending = false;
    attempt.responseId ??= id;
    attempt.model ??= model;
    const change = this.callResponse.merge(attempt, this.tokensBeforeAttempt > 0);
    if (change !== undefined) reportModelChanged(this.ctx.log, attempt, change, this.received.length);
    this.observer?.response(this.callResponse);
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
    const shown = shownWireError(error, this.ctx.secrets);
    reportServerError(this.ctx.log, attempt, shown);
    this.failAttempt(attempt, inStreamError(attempt, shown, this.received.events()));
  }

  contextTruncated(detail: string): void {
    this.markContextTruncated(this.attempt!, detail);
  }

  /** Flags the stream as generated without part of its context, reported once per stream. */
  protected markContextTruncated(attempt: Attempt, detail: string): void {
    if (this.stats.contextTruncated) return;
    this.stats.contextTruncated = true;
    reportContextTruncated(this.ctx.log, attempt, detail);
  }

  parseError(data: string, cause: unknown): void {
    const attempt = this.attempt!;
    const preview = scrubbedPreview(data, PARSE_ERROR_PREVIEW_CHARS, this.ctx.secrets);
    this.stats.parseErrors++;
    attempt.parseErrorsInRow++;
    reportParseError(this.ctx.log, attempt, preview, cause);
    if (attempt.parseErrorsInRow > MAX_CONSECUTIVE_PARSE_ERRORS) {
      this.failAttempt(attempt, parseErrorsError(attempt, preview, cause, this.received.events()));
    }
  }

  reasoning(_text: string, _ids: readonly number[] | undefined): void {}

  toolCall(_delta: ToolCallDelta): void {}

  /** The ids of the done event: the server's list sent at the end, else every id received if each token had one. */
  protected doneTokenIds(): number[] | undefined {
    return this.completionIdList ?? this.received.completeIds();
  }

  // ---- attempt outcomes -----------------------------------------------------------

  /**
   * The server counted `serverCount` tokens for this attempt: more than the ids that came
   * (each token having had one) means some ids never arrived.
   */
  protected checkIdsAgainst(attempt: Attempt, serverCount: number): void {
    if (
      !this.stats.idsIncomplete &&
      this.promisesLiveIds() &&
      attempt.ids === attempt.tokens &&
      serverCount > attempt.ids
    ) {
      this.markIdsIncomplete(serverCount, attempt.ids);
    }
  }

  /** The dialect says this kind of stream brings every token's id live. */
  protected promisesLiveIds(): boolean {
    const dialect = this.dialect;
    if (dialect === undefined) return false;
    return this.kind === 'completion' ? dialect.liveIds : dialect.chatLiveIds;
  }

  /**
   * At the end of an attempt: a dialect that promises live ids delivered tokens without
   * them (a server too old for the id flag ignores it; Together sends `token_id: null`),
   * so the ids are incomplete — an anomaly, never a quiet `id: undefined`.
   */
  protected checkLiveIds(attempt: Attempt): void {
    if (this.stats.idsIncomplete || attempt.ids >= attempt.tokens || !this.promisesLiveIds()) return;
    this.stats.idsIncomplete = true;
    reportIdsMissing(this.ctx.log, this.dialect!, this.kind, attempt);
  }

  /** A sentence from the dialect explaining an HTTP error it recognises (AttemptHost). */
  httpErrorHint(status: number, body: string, wire: WireRequest): string | undefined {
    return this.dialect?.explainHttpError?.(status, body, wire);
  }

  private markIdsIncomplete(serverCount: number, idsReceived: number): void {
    this.stats.idsIncomplete = true;
    reportIdsIncomplete(this.ctx.log, this.attempt?.url.href, serverCount, idsReceived);
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
      capture.raw = attempt.tail?.snapshot(this.ctx.secrets);
    }
    this.settleAttempt(attempt);
    attempt.handle?.abort(failure);
  }

  // ---- clocks ---------------------------------------------------------------------

  /**
   * The watchdog fires by the running attempt's next deadline (not at all without one);
   * in a hedge race, by the earlier of the two racers'.
   */
  protected armWatchdog(): void {
    const attempt = this.attempt;
    const rival = this.rival;
    const timeouts = this.ctx.options.timeouts;
    let deadline = Number.POSITIVE_INFINITY;
    let live = false;
    if (attempt !== undefined && !attempt.settled) {
      live = true;
      deadline = nextDeadline(attempt, timeouts, this.deadline);
    }
    if (rival !== undefined && !rival.settled) {
      live = true;
      deadline = Math.min(deadline, nextDeadline(rival, timeouts, this.deadline));
    }
    if (live) this.watchdog.arm(deadline, now());
    else this.watchdog.clear();
  }

  /** @internal The watchdog's timer fired: fails the attempt whose clock ran out, or re-arms. */
  checkClocks(): void {
    const attempt = this.attempt;
    const rival = this.rival;
    const t = now();
    const expired = attempt !== undefined && this.checkAttemptClocks(attempt, t);
    const rivalExpired = rival !== undefined && this.checkAttemptClocks(rival, t);
    if (!expired && !rivalExpired) this.armWatchdog();
  }

  /** Ends `attempt` if one of its clocks ran out at `t`; true when one did. */
  private checkAttemptClocks(attempt: Attempt, t: number): boolean {
    if (attempt.settled) return false;
    const { timeouts } = this.ctx.options;
    const expired = expiredClock(attempt, timeouts, this.deadline, t);
    if (expired === undefined) return false;
    if (attempt.finishReason !== undefined) {
      // The server said why generation ended and then went quiet (no usage chunk, no
      // [DONE]): everything generated is here, so the stream is complete, not failed.
      if (attempt !== this.attempt) this.enterRacer(attempt);
      this.ctx.log({ level: 'warn', event: 'lost_after_finish', url: attempt.url.href, error: expired });
      this.completeEarly();
      return true;
    }
    const tokens = this.received.length;
    const error = timeoutError(attempt, expired, timeouts, this.received.events());
    this.ctx.log({ level: 'warn', event: expired, url: attempt.url.href, tokens });
    this.failAttempt(attempt, error);
    return true;
  }

  protected phaseNow(): 'connect' | 'headers' | 'stream' {
    const attempt = this.attempt;
    if (!attempt || attempt.headersAt === undefined) return 'headers';
    return 'stream';
  }
}
