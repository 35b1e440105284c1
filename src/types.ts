/**
 * Public data types: requests, stream events, usage and stats.
 * Pure declarations; no runtime code.
 */

import type { TimeoutOptions } from './options.js';

/** Server families whose wire quirks tokenwire knows. `auto` detects once per client. */
export type DialectName = 'vllm' | 'sglang' | 'llamacpp' | 'openai' | 'openrouter' | 'together' | 'fireworks';

/** Why the server stopped generating. Known values first; servers may send others. */
export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | (string & {});

/** Sampling parameters. Each is sent only when set, and only to servers that accept it. */
export interface SamplingOptions {
  /** 0 = greedy. */
  temperature?: number;
  topP?: number;
  /** Not sent to OpenAI, which rejects it. */
  topK?: number;
  minP?: number;
  seed?: number;
  repetitionPenalty?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
}

/** Options shared by completion and chat requests. */
export interface CommonRequestOptions {
  /** Upper bound on generated tokens (`max_tokens`). */
  maxTokens?: number;
  sampling?: SamplingOptions;
  /** Stop strings. */
  stop?: string | string[];
  /**
   * Scheduling priority, in tokenwire's convention: **lower is served earlier**
   * (vLLM's convention). Translated per server: negated for SGLang, dropped where
   * unsupported.
   */
  priority?: number;
  /** Aborts the request; the stream then fails with code `aborted`. */
  signal?: AbortSignal;
  /** Extra JSON fields merged into the request body last (they win). */
  extraBody?: Record<string, unknown>;
  /** Model name for this request (overrides the client's `model`). */
  model?: string;
  /**
   * A session (conversation) key: with several endpoints, requests with the same key go to
   * the same endpoint (consistent hashing with bounded loads), where its prefix is cached.
   */
  session?: string;
  /** Same as `session`, for keys that are not conversations (a user, a document). `session` wins. */
  affinityKey?: string;
  /** Request logprobs of the sampled tokens (token events then carry `logprob`). */
  logprobs?: boolean;
  /** Headers of this request, over the client's `headers` (names are case-insensitive). */
  headers?: Record<string, string>;
  /**
   * Deadlines of this request, each over the client's. A connection is made with the
   * client's `connectMs` at most (connections are shared); a shorter one here still applies.
   */
  timeouts?: TimeoutOptions;
  /** Hedging for this request, over the client's `hedge` (`false`: none). See {@link HedgeOptions}. */
  hedge?: HedgeOptions | false;
}

/**
 * Hedging, for clients of several endpoints: when no token has come from an attempt
 * `afterMs` after it was sent (and the call has received none yet), the same request is
 * sent to a second endpoint; whichever produces output first is kept, the other's request
 * is aborted. At most two requests of a call run at once; a hedge does not count against
 * `retry.maxAttempts`. Only before the call's first token: after it, a break resumes by
 * continuation as usual. With no other endpoint able to take it then, nothing is sent.
 */
export interface HedgeOptions {
  /** Milliseconds without a token before the second request is sent (≥ 0). */
  afterMs: number;
}

/** A completions request: prompt as token ids (preferred) or text. */
export interface CompletionRequest extends CommonRequestOptions {
  /** Token ids (sent as an id array) or a string. */
  prompt: number[] | string;
  /**
   * For llama.cpp: use the native `/completion` endpoint instead of `/v1/completions`.
   * Default false.
   */
  native?: boolean;
}

/** A chat message as sent to the server. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool' | 'developer' | (string & {});
  content: string | null | unknown[];
  name?: string;
  tool_call_id?: string;
  tool_calls?: unknown[];
  [extra: string]: unknown;
}

/** A chat completions request. */
export interface ChatRequest extends CommonRequestOptions {
  messages: ChatMessage[];
  /** OpenAI-style tool definitions, sent as they are. */
  tools?: unknown[];
  toolChoice?: unknown;
  responseFormat?: unknown;
}

