/**
 * A LanguageModelV3 (the AI SDK's language-model specification, `@ai-sdk/provider`
 * 3.x) over tokenwire's Client: `streamText` and `generateText` then run on the
 * engine — phase clocks, honest endings, retries, resume by continuation — and get
 * the generated token ids and the stream's stats in `providerMetadata.tokenwire`.
 */
import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3Content,
  LanguageModelV3FinishReason,
  LanguageModelV3GenerateResult,
  LanguageModelV3StreamPart,
  LanguageModelV3StreamResult,
  LanguageModelV3Usage,
  SharedV3ProviderMetadata,
  SharedV3Warning,
} from '@ai-sdk/provider';
import type { Client } from '../client.js';
import type { ChatStream } from '../stream/chat-stream.js';
import type { CompletionStream } from '../stream/completion-stream.js';
import type { FinishReason, StreamStats, ToolCall, Usage } from '../types.js';
import { chatRequest, completionRequest } from './prompt.js';

/** The id of the one text (and one reasoning) block a call produces. */
const TEXT_ID = 'txt-0';
const REASONING_ID = 'reasoning-0';

/** Which endpoint a model uses. */
export type TokenwireModelKind = 'chat' | 'completion';

function finishReason(reason: FinishReason): LanguageModelV3FinishReason {
  switch (reason) {
    case 'stop':
      return { unified: 'stop', raw: reason };
    case 'length':
      return { unified: 'length', raw: reason };
    case 'tool_calls':
      return { unified: 'tool-calls', raw: reason };
    case 'content_filter':
      return { unified: 'content-filter', raw: reason };
    default:
      return { unified: 'other', raw: reason };
  }
}

/**
 * The specification's usage (`LanguageModelV3Usage`): `inputTokens.cacheRead` is
 * `usage.cachedPromptTokens` and `inputTokens.noCache` the rest of the prompt, both only
 * when the server said how many were cached (else undefined: not a claimed 0).
 */
function usageOf(usage: Usage): LanguageModelV3Usage {
  const cached = usage.cachedPromptTokens;
  return {
    inputTokens: {
      total: usage.promptTokens,
      noCache:
        cached === undefined || usage.promptTokens === undefined ? undefined : usage.promptTokens - cached,
      cacheRead: cached,
      cacheWrite: undefined,
    },
    outputTokens: { total: usage.completionTokens, text: undefined, reasoning: undefined },
  };
}

/** `providerMetadata.tokenwire`: the generated ids, the stream's stats, whether usage was computed. */
function metadata(
  tokenIds: number[] | undefined,
  stats: StreamStats,
  usage: Usage,
): SharedV3ProviderMetadata {
  const jsonStats: Record<string, number | boolean> = {};
  for (const [key, value] of Object.entries(stats)) {
    if (value !== undefined) jsonStats[key] = value;
  }
  return {
    tokenwire: { tokenIds: tokenIds ?? null, stats: jsonStats, usageComputed: usage.computed },
  };
}

function toolCallContent(call: ToolCall): LanguageModelV3Content {
  return {
    type: 'tool-call',
    toolCallId: call.id ?? `call-${call.index}`,
    toolName: call.name,
    input: call.arguments === '' ? '{}' : call.arguments,
  };
}

/** What a chat or completion stream yields. */
type ModelEvent =
  | { type: 'token' | 'text' | 'reasoning'; text: string }
  | { type: 'tool_call'; call: ToolCall }
  | {
      type: 'done';
      finishReason: FinishReason;
      usage: Usage;
      stats: StreamStats;
      tokenIds: number[] | undefined;
      responseId: string | undefined;
      model: string | undefined;
    };

/**
 * The specification's response metadata (`LanguageModelV3ResponseMetadata`): the server's
 * `id` and `model` of the response (`done.responseId` / `done.model`), only those it sent.
 */
function responseOf(
  responseId: string | undefined,
  model: string | undefined,
): { id?: string; modelId?: string } {
  const out: { id?: string; modelId?: string } = {};
  if (responseId !== undefined) out.id = responseId;
  if (model !== undefined) out.modelId = model;
  return out;
}

/** Turns the engine's events into the specification's stream parts (text and reasoning blocks opened and closed). */
class PartEmitter {
  private textOpen = false;
  private reasoningOpen = false;

