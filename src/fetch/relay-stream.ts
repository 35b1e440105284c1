/**
 * The fetch adapter's stream: the engine (BaseStream — clocks, end-of-stream truth,
 * retries, resume, failure capture) run on a caller's own request body, whose
 * accepted events are passed on, re-framed as SSE, to the SDK that made the request.
 * What the engine rejects (an in-stream error, an unparseable event, anything after
 * `[DONE]`) is not passed on; a failure ends the relayed body with the engine's error.
 */
import type { Dialect, WireRequest, WireUsage } from '../dialects/dialect.js';
import type { TokenwireError } from '../errors.js';
import type { FleetEndpoint } from '../fleet/fleet.js';
import type { SseEvent } from '../sse/types.js';
import type { Attempt } from '../stream/attempt.js';
import { AttemptDriver } from '../stream/attempt-driver.js';
import { BaseStream } from '../stream/base-stream.js';
import type { StreamContext } from '../stream/context.js';
import { holdbackModel } from '../stream/held-text.js';
import { notResumed } from '../stream/resume-text.js';
import { stopList } from '../stream/stop-strings.js';
import { callUsage } from '../stream/usage.js';
import type { TokenEvent, Usage } from '../types.js';
import { DONE_EVENT, SseWriter } from './sse-writer.js';

/** What a relayed request is: the caller's body and what the engine needs to know of it. */
export interface RelayPlan {
  kind: 'completion' | 'chat';
  /** The request URL's path and query under the server root (`/v1/completions`). */
  path: string;
  /** The caller's JSON body (never changed; a resume sends a changed copy). */
  body: Record<string, unknown>;
  signal: AbortSignal | undefined;
  /** The prompt, when it is an array of token ids (completions only). */
  promptIds: number[] | undefined;
  /** The body's `max_tokens`, when set. */
  maxTokens: number | undefined;
}

const DONE_BYTES = Buffer.from(DONE_EVENT);

/**
 * A relayed stream: iterate it for the SSE bytes to hand to the SDK (one array per
 * socket read that carried accepted events, then `data: [DONE]`), or for its error.
 */
export class RelayStream extends BaseStream<Uint8Array, undefined> {
  protected readonly kind: 'completion' | 'chat';
  /** @internal What the accepted events become. */
  readonly writer = new SseWriter();
  /** @internal Set when the event being decoded carried usage (rewritten after a resume). */
  usageInEvent = false;
  private readonly plan: RelayPlan;
  /** The first attempt's body: the caller's, with the fields that ask for ids where resume needs them. */
  private firstBody: Record<string, unknown> | undefined;
  /** One token record reused for every token (the engine copies its fields). */
  private readonly scratch: TokenEvent = { type: 'token', id: undefined, text: '' };

  constructor(ctx: StreamContext, plan: RelayPlan) {
    super(ctx, plan.signal, plan.maxTokens);
    this.plan = plan;
    this.kind = plan.kind;
    this.promptIdList = plan.promptIds;
  }

  /** The fetch's fleet is one endpoint: no routing by prompt prefix. */
  prefixKeys(): number[] | undefined {
    return undefined;
  }

  /** Nothing to learn: no prefix keys were made (see prefixKeys). */
  learnedKeys(): number[] | undefined {
    return undefined;
  }

  /** The response head of the attempt in flight (its status and headers), if it arrived. */
  responseHead(): { status: number; headers: Record<string, string> } | undefined {
    const attempt = this.attempt;
    if (attempt?.status === undefined || attempt.headers === undefined) return undefined;
    return { status: attempt.status, headers: attempt.headers };
  }

  protected override newDriver(attempt: Attempt): AttemptDriver {
    return new RelayDriver(this, attempt);
  }

