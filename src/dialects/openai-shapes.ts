/**
 * Decoding helpers for the OpenAI-style chunk shapes most servers share
 * (`choices[0].text`, `finish_reason`, `usage`, `{"error": …}`), used by the
 * dialect modules. Pure functions over parsed JSON.
 */
import type { SseEvent } from '../sse/types.js';
import type { CommonRequestOptions, SamplingOptions } from '../types.js';
import type {
  ChatWireInput,
  CompletionWireInput,
  DecodeSink,
  Dialect,
  WireError,
  WireUsage,
} from './dialect.js';
import { contentIds, contentLogprobs, legacyTokenIds, reportFinish } from './logprob-shapes.js';

/** Longest preview of a bad event kept for diagnostics (enough to recognise it, small enough to log). */
export const PARSE_ERROR_PREVIEW_CHARS = 200;

// biome-ignore lint/suspicious/noExplicitAny: wire JSON is untyped by nature; each access is checked.
export type Json = any;

/**
 * Handles what every OpenAI-style stream shares and returns the parsed JSON object,
 * or undefined when the event was fully handled here (`[DONE]`, an `error:` field,
 * a parse error).
 */
export function parseStreamEvent(event: SseEvent, sink: DecodeSink): Json | undefined {
  if (event.error !== undefined) {
    // llama.cpp's non-standard `error: {...}` SSE field: an in-stream error, never text.
    sink.error(parseErrorField(event.error));
    return undefined;
  }
  const data = event.data;
  if (event.event === 'error') {
    // `event: error` (some proxies): an error whatever its body, JSON or not.
    sink.error(parseErrorField(data));
    return undefined;
  }
  if (data === '[DONE]') {
    sink.end();
    return undefined;
  }
  if (data === '') return undefined;
  let json: Json;
  try {
    json = JSON.parse(data);
  } catch (cause) {
    sink.parseError(data, cause);
    return undefined;
  }
  if (json === null || typeof json !== 'object') {
    sink.parseError(data, new Error('event data is not a JSON object'));
    return undefined;
  }
  const error = errorInBody(json);
  if (error !== undefined) {
    sink.error(error);
    return undefined;
  }
  // Once per attempt (the first JSON chunk): the id and model repeat on every chunk.
  if (sink.responsePending === true)
    sink.response?.(stringOrUndefined(json.id), stringOrUndefined(json.model));
  return json;
}

/** `value` when it is a non-empty string. */
export function stringOrUndefined(value: Json): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * The error a JSON body (a stream event, or a whole 200 body) reports, in any shape a
 * supported server has used, or undefined when it is not shaped like an error:
 * - `{"error": {...}}` / `{"error": "..."}`: vLLM's ErrorResponse `{error: ErrorInfo}` as
 *   `create_streaming_error_response` writes it (vllm/entrypoints/openai/protocol.py at
 *   0052bed3), older vLLM's flat body nested the same way, llama.cpp 2026, OpenRouter's
 *   error chunk (which also has `finish_reason: "error"`), TGI-style strings;
 * - flat `{"object": "error", "message", "type", "param", "code"}`: SGLang's ErrorResponse
 *   (python/sglang/srt/entrypoints/openai/protocol.py at 004c82e0) and older vLLM's, which
 *   proxies and some server versions send as a stream event.
 */
export function errorInBody(json: Json): WireError | undefined {
  if (json.error !== undefined && json.error !== null && json.error !== false) {
    return toWireError(json.error, json);
  }
  if (json.object === 'error') return toWireError(json, json);
  return undefined;
}

/**
 * The body of an `error:` field or an `event: error` event: JSON of any error shape, or
 * plain text. Never cut here: the sink scrubs secrets from the whole message before it
 * bounds it (a cut first could leave the start of an echoed key behind).
 */
function parseErrorField(text: string): WireError {
  try {
    const json = JSON.parse(text);
    if (json !== null && typeof json === 'object') return errorInBody(json) ?? toWireError(json, json);
    return toWireError(typeof json === 'string' ? json : text, undefined);
  } catch {
    return { message: text === '' ? '(no message)' : text };
  }
}

/** Normalises every error shape servers send into a message + code + type (uncut: see parseErrorField). */
export function toWireError(error: Json, whole: Json): WireError {
  if (typeof error === 'string') {
    return { message: error, code: whole?.code, type: whole?.type };
  }
  if (error && typeof error === 'object') {
    const message =
      typeof error.message === 'string'
        ? error.message
        : typeof error.detail === 'string'
          ? error.detail
          : JSON.stringify(error);
    const code = typeof error.code === 'string' || typeof error.code === 'number' ? error.code : undefined;
    const type = typeof error.type === 'string' ? error.type : undefined;
    return { message, code, type };
  }
  return { message: String(error) };
}

