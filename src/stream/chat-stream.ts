/**
 * The chat stream: text and reasoning deltas, tool calls assembled from their
 * fragments, token ids where the server sends them, and an assembled assistant
 * message at the end. Reuses the whole engine of BaseStream.
 */
import type { Dialect, ToolCallDelta, WireRequest } from '../dialects/dialect.js';
import type { TokenwireError } from '../errors.js';
import type { FleetEndpoint } from '../fleet/fleet.js';
import { chatPrefixKeys } from '../fleet/prefix-keys.js';
import type { SseEvent } from '../sse/types.js';
import type {
  AssistantMessage,
  ChatDoneEvent,
  ChatEvent,
  ChatMessage,
  ChatReasoningEvent,
  ChatRequest,
  ChatResult,
  ChatTextEvent,
  ToolCall,
  Usage,
} from '../types.js';
import type { Attempt } from './attempt.js';
import { BaseStream } from './base-stream.js';
import type { StreamContext } from './context.js';
import { remainingTokens } from './continuation.js';
import { CONTEXT_IDS, type HoldbackModel, holdbackModel } from './held-text.js';
import { completingToken, cutHeldText, notResumed, recoverHeldText, untoldStop } from './resume-text.js';
import { chooseStop, ResumeStopCheck, type StopMatch, type StopRule } from './stop-strings.js';

interface ToolCallParts {
  index: number;
  id: string | undefined;
  name: string;
  arguments: string[];
}

/**
 * A streaming chat completion.
 *
 * @example
 * const stream = client.streamChat({ messages: [{ role: 'user', content: 'Hi' }] });
 * for await (const ev of stream) {
 *   if (ev.type === 'text') process.stdout.write(ev.text);
 *   else if (ev.type === 'tool_call') console.log(ev.call.name, ev.call.parsedArguments);
 * }
 */
export class ChatStream extends BaseStream<ChatEvent, ChatResult> {
  protected readonly kind = 'chat';
  private readonly request: ChatRequest;
  private readonly model: string | undefined;
  private content = '';
  private reasoningText: string | undefined;
  private readonly toolParts = new Map<number, ToolCallParts>();
  private approximateResume = false;
  /** Made at the first resume (stop strings can only straddle a resume point). */
  private stopCheck: ResumeStopCheck | undefined;
  /** Text events whose text waits for a stop-string decision (after a resume only). */
  private held: ChatTextEvent[] | undefined;
  /** Index in `received` of the first held event's first token. */
  private heldFrom = 0;
  /** How the server holds back text that may begin a stop string (known at the first resume). */
  private holdback: HoldbackModel | undefined;
  /** Text the server held back when the stream broke, recovered: it goes before the next text. */
  private heldByServer = '';
  /** How much of the current attempt's first text was `heldByServer`. */
  private prefixInAttempt = 0;
  /** Index in `received` of the current attempt's first token. */
  private attemptStart = 0;
  /** Tokens received when the held text was last recovered. */
  private recoveredAt = -1;
  /** A stop string matched after a resume on a server that holds text back: settled before success. */
  private stopMatch: readonly StopMatch[] | undefined;

  constructor(ctx: StreamContext, request: ChatRequest, model: string | undefined) {
    super(ctx, request.signal, request.maxTokens, request.session ?? request.affinityKey);
    this.request = request;
    this.model = model;
  }

  prefixKeys(): number[] | undefined {
    return chatPrefixKeys(this.request.messages);
  }

  /** The messages and the assistant's reply so far, as the next turn sends it (reasoning is not part of it). */
  learnedKeys(): number[] | undefined {
    const reply: ChatMessage = { role: 'assistant', content: this.messageSoFar() };
    if (this.toolParts.size > 0) {
      reply.tool_calls = this.assembleToolCalls().map((call) => ({
        id: call.id,
        type: 'function',
        function: { name: call.name, arguments: call.arguments },
      }));
    }
    return chatPrefixKeys(this.request.messages, [reply]);
  }

