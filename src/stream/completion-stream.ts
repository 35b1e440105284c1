/**
 * The completions stream: token events with ids, one per id, and resume by
 * continuation (prompt + received ids, remaining max tokens).
 */
import type { Dialect, WireRequest } from '../dialects/dialect.js';
import type { TokenwireError } from '../errors.js';
import type { FleetEndpoint } from '../fleet/fleet.js';
import { idPrefixKeys, textPrefixKeys } from '../fleet/prefix-keys.js';
import type { SseEvent } from '../sse/types.js';
import type {
  CompletionEvent,
  CompletionRequest,
  CompletionResult,
  DoneEvent,
  TokenEvent,
  Usage,
} from '../types.js';
import { type Attempt, promptMismatchError } from './attempt.js';
import { BaseStream } from './base-stream.js';
import type { StreamContext } from './context.js';
import { remainingTokens } from './continuation.js';
import { ResumeStop } from './resume-stop.js';
import { cutHeldText } from './resume-text.js';
import { ResumeStopCheck } from './stop-strings.js';

/**
 * A streaming completion. Iterate it for `token` events and one final `done`
 * event, or `await stream.final()` for everything at once.
 *
 * @example
 * const stream = client.streamCompletion({ prompt: [1, 2, 3], maxTokens: 16 });
 * for await (const ev of stream) {
 *   if (ev.type === 'token') process.stdout.write(ev.text);
 *   else console.log('\n', ev.finishReason, ev.usage);
 * }
 */
export class CompletionStream extends BaseStream<CompletionEvent, CompletionResult> {
  protected readonly kind = 'completion';
  private readonly request: CompletionRequest;
  private readonly model: string | undefined;
  private approximateResume = false;
  /** Made at the first resume (stop strings can only straddle a resume point). */
  private stopCheck: ResumeStopCheck | undefined;
  /** Token events whose text waits for a stop-string decision (after a resume only). */
  private held: TokenEvent[] | undefined;
  /** Index in `received` of the first held token. */
  private heldFrom = 0;
  /** The prompt ids the current attempt sent (undefined for a text prompt). */
  private sentPromptIds: readonly number[] | undefined;
  /** Text held by the server at a break, and stop strings across a resume (resume-stop.ts). */
  private readonly resumeStop: ResumeStop;

  constructor(ctx: StreamContext, request: CompletionRequest, model: string | undefined) {
    super(ctx, request.signal, request.maxTokens, request.session ?? request.affinityKey);
    this.request = request;
    this.model = model;
    if (Array.isArray(request.prompt)) this.promptIdList = request.prompt;
    this.resumeStop = new ResumeStop(this, request.stop, request.extraBody);
  }

  /** @internal The prompt's ids, when known (ResumeStopHost). */
  knownPromptIds(): readonly number[] | undefined {
    return this.promptIdList;
  }

  protected buildRequest(dialect: Dialect, resume: boolean): WireRequest {
    const { request } = this;
    let prompt: number[] | string = request.prompt;
    let maxTokens = request.maxTokens;
    if (resume && this.received.length > 0) {
      if (this.exactResumePossible(dialect)) {
        const ids = this.received.idArray() as number[];
        prompt = [...(this.promptIdList as number[]), ...ids];
      } else {
        // Documented as approximate: re-tokenizing text need not give back the same ids.
        prompt = `${request.prompt as string}${this.received.text()}`;
        if (!this.approximateResume) {
          this.approximateResume = true;
          this.ctx.log({
            level: 'warn',
            event: 'resume_approximate',
            note: 'no prompt ids from the server: continuing from the prompt text plus the received text',
          });
        }
      }
      if (maxTokens !== undefined) maxTokens = remainingTokens(maxTokens, this.received.length);
      const stopCheck = (this.stopCheck ??= new ResumeStopCheck(request.stop));
      // Text not delivered yet (held here, or held by the server and recovered) is generated
      // text: a stop string may begin in it, and it goes out only once that is decided.
      const heldFrom = this.held === undefined ? this.received.length : this.heldFrom;
      const delivered = this.received.textTail(stopCheck.tailLength, heldFrom);
      const undelivered = this.received.textFrom(heldFrom) + this.resumeStop.pending;
      if (!stopCheck.arm(delivered, undelivered)) this.releaseHeld();
    }
    this.resumeStop.startAttempt(this.received.length);
    this.sentPromptIds = Array.isArray(prompt) ? prompt : undefined;
    const wire = dialect.completionRequest({
      model: request.model ?? this.routeModel ?? this.model,
      prompt,
      maxTokens,
      request,
    });
    if (request.extraBody) Object.assign(wire.body, request.extraBody);
    return wire;
  }