/** One generated token. */
export interface TokenEvent {
  type: 'token';
  /**
   * The token id, or `undefined` when the server does not send ids (OpenAI, OpenRouter,
   * or ids that arrive only at the end: see `DoneEvent.tokenIds`).
   */
  id: number | undefined;
  /** The text this token adds. May be empty (EOS, held-back stop-string text, a split UTF-8 character). */
  text: string;
  /** Log-probability of the token, when requested and sent. */
  logprob?: number;
}

/** Token accounting. */
export interface Usage {
  promptTokens: number | undefined;
  completionTokens: number;
  totalTokens: number | undefined;
  /** True when the server sent no usage and tokenwire computed it from what was streamed. */
  computed: boolean;
  /**
   * Prompt tokens the server served from its prefix cache (part of `promptTokens`), when it
   * said: `usage.prompt_tokens_details.cached_tokens` (vLLM with
   * `--enable-prompt-tokens-details` and SGLang with `--enable-cache-report`, both only when
   * non-zero; llama.cpp 2026 always; OpenAI), llama.cpp native `timings.cache_n`. Absent when
   * the server did not say. After a resume: the last attempt's count, at most `promptTokens`
   * (the prompt is a prefix of what that attempt sent, and prefix caches count from the start).
   */
  cachedPromptTokens?: number;
}

/** What happened on the wire, for diagnostics. All times in milliseconds. */
export interface StreamStats {
  /** HTTP requests made (1 + retries + resumes). */
  attempts: number;
  /** Times the stream was resumed by continuation after tokens had arrived. */
  resumes: number;
  /** Body chunks received from the socket. */
  chunks: number;
  /** Bytes received in response bodies. */
  bytes: number;
  /** SSE events dispatched. */
  events: number;
  /** Token events delivered. */
  tokens: number;
  /** Events whose JSON could not be parsed. */
  parseErrors: number;
  /** Keepalive comment lines seen. */
  keepalives: number;
  /** Longest gap between two body chunks. */
  maxGapMs: number;
  /** From the first request to the final event. */
  durationMs: number;
  /** From request start to response headers (first attempt that got headers). */
  timeToHeadersMs: number | undefined;
  /** From request start to the first token. */
  timeToFirstTokenMs: number | undefined;
  /**
   * True when the server counted more completion tokens than ids arrived (llama.cpp drops
   * the id of a token that ends inside a UTF-8 character). Ids are then not exact.
   */
  idsIncomplete: boolean;
  /**
   * True when the server generated without part of the request's context: it counted
   * fewer prompt tokens than the ids sent, or llama.cpp said `truncated: true` where
   * tokens were dropped (an over-long prompt cut by builds of early 2025, or
   * `--context-shift` discarding tokens while generating). The output is the server's,
   * but not an answer to the whole prompt; a `context_truncated` warning says why.
   */
  contextTruncated: boolean;
  /**
   * Where each attempt went, in order (one entry per attempt): the endpoint, why the router
   * chose it, the tokens it delivered, and how it failed when it did (why the next one moved).
   */
  endpoints: EndpointAttempt[];
}

/**
 * Why the router sent an attempt where it did: the only endpoint, a session key, cache
 * affinity, the policy, or `hedge` (the second request of a hedged attempt, sent to
 * another endpoint than the first's).
 */
export type RouteReason =
  | 'only'
  | 'session'
  | 'affinity'
  | 'least-outstanding'
  | 'round-robin'
  | 'weighted'
  | 'hedge';

/** One attempt's endpoint (`StreamStats.endpoints`). */
export interface EndpointAttempt {
  /** The endpoint's root URL. */
  url: string;
  /** Why the router chose it. */
  chosenBy: RouteReason;
  /** Tokens this attempt delivered. */
  tokens: number;
  /**
   * Why the attempt ended without ending the call: its error code when it failed (why the
   * next attempt moved), or `hedge_lost` for the request of a hedge that was cancelled
   * because the other answered first.
   */
  failed?: string;
  /** The server's id of this attempt's completion (`id` of its chunks), when it sent one. */
  responseId?: string;
  /** The model this attempt's server named (`model` of its chunks), when it named one. */
  model?: string;
}