  protected buildRequest(dialect: Dialect, resume: boolean): WireRequest | undefined {
    // Text the server held back at the break (recovered) is part of the message so far.
    const soFar = this.messageSoFar() + this.heldByServer;
    const continueAssistant = resume && soFar !== '' ? soFar : undefined;
    if (continueAssistant !== undefined && !this.approximateResume) {
      // The server re-tokenizes the partial message: the ids need not be the ones it generated,
      // so the continuation (and the ids after it) may differ from an uninterrupted run.
      this.approximateResume = true;
      this.ctx.log({
        level: 'warn',
        event: 'resume_approximate',
        note: 'chat resumes from the text of the partial assistant message, which the server re-tokenizes',
      });
    }
    if (continueAssistant !== undefined) {
      this.stopCheck ??= new ResumeStopCheck(this.request.stop);
      // Text not delivered yet (held here, or by the server and recovered) is generated text: a
      // stop string may begin in it, and it goes out only once that is decided.
      let undelivered = '';
      for (const event of this.held ?? []) undelivered += event.text;
      if (!this.stopCheck.arm(this.content, undelivered + this.heldByServer)) this.releaseHeld();
    }
    this.attemptStart = this.received.length;
    this.prefixInAttempt = 0;
    const request = this.request;
    const maxTokens =
      resume && request.maxTokens !== undefined
        ? remainingTokens(request.maxTokens, this.received.length)
        : request.maxTokens;
    const wire = dialect.chatRequest({
      model: request.model ?? this.routeModel ?? this.model,
      request: { ...request, maxTokens },
      continueAssistant,
    });
    if (wire && request.extraBody) Object.assign(wire.body, request.extraBody);
    return wire;
  }

  protected decode(dialect: Dialect, event: SseEvent): void {
    dialect.decodeChat(event, this);
  }

  /** Only servers that can continue an assistant message (vLLM) resume chat, and never mid tool call. */
  protected canResume(dialect: Dialect): boolean {
    if (this.toolParts.size > 0 || this.reasoningText !== undefined) return false;
    // A last token with empty text is one whose bytes the server held back (it ends inside a
    // UTF-8 character): the partial message cannot spell it, so the server would generate it
    // again and its id would come twice. With no text at all there is nothing to continue.
    const last = this.received.lastText();
    if (this.messageSoFar() === '' || last === undefined) return false;
    // On a server that holds back text that may begin a stop string, the emptiness may be that:
    // the held text is then recovered before the continuation, or the stream is not resumed.
    const holdback = (this.holdback ??= holdbackModel(dialect, this.request.stop, this.request.extraBody));
    if (last === '' && holdback.kind !== 'held') return false;
    return (
      dialect.chatRequest({ model: undefined, request: this.request, continueAssistant: 'x' }) !== undefined
    );
  }

  tokens(ids: readonly number[] | undefined, text: string): void {
    const verdict = this.stopCheck === undefined ? 'pass' : this.stopCheck.feed(text);
    if (this.heldByServer !== '') {
      // The text the server held back at the break comes before the continuation's.
      text = this.heldByServer + text;
      this.prefixInAttempt = this.heldByServer.length;
      this.heldByServer = '';
    }
    const first = this.received.length;
    const hasIds = ids !== undefined && ids.length > 0;
    const checked = hasIds ? this.deliverIds(ids, text) : undefined;
    if (!hasIds) this.deliverToken({ type: 'token', id: undefined, text }, false);
    const event: ChatTextEvent = { type: 'text', text };
    if (checked !== undefined) event.ids = checked;
    if (verdict === 'pass') {
      this.content += text;
      this.queue.push(event);
      return;
    }
    // After a resume, text that may continue a stop string waits until that is decided.
    if (this.held === undefined) {
      this.held = [];
      this.heldFrom = first;
    }
    this.held.push(event);
    if (verdict === 'release') this.releaseHeld();
    else if (verdict === 'match') {
      // A stop string that began before the resume point ends the message here, as the server
      // would have ended it: the text from its beginning on is dropped. A server that holds text
      // back may have shown its end tokens late: which token completed it is settled first.
      const { matches } = this.stopCheck!;
      if (this.holdback?.kind === 'held') this.stopMatch = matches;
      else this.settleStop(this.keptWithoutHoldback(matches, text), this.received.length);
      this.finish('stop');
      this.completeEarly();
    }
  }