  /** Enqueues the parts of `event`; false when it made none (a token without text). */
  emit(event: ModelEvent, controller: ReadableStreamDefaultController<LanguageModelV3StreamPart>): boolean {
    switch (event.type) {
      case 'token':
      case 'text':
        if (event.text === '') return false;
        if (this.reasoningOpen) {
          this.reasoningOpen = false;
          controller.enqueue({ type: 'reasoning-end', id: REASONING_ID });
        }
        if (!this.textOpen) {
          this.textOpen = true;
          controller.enqueue({ type: 'text-start', id: TEXT_ID });
        }
        controller.enqueue({ type: 'text-delta', id: TEXT_ID, delta: event.text });
        return true;
      case 'reasoning':
        if (event.text === '') return false;
        if (!this.reasoningOpen) {
          this.reasoningOpen = true;
          controller.enqueue({ type: 'reasoning-start', id: REASONING_ID });
        }
        controller.enqueue({ type: 'reasoning-delta', id: REASONING_ID, delta: event.text });
        return true;
      case 'tool_call':
        controller.enqueue(toolCallContent(event.call) as LanguageModelV3StreamPart);
        return true;
      case 'done':
        if (this.reasoningOpen) controller.enqueue({ type: 'reasoning-end', id: REASONING_ID });
        if (this.textOpen) controller.enqueue({ type: 'text-end', id: TEXT_ID });
        // Known for sure only at the end (a retry before the first token is a new response).
        if (event.responseId !== undefined || event.model !== undefined) {
          controller.enqueue({ type: 'response-metadata', ...responseOf(event.responseId, event.model) });
        }
        controller.enqueue({
          type: 'finish',
          finishReason: finishReason(event.finishReason),
          usage: usageOf(event.usage),
          providerMetadata: metadata(event.tokenIds, event.stats, event.usage),
        });
        return true;
    }
  }
}

/**
 * A tokenwire model for the AI SDK. Made by `createTokenwire(...)(modelId)` (chat) or
 * `.completionModel(modelId)`.
 */
export class TokenwireLanguageModel implements LanguageModelV3 {
  readonly specificationVersion = 'v3';
  readonly provider: string;
  readonly modelId: string;
  /** No URL is passed to the server as is: the AI SDK downloads files itself. */
  readonly supportedUrls: Record<string, RegExp[]> = {};

  constructor(
    private readonly client: Client,
    modelId: string,
    private readonly kind: TokenwireModelKind,
    providerName: string,
  ) {
    this.modelId = modelId;
    this.provider = `${providerName}.${kind}`;
  }

  private open(
    options: LanguageModelV3CallOptions,
    warnings: SharedV3Warning[],
  ): ChatStream | CompletionStream {
    if (this.kind === 'chat') {
      return this.client.streamChat({ ...chatRequest(options, warnings), model: this.modelId });
    }
    return this.client.streamCompletion({ ...completionRequest(options, warnings), model: this.modelId });
  }

  async doGenerate(options: LanguageModelV3CallOptions): Promise<LanguageModelV3GenerateResult> {
    const warnings: SharedV3Warning[] = [];
    const stream = this.open(options, warnings);
    const content: LanguageModelV3Content[] = [];
    if (this.kind === 'chat') {
      const result = await (stream as ChatStream).final();
      const { message } = result;
      if (message.reasoning !== undefined) content.push({ type: 'reasoning', text: message.reasoning });
      if (message.content !== '') content.push({ type: 'text', text: message.content });
      for (const call of message.toolCalls) content.push(toolCallContent(call));
      return {
        content,
        finishReason: finishReason(result.finishReason),
        usage: usageOf(result.usage),
        providerMetadata: metadata(result.tokenIds, result.stats, result.usage),
        response: responseOf(result.responseId, result.model),
        warnings,
      };
    }
    const result = await (stream as CompletionStream).final();
    if (result.text !== '') content.push({ type: 'text', text: result.text });
    const ids = result.ids.every((id) => id !== undefined) ? (result.ids as number[]) : undefined;
    return {
      content,
      finishReason: finishReason(result.finishReason),
      usage: usageOf(result.usage),
      providerMetadata: metadata(ids, result.stats, result.usage),
      response: responseOf(result.responseId, result.model),
      warnings,
    };
  }

  async doStream(options: LanguageModelV3CallOptions): Promise<LanguageModelV3StreamResult> {
    const warnings: SharedV3Warning[] = [];
    const stream = this.open(options, warnings);
    const iterator = stream[Symbol.asyncIterator]() as AsyncIterator<unknown>;
    let started = false;
    const state = new PartEmitter();
    const parts = new ReadableStream<LanguageModelV3StreamPart>(
      {
        async pull(controller) {
          if (!started) {
            started = true;
            controller.enqueue({ type: 'stream-start', warnings });
          }
          // Until something is enqueued: a pull that enqueues nothing is not called again.
          for (;;) {
            let next: IteratorResult<unknown>;
            try {
              next = await iterator.next();
            } catch (error) {
              // The engine's error (a TokenwireError: code, partial, the server's message) as the
              // specification's error part; the AI SDK passes it to onError and the full stream.
              controller.enqueue({ type: 'error', error });
              controller.close();
              return;
            }
            if (next.done) {
              controller.close();
              return;
            }
            if (state.emit(next.value as ModelEvent, controller)) return;
          }
        },
        async cancel() {
          // The AI SDK stopped reading (abort, or the caller left): end the request quietly.
          await iterator.return?.();
        },
      },
      { highWaterMark: 0 },
    );
    return { stream: parts };
  }
}