  protected buildRequest(dialect: Dialect, resume: boolean): WireRequest {
    const { plan } = this;
    this.firstBody ??= this.askForIds(dialect);
    if (!resume || this.received.length === 0) return { path: plan.path, body: this.firstBody };
    // Exact continuation: the original prompt ids and every id received, the rest of the budget.
    const body: Record<string, unknown> = {
      ...this.firstBody,
      prompt: [...(plan.promptIds as number[]), ...(this.received.idArray() as number[])],
    };
    if (plan.maxTokens !== undefined) body.max_tokens = Math.max(1, plan.maxTokens - this.received.length);
    return { path: plan.path, body };
  }

  /**
   * Resume needs every generated id: for an id prompt on a server that streams ids,
   * the fields that ask for them are added (the caller's own values win).
   */
  private askForIds(dialect: Dialect): Record<string, unknown> {
    const { plan } = this;
    // What the server needs to stream ids (the dialect's wire-facts row), e.g. vLLM's return_token_ids.
    const fields = dialect.facts.completions.ids.ask;
    if (plan.kind !== 'completion' || plan.promptIds === undefined || !dialect.liveIds) return plan.body;
    if (!this.ctx.options.retry.resume) return plan.body;
    return { ...fields, ...plan.body };
  }

  /**
   * The relay passes the server's chunks on as they are: it cannot add text a server held
   * back at the break (held-text.ts), nor check a stop string across the resume point. With
   * stop strings that could do either, a break is not resumed: the SDK gets the error.
   */
  protected override async beforeContinuation(
    endpoint: FleetEndpoint,
    dialect: Dialect,
    failure: TokenwireError,
  ): Promise<TokenwireError | undefined> {
    const stop = this.plan.body.stop as string | string[] | undefined;
    const straddles = stopList(stop).some((s) => s.length > 1);
    if (!straddles && holdbackModel(dialect, stop, this.plan.body).kind === 'none') return undefined;
    return notResumed(
      this.ctx,
      failure,
      'tokenwire/fetch does not continue a stream with stop strings a break may cut or a server may hold back (use a Client)',
      endpoint.rootUrl,
    );
  }

  /**
   * Ids are promised only when the body sent asks for them (every field of the dialect's
   * ask set): the SDK's own body usually does not, and the server then rightly sends none.
   */
  protected override promisesLiveIds(): boolean {
    const dialect = this.dialect;
    if (dialect === undefined || !super.promisesLiveIds()) return false;
    const ask = (this.kind === 'completion' ? dialect.facts.completions : dialect.facts.chat).ids.ask;
    const body = this.firstBody ?? this.plan.body;
    return Object.keys(ask).every((field) => {
      const value = body[field];
      return value !== undefined && value !== null && value !== false && value !== 0;
    });
  }

  /** Exact resume only: completions with an id prompt, every received token with its id. */
  protected canResume(_dialect: Dialect): boolean {
    return (
      this.plan.kind === 'completion' &&
      this.plan.promptIds !== undefined &&
      !this.stats.idsIncomplete &&
      this.received.missingIds === 0
    );
  }

  protected complete(_usage: Usage): { done: Uint8Array; result: () => undefined } {
    return { done: new Uint8Array(DONE_BYTES), result: () => undefined };
  }

  protected decode(dialect: Dialect, event: SseEvent, wire: WireRequest): void {
    if (this.kind === 'completion') dialect.decodeCompletion(event, this, wire);
    else dialect.decodeChat(event, this);
  }

  tokens(ids: readonly number[] | undefined, text: string, logprobs: readonly number[] | undefined): void {
    const token = this.scratch;
    if (ids === undefined || ids.length === 0) {
      token.id = undefined;
      token.text = text;
      token.logprob = logprobs?.[0];
      this.deliverToken(token, false);
      return;
    }
    const last = ids.length - 1;
    for (let i = 0; i <= last; i++) {
      token.id = ids[i];
      token.text = i === last ? text : '';
      token.logprob = logprobs?.[i];
      this.deliverToken(token, true);
    }
  }

