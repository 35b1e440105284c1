/**
 * What a dialect is: a small pure module that knows one server family's wire
 * shapes — how to ask for ids and usage, how to translate priority and sampling,
 * and how to decode each stream event. Dialects know nothing of the transport.
 */
import type { SseEvent } from '../sse/types.js';
import type { ChatRequest, CompletionRequest, DialectName, SamplingOptions } from '../types.js';
import type { FastState } from './fast-chunk.js';
import type { WireFacts } from './wire-facts-types.js';

/** A request as the transport sends it. */
export interface WireRequest {
  /** Path relative to the server root, e.g. `/v1/completions`. */
  path: string;
  body: Record<string, unknown>;
  /** Headers this request needs beside the endpoint's (a session routing header); the caller's own win. */
  headers?: Record<string, string>;
}

/** Usage numbers as a server reports them (any may be missing). */
export interface WireUsage {
  promptTokens?: number;
  completionTokens?: number;
  totalTokens?: number;
  /**
   * Prompt tokens served from the server's prefix cache, part of `promptTokens`:
   * `usage.prompt_tokens_details.cached_tokens`, or llama.cpp native `timings.cache_n`.
   */
  cachedPromptTokens?: number;
}

/** An error reported inside a stream. */
export interface WireError {
  /** The server's whole message: the sink scrubs secrets from it, then bounds it. */
  message: string;
  code?: string | number;
  type?: string;
}

/** A fragment of a streamed tool call. */
export interface ToolCallDelta {
  index: number;
  id?: string;
  name?: string;
  arguments?: string;
}

/**
 * Where a decoder puts what it found in an event. A sink (rather than returned
 * objects) keeps the per-token path free of allocations.
 */
export interface DecodeSink {
  /**
   * Generated tokens of this event: ids (undefined when the server sends none) and their
   * text. `ids` is valid during the call only (a decoder may reuse the array): copy to keep.
   */
  tokens(ids: readonly number[] | undefined, text: string, logprobs: readonly number[] | undefined): void;
  /** Prompt ids echoed by the server (vLLM `prompt_token_ids`). */
  promptIds(ids: readonly number[]): void;
  /** All completion ids, sent once at the end (SGLang `sglext`). */
  completionIds(ids: readonly number[]): void;
  /** The server's finish reason. */
  finish(reason: string): void;
  usage(usage: WireUsage): void;
  /** The server's own count of generated tokens so far (llama.cpp `tokens_predicted`). */
  serverTokenCount(count: number): void;
  /** The server said the stream is complete (`[DONE]`, native `"stop": true`). */
  end(): void;
  /** An error inside the stream. */
  error(error: WireError): void;
  /**
   * The server said it generated without part of the request's context (llama.cpp's
   * `truncated: true` where tokens were dropped); `detail` says what it sent.
   */
  contextTruncated(detail: string): void;
  /**
   * The event was not valid JSON (or not the expected shape). Gets the whole data: the
   * sink scrubs secrets from it before cutting a preview (a cut must not split a key).
   */
  parseError(data: string, cause: unknown): void;
  /** Chat: a reasoning delta, with its token ids when the server sends them. */
  reasoning(text: string, ids: readonly number[] | undefined): void;
  /** Chat: a tool-call fragment. */
  toolCall(delta: ToolCallDelta): void;
  /** Per-stream state of a dialect's byte-level fast path; absent when the fast path is off. */
  readonly decoderState?: FastState;
  /**
   * True while the current attempt's response id and model are not read yet. A decoder
   * reads them from the attempt's first JSON chunk only (one check per full-path chunk,
   * nothing per fast-path token): see {@link DecodeSink.response}.
   */
  readonly responsePending?: boolean;
  /**
   * The server's id of this attempt's completion (the chunks' `id`) and the model it says
   * generated it (`model`), each undefined where the chunk has none. Called with the first
   * JSON chunk of an attempt, and again by a decoder whose server names the model only at
   * the end (llama.cpp native `/completion`): a value already known is kept.
   */
  response?(id: string | undefined, model: string | undefined): void;
}

/** Resolved inputs to request building. */
export interface CompletionWireInput {
  model: string | undefined;
  prompt: number[] | string;
  maxTokens: number | undefined;
  request: CompletionRequest;
}

export interface ChatWireInput {
  model: string | undefined;
  request: ChatRequest;
  /** Resume: continue this partial assistant message instead of starting a new one. */
  continueAssistant?: string;
}

/** What detection learned about the server (see src/detection.ts). */
export interface ServerInfo {
  /** The version the server reported (`0.11.0`, `b10587-3f545becc`), when it did. */
  version?: string;
  /** SGLang: the server runs with `--schedule-low-priority-values-first`. */
  lowPriorityValuesFirst?: boolean;
}

/** One server family's knowledge. */
export interface Dialect {
  readonly name: DialectName;
  /** The wire-facts row this dialect follows (src/dialects/wire-facts.ts). */
  readonly facts: WireFacts;
  /**
   * Whether completions bring every token's id live. When true, a stream whose
   * tokens came without ids is marked `idsIncomplete` (with an `ids_missing` anomaly).
   */
  readonly liveIds: boolean;
  /** The same for chat streams. */
  readonly chatLiveIds: boolean;
  /**
   * The variant of this dialect for a detected server (request flags differ by
   * version); absent when nothing differs.
   */
  forServer?(info: ServerInfo): Dialect;
  /**
   * A sentence to add to an HTTP error's message when the dialect knows why the
   * server refused (e.g. vLLM's 400 for priority without priority scheduling).
   */
  explainHttpError?(status: number, body: string, request: WireRequest): string | undefined;
  /** Whether the server accepts a token-id array as the prompt. */
  readonly idPrompts: boolean;
  /** Builds a streaming completions request. */
  completionRequest(input: CompletionWireInput): WireRequest;
  /** Decodes one SSE event of a completions stream (the request it answers is given for context). */
  decodeCompletion(event: SseEvent, sink: DecodeSink, request: WireRequest): void;
  /**
   * Optional fast path for a one-line event's raw data bytes `line[start, end)`:
   * decodes it exactly as {@link decodeCompletion} would and returns true, or
   * returns false having called nothing on `sink` (then the event goes the full way).
   */
  decodeCompletionBytes?(line: Buffer, start: number, end: number, sink: DecodeSink): boolean;
  /** Builds a streaming chat request, or undefined when `continueAssistant` is set but unsupported. */
  chatRequest(input: ChatWireInput): WireRequest | undefined;
  decodeChat(event: SseEvent, sink: DecodeSink): void;
  /** Tokenize/detokenize endpoints, when the server has them. */
  tokenizeRequest?(text: string, model: string | undefined): WireRequest;
  parseTokenize?(json: unknown): number[] | undefined;
  detokenizeRequest?(ids: readonly number[], model: string | undefined): WireRequest;
  parseDetokenize?(json: unknown): string | undefined;
  /** Translates tokenwire's priority (lower = earlier) into body fields, or undefined to drop it. */
  priority(priority: number): Record<string, unknown> | undefined;
  /** Sampling keys this server accepts, as body fields. */
  sampling(sampling: SamplingOptions): Record<string, unknown>;
}