  /** Recovers the text the server held back at the break, or says why the stream is not resumed. */
  protected override beforeContinuation(
    endpoint: FleetEndpoint,
    dialect: Dialect,
    failure: TokenwireError,
  ): Promise<TokenwireError | undefined> {
    return this.resumeStop.recover(
      endpoint,
      dialect,
      failure,
      this.request.model ?? endpoint.options.model ?? this.model,
    );
  }

  /** A stop string found after a resume on a server that holds text back: which token completed it. */
  protected override async beforeSuccess(
    attempt: Attempt,
    endpoint: FleetEndpoint,
    dialect: Dialect,
  ): Promise<TokenwireError | undefined> {
    const model = this.request.model ?? endpoint.options.model ?? this.model;
    const end = await this.resumeStop.settle(endpoint, dialect, attempt, model);
    if (end === undefined || end instanceof Error) return end;
    this.settleStop(end.kept, end.tokens);
    return undefined;
  }

  prefixKeys(): number[] | undefined {
    const { prompt } = this.request;
    return typeof prompt === 'string' ? textPrefixKeys(prompt) : idPrefixKeys(prompt);
  }

  learnedKeys(): number[] | undefined {
    const { prompt } = this.request;
    if (typeof prompt === 'string') return textPrefixKeys(prompt, this.received.text());
    // Ids with a gap (a token the server never sent) are not what the server holds.
    const ids = this.stats.idsIncomplete ? undefined : this.doneTokenIds();
    return ids === undefined ? undefined : idPrefixKeys(prompt, ids);
  }

  protected decode(dialect: Dialect, event: SseEvent, wire: WireRequest): void {
    dialect.decodeCompletion(event, this, wire);
  }

  /**
   * A server that echoes the prompt ids (vLLM `prompt_token_ids`) must echo the ones it was
   * sent: otherwise it truncated the prompt or restarted the generation, and its tokens
   * would not continue (or would repeat) the ones delivered.
   */
  protected override acceptPromptIds(ids: readonly number[]): void {
    const sent = this.sentPromptIds;
    if (sent !== undefined && !sameIds(sent, ids)) {
      const attempt = this.attempt!;
      const error = promptMismatchError(attempt, sent, ids, this.received.events());
      this.ctx.log({ level: 'warn', event: 'prompt_mismatch', url: attempt.url.href, error: error.message });
      this.failAttempt(attempt, error);
      return;
    }
    super.acceptPromptIds(ids);
  }

  protected override expectedPromptTokens(): number | undefined {
    return this.sentPromptIds?.length;
  }

  /**
   * Continuing from prompt ids + received ids gives exactly the uninterrupted run: every id is
   * known, and the server's wire-facts row says it takes a token-id continuation (`resume`;
   * not Fireworks, whose id prompts are not verified).
   */
  private exactResumePossible(dialect: Dialect): boolean {
    if (!dialect.facts.completions.resume) return false;
    if (this.promptIdList === undefined || this.stats.idsIncomplete) return false;
    return this.received.missingIds === 0;
  }

  protected canResume(dialect: Dialect): boolean {
    if (this.exactResumePossible(dialect)) return true;
    return typeof this.request.prompt === 'string';
  }