  override reasoning(_text: string, ids: readonly number[] | undefined): void {
    this.markActivity();
    if (ids === undefined) return;
    const token = this.scratch;
    token.text = '';
    token.logprob = undefined;
    for (const id of ids) {
      token.id = id;
      this.deliverToken(token, true);
    }
  }

  override toolCall(): void {
    this.markActivity();
  }

  override usage(usage: WireUsage): void {
    super.usage(usage);
    this.usageInEvent = true;
  }

  /** @internal Whether the event just decoded may go to the SDK. */
  accepted(attempt: Attempt, parseErrorsBefore: number): boolean {
    return attempt.failure === undefined && !attempt.complete && this.stats.parseErrors === parseErrorsBefore;
  }

  /**
   * @internal After a resume, the usage chunk counts the continuation only (its prompt
   * held the earlier tokens, which a prefix cache counts as cached too): the SDK gets the
   * whole call's numbers instead, cached prompt tokens included.
   */
  rewriteUsage(data: string): string | undefined {
    if (this.stats.resumes === 0) return undefined;
    const attempt = this.attempt!;
    const usage = callUsage({
      reported: attempt.usage,
      tokensBeforeAttempt: this.tokensBeforeAttempt,
      resumed: attempt.number > 1,
      promptTokens: this.promptTokenCount(),
      tokensReceived: this.received.length,
      endIds: undefined,
    });
    try {
      const json = JSON.parse(data);
      if (json?.usage && typeof json.usage === 'object') {
        if (usage.promptTokens !== undefined) json.usage.prompt_tokens = usage.promptTokens;
        json.usage.completion_tokens = usage.completionTokens;
        if (usage.totalTokens !== undefined) json.usage.total_tokens = usage.totalTokens;
        // The continuation's cached count covers the tokens it was re-sent too: the call's
        // share is the library's (at most the call's prompt), or unknown (then not said).
        const details = json.usage.prompt_tokens_details;
        if (details && typeof details === 'object' && 'cached_tokens' in details) {
          if (usage.cachedPromptTokens !== undefined) details.cached_tokens = usage.cachedPromptTokens;
          else delete details.cached_tokens;
        }
      }
      return JSON.stringify(json);
    } catch {
      return undefined;
    }
  }

  /** @internal Hands what the last socket read produced to the reader. */
  flush(): void {
    if (this.writer.pending) this.queue.push(this.writer.take());
  }
}

/** The attempt's callbacks (the engine's), plus passing each accepted event on. */
class RelayDriver extends AttemptDriver {
  constructor(
    private readonly relay: RelayStream,
    attempt: Attempt,
  ) {
    super(relay, attempt);
  }

  override onData(chunk: Buffer): void {
    super.onData(chunk);
    this.relay.flush();
  }

  override onEnd(): void {
    super.onEnd();
    this.relay.flush();
  }

  override onEvent(event: SseEvent): void {
    const { relay, attempt } = this;
    const parseErrors = relay.stats.parseErrors;
    relay.usageInEvent = false;
    super.onEvent(event);
    if (!relay.accepted(attempt, parseErrors)) return;
    const rewritten = relay.usageInEvent ? relay.rewriteUsage(event.data) : undefined;
    relay.writer.event(event.event, rewritten ?? event.data);
  }

  override onEventBytes(line: Buffer, start: number, end: number): boolean {
    const { relay, attempt } = this;
    const parseErrors = relay.stats.parseErrors;
    relay.usageInEvent = false;
    if (!super.onEventBytes(line, start, end)) return false;
    if (!relay.accepted(attempt, parseErrors)) return true;
    const rewritten = relay.usageInEvent ? relay.rewriteUsage(line.toString('utf8', start, end)) : undefined;
    if (rewritten === undefined) relay.writer.dataBytes(line, start, end);
    else relay.writer.event('', rewritten);
    return true;
  }
}