  /** Ends the held text `kept` characters in and drops the tokens from `tokens` on, then releases it. */
  private settleStop(kept: number, tokens: number): void {
    const held = this.held!;
    // Each held event carries its ids' tokens (one token when it came without ids).
    let keepEvents = 0;
    for (let at = this.heldFrom; keepEvents < held.length && at < tokens; keepEvents++) {
      const event = held[keepEvents];
      const count = event.ids?.length ?? 1;
      if (event.ids !== undefined && at + count > tokens) event.ids = event.ids.slice(0, tokens - at);
      at += count;
    }
    const texts = cutHeldText(
      held.map((event) => event.text),
      kept,
      keepEvents,
    );
    held.length = keepEvents;
    for (let i = 0; i < keepEvents; i++) held[i].text = texts[i];
    if (tokens < this.received.length) {
      this.stats.tokens -= this.received.length - tokens;
      this.received.truncate(tokens);
    }
    this.releaseHeld();
  }

  /**
   * Where a stop string completed by `text` ends the text on a server that holds nothing back:
   * at its beginning; but SGLang has sent everything before the token that completed it (its
   * beginning included, trimmed only from the final output), and that stays.
   */
  private keptWithoutHoldback(matches: readonly StopMatch[], text: string): number {
    const kept = chooseStop(matches, this.stopRule()).kept;
    if (this.dialect?.facts.stopHoldback?.mode !== 'none') return kept;
    return Math.max(kept, this.stopCheck!.undeliveredLength - text.length);
  }

  /** Which stop string the server stops at when several complete at once (wire facts). */
  private stopRule(): StopRule {
    return this.dialect?.facts.stopHoldback?.firstMatch ?? 'list-order';
  }

  /**
   * A server that holds back text that may begin a stop string sent every id but not all of
   * their text: recover that text from its detokenizer, or refuse to continue without it.
   */
  protected override async beforeContinuation(
    endpoint: FleetEndpoint,
    dialect: Dialect,
    failure: TokenwireError,
  ): Promise<TokenwireError | undefined> {
    if (this.received.length === 0 || this.received.length === this.recoveredAt) return undefined;
    const { request } = this;
    const model = (this.holdback ??= holdbackModel(dialect, request.stop, request.extraBody));
    if (model.kind === 'none') return undefined;
    let streamed = '';
    for (const event of this.held ?? []) streamed += event.text;
    const outcome = await recoverHeldText(this.ctx, endpoint, dialect, model, {
      ids: this.received.completeIds(),
      context: (this.promptIdList ?? []).slice(-CONTEXT_IDS),
      streamed: this.content + streamed,
      attemptChars: this.received.textFrom(this.attemptStart).length - this.prefixInAttempt,
      model: request.model ?? endpoint.options.model ?? this.model,
    });
    if (typeof outcome !== 'string') return notResumed(this.ctx, failure, outcome.reason, endpoint.rootUrl);
    this.heldByServer = outcome;
    this.recoveredAt = this.received.length;
    return undefined;
  }

  /** A stop string found after a resume on a server that holds text back: which token completed it. */
  protected override async beforeSuccess(
    attempt: Attempt,
    endpoint: FleetEndpoint,
    dialect: Dialect,
  ): Promise<TokenwireError | undefined> {
    const matches = this.stopMatch;
    if (matches === undefined) return undefined;
    this.stopMatch = undefined;
    // The one that completes first tells the token; the server's rule picks among those it completed.
    const completedAt = Math.min(...matches.map((m) => m.completedAt));
    const first = this.attemptStart;
    const ids = this.received.idArray();
    const outcome = await completingToken(this.ctx, endpoint, dialect, {
      context: [...(this.promptIdList ?? []), ...(ids.slice(0, first) as number[])].slice(-CONTEXT_IDS),
      ids: ids.slice(first),
      streamed: this.received.textFrom(first).slice(this.prefixInAttempt),
      completedAt,
      model: this.request.model ?? endpoint.options.model ?? this.model,
    });
    if (!('token' in outcome)) {
      return untoldStop(this.ctx, outcome.reason, attempt.url.href, this.received.events());
    }
    this.settleStop(chooseStop(matches, this.stopRule(), outcome.reach).kept, first + outcome.token + 1);
    return undefined;
  }

