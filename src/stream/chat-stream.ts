/**
 * The chat stream: text and reasoning deltas, tool calls assembled from their
 * fragments, token ids where the server sends them, and an assembled assistant
 * message at the end. Reuses the whole engine of BaseStream.
 */
import type { Dialect, ToolCallDelta, WireRequest } from '../dialects/dialect.js';
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
import { BaseStream } from './base-stream.js';
import type { StreamContext } from './context.js';
import { remainingTokens } from './continuation.js';
import { logStopTextAtResume, ResumeStopCheck } from './stop-strings.js';

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
    const soFar = this.messageSoFar();
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
      if (this.stopCheck.tailLength > 0) logStopTextAtResume(this.ctx);
      // Held text is generated text: it is part of what the stop string may straddle.
      if (!this.stopCheck.arm(continueAssistant)) this.releaseHeld();
    }
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
    if (this.messageSoFar() === '' || last === undefined || last === '') return false;
    return (
      dialect.chatRequest({ model: undefined, request: this.request, continueAssistant: 'x' }) !== undefined
    );
  }

  tokens(ids: readonly number[] | undefined, text: string): void {
    const verdict = this.stopCheck === undefined ? 'pass' : this.stopCheck.feed(text);
    // A stop string that began before the resume point ends the message in this delta, as the
    // server would have ended it: the ids still count, the text after its beginning is dropped.
    const stopped = verdict === 'match';
    if (stopped) text = '';
    const hasIds = ids !== undefined && ids.length > 0;
    const checked = hasIds ? this.deliverIds(ids, text) : undefined;
    if (!hasIds && !stopped) this.deliverToken({ type: 'token', id: undefined, text }, false);
    const event: ChatTextEvent = { type: 'text', text };
    if (checked !== undefined) event.ids = checked;
    if (verdict === 'pass') {
      this.content += text;
      this.queue.push(event);
      return;
    }
    // After a resume, text that may continue a stop string waits until that is decided.
    (this.held ??= []).push(event);
    if (verdict === 'release') this.releaseHeld();
    else if (stopped) {
      for (const held of this.held) held.text = '';
      this.releaseHeld();
      this.finish('stop');
      this.completeEarly();
    }
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