/** Reads an OpenAI-style `usage` object. */
export function readUsage(usage: Json): WireUsage | undefined {
  if (!usage || typeof usage !== 'object') return undefined;
  const out: WireUsage = {};
  if (typeof usage.prompt_tokens === 'number') out.promptTokens = usage.prompt_tokens;
  if (typeof usage.completion_tokens === 'number') out.completionTokens = usage.completion_tokens;
  if (typeof usage.total_tokens === 'number') out.totalTokens = usage.total_tokens;
  // vLLM (with --enable-prompt-tokens-details), SGLang (with --enable-cache-report) and
  // llama.cpp 2026: see the cachedTokens rows of the wire facts for where each was read.
  const cached = usage.prompt_tokens_details?.cached_tokens;
  if (typeof cached === 'number' && Number.isSafeInteger(cached) && cached >= 0)
    out.cachedPromptTokens = cached;
  return out;
}

/**
 * Reports `usage` and `finish_reason` of a chunk's first choice (shared tail of every
 * decoder), the reason mapped through the dialect's `finishReasons` (logprob-shapes.ts).
 */
export function reportUsageAndFinish(
  json: Json,
  choice: Json,
  sink: DecodeSink,
  finishReasons?: Readonly<Record<string, string>>,
): void {
  if (json.usage) {
    const usage = readUsage(json.usage);
    if (usage) sink.usage(usage);
  }
  const finish = choice?.finish_reason;
  if (typeof finish === 'string') reportFinish(finish, finishReasons, sink);
}

/**
 * Decodes a chat delta's text, reasoning and tool-call fragments (ids and logprobs found
 * by the caller). Reasoning is read from `reasoning` (vLLM since PR 27752, OpenRouter,
 * Together) or `reasoning_content` (older vLLM, SGLang, llama.cpp).
 */
export function decodeChatDelta(
  choice: Json,
  ids: readonly number[] | undefined,
  sink: DecodeSink,
  logprobs?: readonly number[],
): void {
  const delta = choice?.delta;
  if (delta && typeof delta === 'object') {
    const reasoning = delta.reasoning ?? delta.reasoning_content;
    const content = delta.content;
    const hasContent = typeof content === 'string' && content !== '';
    if (typeof reasoning === 'string' && reasoning !== '') {
      // A reasoning-only delta's ids are reasoning tokens: they go with the reasoning.
      if (!hasContent && ids !== undefined && ids.length > 0) {
        sink.reasoning(reasoning, ids);
        ids = undefined;
      } else {
        sink.reasoning(reasoning, undefined);
      }
    }
    const toolCalls = delta.tool_calls;
    if (Array.isArray(toolCalls)) {
      for (const call of toolCalls) {
        sink.toolCall({
          index: typeof call.index === 'number' ? call.index : 0,
          id: typeof call.id === 'string' ? call.id : undefined,
          name: typeof call.function?.name === 'string' ? call.function.name : undefined,
          arguments: typeof call.function?.arguments === 'string' ? call.function.arguments : undefined,
        });
      }
    }
    if (hasContent || (ids !== undefined && ids.length > 0)) {
      sink.tokens(ids, hasContent ? content : '', logprobs);
    }
  } else if (ids !== undefined && ids.length > 0) {
    sink.tokens(ids, '', logprobs);
  }
}

/** Sampling options as the common OpenAI-compatible body fields (servers beyond OpenAI accept all). */
export function commonSampling(sampling: SamplingOptions, full: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (sampling.temperature !== undefined) body.temperature = sampling.temperature;
  if (sampling.topP !== undefined) body.top_p = sampling.topP;
  if (sampling.seed !== undefined) body.seed = sampling.seed;
  if (sampling.presencePenalty !== undefined) body.presence_penalty = sampling.presencePenalty;
  if (sampling.frequencyPenalty !== undefined) body.frequency_penalty = sampling.frequencyPenalty;
  if (full) {
    if (sampling.topK !== undefined) body.top_k = sampling.topK;
    if (sampling.minP !== undefined) body.min_p = sampling.minP;
    if (sampling.repetitionPenalty !== undefined) body.repetition_penalty = sampling.repetitionPenalty;
  }
  return body;
}