/** The last event of every successful stream. */
export interface DoneEvent {
  type: 'done';
  finishReason: FinishReason;
  usage: Usage;
  stats: StreamStats;
  /**
   * All generated ids, in order, when the server sent ids (live or at the end, e.g.
   * SGLang's `sglext`). `undefined` when the server sends none.
   */
  tokenIds: number[] | undefined;
  /**
   * The server's id of the completion: the `id` of its chunks (vLLM `cmpl-…` /
   * `chatcmpl-…`, llama.cpp `chatcmpl-…`, SGLang's request id, OpenRouter `gen-…`, the
   * same as its `X-Generation-Id` header). A resumed stream keeps the id of the attempt
   * its output began with; every attempt's is in `stats.endpoints[i].responseId`.
   * `undefined` when the server sent none (llama.cpp's native `/completion`).
   */
  responseId: string | undefined;
  /**
   * The model the server says generated the output: the `model` of its chunks (vLLM the
   * served model name, llama.cpp the model file or alias, SGLang and some proxies echo the
   * request's `model`). Of the attempt the output began with; a resume whose server names
   * another model is reported as a `model_changed` warning, and each attempt's model is in
   * `stats.endpoints[i].model`. `undefined` when the server named none.
   */
  model: string | undefined;
}

/** Events of a completion stream. */
export type CompletionEvent = TokenEvent | DoneEvent;

/** What `stream.final()` resolves to for completions. */
export interface CompletionResult {
  tokens: TokenEvent[];
  /** Token ids in order (`undefined` entries where the server sent none). */
  ids: (number | undefined)[];
  text: string;
  finishReason: FinishReason;
  usage: Usage;
  stats: StreamStats;
  /** The server's id of the completion (see `DoneEvent.responseId`). */
  responseId: string | undefined;
  /** The model the server says generated the output (see `DoneEvent.model`). */
  model: string | undefined;
}

/** A text delta of the assistant's answer. */
export interface ChatTextEvent {
  type: 'text';
  text: string;
  /** Token ids of this delta, when the server sends them. */
  ids?: number[];
}

/** A reasoning ("thinking") delta (`reasoning_content` / `reasoning`). */
export interface ChatReasoningEvent {
  type: 'reasoning';
  text: string;
  /** Token ids of this delta, when the server sends them (vLLM, Together). */
  ids?: number[];
}

/** A tool call, complete (emitted once its arguments have fully arrived). */
export interface ToolCall {
  index: number;
  id: string | undefined;
  name: string;
  /** The arguments exactly as streamed. */
  arguments: string;
  /** `arguments` parsed as JSON, or `undefined` when it does not parse. */
  parsedArguments: unknown;
}

/** A tool call that has finished streaming. */
export interface ChatToolCallEvent {
  type: 'tool_call';
  call: ToolCall;
}

/** The assistant message assembled from a chat stream. */
export interface AssistantMessage {
  role: 'assistant';
  content: string;
  reasoning: string | undefined;
  toolCalls: ToolCall[];
}

/** Final event of a chat stream. */
export interface ChatDoneEvent extends Omit<DoneEvent, 'type'> {
  type: 'done';
  message: AssistantMessage;
}

/** Events of a chat stream. */
export type ChatEvent = ChatTextEvent | ChatReasoningEvent | ChatToolCallEvent | ChatDoneEvent;

/** What `stream.final()` resolves to for chat. */
export interface ChatResult {
  message: AssistantMessage;
  finishReason: FinishReason;
  usage: Usage;
  stats: StreamStats;
  tokenIds: number[] | undefined;
  /** The server's id of the completion (see `DoneEvent.responseId`). */
  responseId: string | undefined;
  /** The model the server says generated the output (see `DoneEvent.model`). */
  model: string | undefined;
}