  tokens(ids: readonly number[] | undefined, text: string, logprobs: readonly number[] | undefined): void {
    // The attempt failed earlier in this same event (a prompt echo that does not match).
    if (this.attempt!.settled) return;
    const verdict = this.stopCheck === undefined ? 'pass' : this.stopCheck.feed(text);
    // The text the server held back at the break comes before the continuation's (the stop
    // check had it already, as undelivered text).
    text = this.resumeStop.withPending(text);
    switch (verdict) {
      case 'pass':
        this.emitTokens(ids, text, logprobs, false);
        return;
      case 'hold':
        this.emitTokens(ids, text, logprobs, true);
        return;
      case 'release':
        this.emitTokens(ids, text, logprobs, true);
        this.releaseHeld();
        return;
      case 'match': {
        // A stop string that began before the resume point ends here: the server would have
        // stopped, so the text from its beginning on is dropped and the stream ends as 'stop'.
        this.emitTokens(ids, text, logprobs, true);
        const check = this.stopCheck!;
        // A server that holds text back may have shown the end of the stop string tokens after
        // the one that completed it: which one is settled (asking the server) before the end.
        const kept = this.resumeStop.atMatch(check.matches, this.dialect!, text, check.undeliveredLength);
        if (kept !== undefined) this.settleStop(kept, this.received.length);
        this.finish('stop');
        this.completeEarly();
        return;
      }
    }
  }

  /**
   * Ends the held text where the stop string begins (`kept` characters of it stay) and drops
   * the tokens from `tokens` on, then hands the held events to the consumer.
   */
  private settleStop(kept: number, tokens: number): void {
    const held = this.held!;
    const from = this.heldFrom;
    const keep = Math.max(0, tokens - from);
    const texts = cutHeldText(
      held.map((event) => event.text),
      kept,
      keep,
    );
    const dropped = held.length - keep;
    held.length = keep;
    for (let i = 0; i < keep; i++) {
      held[i].text = texts[i];
      this.received.setText(from + i, texts[i]);
    }
    if (dropped > 0) {
      this.received.truncate(from + keep);
      this.stats.tokens -= dropped;
    }
    this.releaseHeld();
  }

  /** Hands the held token events to the consumer, in order. */
  private releaseHeld(): void {
    const held = this.held;
    if (held === undefined) return;
    this.held = undefined;
    for (const event of held) this.queue.push(event);
  }

  private emitTokens(
    ids: readonly number[] | undefined,
    text: string,
    logprobs: readonly number[] | undefined,
    hold: boolean,
  ): void {
    if (ids === undefined || ids.length === 0) {
      const event: TokenEvent = { type: 'token', id: undefined, text };
      if (logprobs?.[0] !== undefined) event.logprob = logprobs[0];
      this.deliver(event, false, hold);
      return;
    }
    const last = ids.length - 1;
    for (let i = 0; i <= last; i++) {
      // Several ids in one chunk: one event each, the chunk's text on the last one.
      const id = this.checkedId(ids[i]);
      const event: TokenEvent = { type: 'token', id, text: i === last ? text : '' };
      if (logprobs?.[i] !== undefined) event.logprob = logprobs[i];
      this.deliver(event, id !== undefined, hold);
    }
  }

  private deliver(event: TokenEvent, hasId: boolean, hold: boolean): void {
    if (hold && this.held === undefined) {
      this.held = [];
      this.heldFrom = this.received.length;
    }
    this.deliverToken(event, hasId);
    if (hold) this.held!.push(event);
    else this.queue.push(event);
  }

  protected complete(usage: Usage): { done: DoneEvent; result: () => CompletionResult } {
    // The stream ended with text still undecided: no stop string completed, so it is output.
    this.releaseHeld();
    if (this.resumeStop.pending !== '' && this.received.length > 0) {
      // Recovered held text, and the continuation ended without a token to carry it.
      const last = this.received.length - 1;
      this.received.setText(last, this.resumeStop.withPending(this.received.lastText() ?? ''));
    }
    const { received } = this;
    const tokenIds = this.doneTokenIds();
    const finishReason = this.finishReason ?? 'stop';
    const { id: responseId, model } = this.callResponse;
    const done: DoneEvent = {
      type: 'done',
      finishReason,
      usage,
      stats: this.stats,
      tokenIds,
      responseId,
      model,
    };
    const stats = this.stats;
    // Built only if final() is called: an iterating consumer never pays for it.
    const result = (): CompletionResult => ({
      tokens: received.events(),
      ids: received.idArray(),
      text: received.text(),
      finishReason,
      usage,
      stats,
      responseId,
      model,
    });
    return { done, result };
  }
}

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