/**
 * The chunk's choice 0. With `n > 1` (not supported: one generation per stream) chunks of
 * other choices interleave; they are skipped rather than mixed into choice 0's tokens.
 */
export function firstChoice(choices: Json): Json | undefined {
  if (!Array.isArray(choices)) return undefined;
  for (const choice of choices) {
    if (choice && (choice.index === undefined || choice.index === 0)) return choice;
  }
  return undefined;
}

/** The array of numbers at `value`, or undefined when it is not one. */
export function numberArray(value: Json): number[] | undefined {
  return Array.isArray(value) ? (value as number[]) : undefined;
}

/** The fields every OpenAI-style streaming body shares: model, limits, usage, stop, sampling, priority. */
function streamingBody(
  body: Record<string, unknown>,
  model: string | undefined,
  maxTokens: number | undefined,
  request: CommonRequestOptions,
  dialect: Pick<Dialect, 'sampling' | 'priority'>,
  includeUsage: boolean,
): Record<string, unknown> {
  body.stream = true;
  if (model !== undefined) body.model = model;
  if (maxTokens !== undefined) body.max_tokens = maxTokens;
  if (includeUsage) body.stream_options = { include_usage: true };
  if (request.stop !== undefined) body.stop = request.stop;
  Object.assign(body, dialect.sampling(request.sampling ?? {}));
  if (request.priority !== undefined) Object.assign(body, dialect.priority(request.priority));
  return body;
}

/** Fields every OpenAI-style streaming completions body has, before dialect extras. */
export function completionBody(
  input: CompletionWireInput,
  dialect: Pick<Dialect, 'sampling' | 'priority'>,
  includeUsage: boolean,
): Record<string, unknown> {
  const body = { prompt: input.prompt };
  return streamingBody(body, input.model, input.maxTokens, input.request, dialect, includeUsage);
}

/** Fields every OpenAI-style streaming chat body has, before dialect extras. */
export function chatBody(
  input: ChatWireInput,
  dialect: Pick<Dialect, 'sampling' | 'priority'>,
  includeUsage: boolean,
): Record<string, unknown> {
  const { request } = input;
  const body: Record<string, unknown> = { messages: request.messages };
  if (request.tools !== undefined) body.tools = request.tools;
  if (request.toolChoice !== undefined) body.tool_choice = request.toolChoice;
  if (request.responseFormat !== undefined) body.response_format = request.responseFormat;
  if (request.logprobs) body.logprobs = true;
  return streamingBody(body, input.model, request.maxTokens, request, dialect, includeUsage);
}

/**
 * Decodes one choice of an OpenAI-style completions chunk, finding ids wherever a
 * known server puts them: vLLM `token_ids`, llama.cpp `logprobs.content[].id`,
 * Together `token_id`, vLLM legacy `"token_id:N"` logprob tokens.
 */
export function decodeCompletionChoice(
  json: Json,
  sink: DecodeSink,
  finishReasons?: Readonly<Record<string, string>>,
): void {
  const choices = json.choices;
  const choice = firstChoice(choices);
  const promptIds = choice?.prompt_token_ids ?? json.prompt_token_ids;
  if (Array.isArray(promptIds)) sink.promptIds(promptIds);
  if (choice) {
    const text = typeof choice.text === 'string' ? choice.text : '';
    let ids: number[] | undefined = numberArray(choice.token_ids);
    let logprobs: number[] | undefined;
    const lp = choice.logprobs;
    if (lp && typeof lp === 'object') {
      if (Array.isArray(lp.content)) {
        // llama.cpp's chat-style logprobs: one entry per token with its id.
        const content = lp.content as Json[];
        logprobs = contentLogprobs(content);
        if (ids === undefined) ids = contentIds(content);
      } else if (Array.isArray(lp.token_logprobs)) {
        logprobs = lp.token_logprobs as number[];
        if (ids === undefined) ids = legacyTokenIds(lp.tokens);
      }
    }
    if (ids === undefined) {
      // Together: `choices[0].delta.token_id` beside `choices[0].text` (sometimes null:
      // the token then has no id); `choices[0].token_id` in older notes.
      const one = choice.delta?.token_id ?? choice.token_id;
      if (typeof one === 'number') ids = [one];
    }
    if (text !== '' || (ids !== undefined && ids.length > 0)) sink.tokens(ids, text, logprobs);
  }
  reportUsageAndFinish(json, choice, sink, finishReasons);
}
