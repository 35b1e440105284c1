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
import { ResumeStop } from './resume-stop.js';
import { cutChatText } from './resume-text.js';
import { ResumeStopCheck } from './stop-strings.js';

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
  /** Text held by the server at a break, and stop strings across a resume (resume-stop.ts). */
  private readonly resumeStop: ResumeStop;

  constructor(ctx: StreamContext, request: ChatRequest, model: string | undefined) {
    super(ctx, request.signal, request.maxTokens, request.session ?? request.affinityKey);
    this.request = request;
    this.model = model;
    this.resumeStop = new ResumeStop(this, request.stop, request.extraBody);
  }

  /** @internal The prompt's ids, when the server sent them (ResumeStopHost). */
  knownPromptIds(): readonly number[] | undefined {
    return this.promptIdList;
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
    const soFar = this.messageSoFar() + this.resumeStop.pending;
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
      if (!this.stopCheck.arm(this.content, undelivered + this.resumeStop.pending)) this.releaseHeld();
    }
    this.resumeStop.startAttempt(this.received.length);
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

  /**
   * Only where the server's wire-facts row says it continues a partial assistant message
   * (`chat.resume`: vLLM), and never mid tool call.
   */
  protected canResume(dialect: Dialect): boolean {
    if (!dialect.facts.chat.resume) return false;
    if (this.toolParts.size > 0 || this.reasoningText !== undefined) return false;
    // A last token with empty text is one whose bytes the server held back (it ends inside a
    // UTF-8 character): the partial message cannot spell it, so the server would generate it
    // again and its id would come twice. With no text at all there is nothing to continue.
    const last = this.received.lastText();
    if (this.messageSoFar() === '' || last === undefined) return false;
    // On a server that holds back text that may begin a stop string, the emptiness may be that:
    // the held text is then recovered before the continuation, or the stream is not resumed.
    if (last === '' && this.resumeStop.model(dialect).kind !== 'held') return false;
    return (
      dialect.chatRequest({ model: undefined, request: this.request, continueAssistant: 'x' }) !== undefined
    );
  }

  tokens(ids: readonly number[] | undefined, text: string): void {
    const verdict = this.stopCheck === undefined ? 'pass' : this.stopCheck.feed(text);
    // The text the server held back at the break comes before the continuation's.
    text = this.resumeStop.withPending(text);
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
      const check = this.stopCheck!;
      const kept = this.resumeStop.atMatch(check.matches, this.dialect!, text, check.undeliveredLength);
      if (kept !== undefined) this.settleStop(kept, this.received.length);
      this.finish('stop');
      this.completeEarly();
    }
  }

  /** Ends the held text `kept` characters in and drops the tokens from `tokens` on, then releases it. */
  private settleStop(kept: number, tokens: number): void {
    cutChatText(this.held!, this.heldFrom, kept, tokens);
    if (tokens < this.received.length) {
      this.stats.tokens -= this.received.length - tokens;
      this.received.truncate(tokens);
    }
    this.releaseHeld();
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
    if (this.resumeStop.pending !== '') {
      // Recovered held text, and the continuation ended without a delta to carry it.
      const text = this.resumeStop.withPending('');
      this.content += text;
      this.queue.push({ type: 'text', text });
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