  /** The assistant message generated so far, held text included. */
  private messageSoFar(): string {
    let text = this.content;
    if (this.held !== undefined) for (const event of this.held) text += event.text;
    return text;
  }

  /** Hands the held text events to the consumer, in order (dropped text: only those with ids). */
  private releaseHeld(): void {
    const held = this.held;
    if (held === undefined) return;
    this.held = undefined;
    for (const event of held) {
      this.content += event.text;
      if (event.text !== '' || event.ids !== undefined) this.queue.push(event);
    }
  }

  override reasoning(text: string, ids: readonly number[] | undefined): void {
    this.markActivity();
    this.reasoningText = (this.reasoningText ?? '') + text;
    const event: ChatReasoningEvent = { type: 'reasoning', text };
    if (ids !== undefined && ids.length > 0) {
      // Kept with the other tokens so that `done.tokenIds` lists every generated id; the
      // text belongs to the reasoning, not to the answer.
      const checked = this.deliverIds(ids, '');
      if (checked !== undefined) event.ids = checked;
    }
    this.queue.push(event);
  }

  /**
   * One token per id, `text` on the last; returns the ids for the chat event, or undefined
   * when one was not an id (the event then has none, like a server that sends none).
   */
  private deliverIds(ids: readonly number[], text: string): number[] | undefined {
    const out: number[] = new Array(ids.length);
    let valid = true;
    const last = ids.length - 1;
    for (let i = 0; i <= last; i++) {
      const id = this.checkedId(ids[i]);
      this.deliverToken({ type: 'token', id, text: i === last ? text : '' }, id !== undefined);
      if (id === undefined) valid = false;
      else out[i] = id;
    }
    return valid ? out : undefined;
  }

  override toolCall(delta: ToolCallDelta): void {
    this.markActivity();
    let parts = this.toolParts.get(delta.index);
    if (!parts) {
      parts = { index: delta.index, id: undefined, name: '', arguments: [] };
      this.toolParts.set(delta.index, parts);
    }
    if (delta.id !== undefined) parts.id = delta.id;
    if (delta.name !== undefined) parts.name += delta.name;
    if (delta.arguments !== undefined) parts.arguments.push(delta.arguments);
  }

  private assembleToolCalls(): ToolCall[] {
    const calls: ToolCall[] = [];
    for (const parts of [...this.toolParts.values()].sort((a, b) => a.index - b.index)) {
      const args = parts.arguments.join('');
      let parsedArguments: unknown;
      try {
        parsedArguments = args === '' ? undefined : JSON.parse(args);
      } catch {
        parsedArguments = undefined;
      }
      calls.push({ index: parts.index, id: parts.id, name: parts.name, arguments: args, parsedArguments });
    }
    return calls;
  }

  protected complete(usage: Usage): { done: ChatDoneEvent; result: () => ChatResult } {
    // The stream ended with text still undecided: no stop string completed, so it is output.
    this.releaseHeld();
    if (this.heldByServer !== '') {
      // Recovered held text, and the continuation ended without a delta to carry it.
      this.content += this.heldByServer;
      this.queue.push({ type: 'text', text: this.heldByServer });
      this.heldByServer = '';
    }
    const toolCalls = this.assembleToolCalls();
    for (const call of toolCalls) this.queue.push({ type: 'tool_call', call });
    const message: AssistantMessage = {
      role: 'assistant',
      content: this.content,
      reasoning: this.reasoningText,
      toolCalls,
    };
    const tokenIds = this.doneTokenIds();
    const finishReason = this.finishReason ?? 'stop';
    const { id: responseId, model } = this.callResponse;
    const done: ChatDoneEvent = {
      type: 'done',
      finishReason,
      usage,
      stats: this.stats,
      tokenIds,
      responseId,
      model,
      message,
    };
    const stats = this.stats;
    return { done, result: () => ({ message, finishReason, usage, stats, tokenIds, responseId, model }) };
  }
}
