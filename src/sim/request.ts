/**
 * Reads a generation request body into what the encoders need: prompt ids,
 * the ids to generate, the steps to stream, and the flags that change the wire
 * shape (ids, logprobs, usage, tools, reasoning). Invalid input throws
 * `SimHttpError`, which the server renders in the dialect's error shape.
 */
import { createHash } from 'node:crypto';
import { type WireFacts, wireFactsFor } from '../dialects/wire-facts.js';
import { type FinishReason, Generation } from './generation.js';
import { holdbackOf } from './holdback.js';
import { llamaBuild } from './llamacpp-builds.js';
import {
  B4748,
  checkContext,
  checkLlamaContext,
  checkModel,
  checkRefusals,
  cutLlamaPrompt,
} from './refusals.js';
import { isVocabId, tokenize } from './tokenizer.js';
import { BOS_ID } from './vocab.js';

export type SimDialect = 'vllm' | 'sglang' | 'llamacpp' | 'openai' | 'openrouter' | 'together' | 'fireworks';
export const DIALECTS: readonly SimDialect[] = [
  'vllm',
  'sglang',
  'llamacpp',
  'openai',
  'openrouter',
  'together',
  'fireworks',
];

export type Endpoint = 'completions' | 'chat' | 'native';

/** The default `max_tokens` when a request gives none (OpenAI's legacy default). */
const DEFAULT_MAX_TOKENS = 16;
/** The default context length of the simulated model (`maxModelLen`; `/tokenize`'s max_model_len). */
export const MAX_MODEL_LEN = 1_048_576;

export class SimHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string = status >= 500 ? 'server_error' : 'invalid_request_error',
    readonly param: string | null = null,
    /** The error's own `type` and extra fields where the server's differ from its usual shape (llama.cpp). */
    readonly wire?: { type: string; extra: Record<string, unknown> },
  ) {
    super(message);
  }
}

export interface GenRequest {
  dialect: SimDialect;
  /** The wire-facts row being emulated (versions.ts); undefined for a plain dialect name. */
  facts?: WireFacts;
  endpoint: Endpoint;
  stream: boolean;
  model: string;
  /** Response id (`cmpl-…`, `chatcmpl-…`, `gen-…`) derived from seed and request number. */
  id: string;
  created: number;
  /** The prompt as the server kept it (llama.cpp before 2026 cuts an over-long one). */
  promptIds: number[];
  /** The prompt was cut to fit the context (llama.cpp's `truncated: true`). */
  promptCut: boolean;
  /** Tokens the context had room for after the prompt (generation stops there). */
  contextRoom: number;
  /** max_tokens as asked (or the default). */
  maxTokensAsked: number;
  /**
   * The output, generated step by step as it is sent (EOS included when it
   * stopped on it); its produced count and finish reason are final once it ended.
   */
  generation: Generation;
  returnTokenIds: boolean;
  /** SGLang chat: `return_output_ids_in_sglext` / `return_input_ids_in_sglext`. */
  sglextOutputIds: boolean;
  sglextInputIds: boolean;
  /** Number of top logprobs to report (undefined: logprobs not requested). */
  logprobs?: number;
  /** vLLM `return_tokens_as_token_ids`: spell logprob tokens `token_id:N`. */
  tokenIdSpelling: boolean;
  includeUsage: boolean;
  tool?: { id: string; name: string };
  body: Record<string, unknown>;
  /** Milliseconds since epoch when the request was accepted (for timings). */
  startedAtMs: number;
  /** Prompt tokens a cluster replica found in its prefix cache (replica-model.ts); undefined elsewhere. */
  cachedTokens?: number;
}

/** The finish reason of a generation that has ended. */
export function finishOf(req: GenRequest): FinishReason {
  return req.generation.finishReason ?? 'length';
}

export interface RequestContext {
  dialect: SimDialect;
  /** The wire-facts row being emulated (versions.ts); undefined for a plain dialect name. */
  facts?: WireFacts;
  /** vLLM `--scheduling-policy priority`: non-zero priorities are served. */
  priorityScheduling?: boolean;
  endpoint: Endpoint;
  model: string;
  seed: number;
  eosAfter?: number;
  reasoning?: number;
  seq: number;
  /** The model's context length: prompt + max_tokens beyond it is vLLM's 400, elsewhere the end of generation. */
  maxModelLen: number;
  /** Keep every generated id (a cluster replica caches the output's blocks at the end). */
  keepOutputIds?: boolean;
}

function hexId(seed: number, seq: number, length: number): string {
  return createHash('sha256').update(`${seed}:${seq}`).digest('hex').slice(0, length);
}

function responseId(ctx: RequestContext): string {
  const hex = hexId(ctx.seed, ctx.seq, 32);
  switch (ctx.dialect) {
    case 'llamacpp':
      return `chatcmpl-${hex}`;
    case 'sglang':
      return hex;
    case 'openrouter':
      return `gen-${hex.slice(0, 24)}`;
    default:
      return ctx.endpoint === 'chat' ? `chatcmpl-${hex}` : `cmpl-${hex}`;
  }
}

function integer(body: Record<string, unknown>, key: string): number | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new SimHttpError(
      400,
      `'${key}' must be a non-negative integer, got ${JSON.stringify(value)}`,
      undefined,
      key,
    );
  }
  return value;
}

function promptIds(ctx: RequestContext, body: Record<string, unknown>): number[] {
  const key = ctx.endpoint === 'native' && body.prompt === undefined ? 'content' : 'prompt';
  let prompt = body[key];
  if (prompt === undefined || prompt === null) {
    // llama.cpp's answer is its build's (b4748: 500, 2026: 400, as recorded).
    if (ctx.dialect === 'llamacpp') {
      const { status, message } = llamaBuild(ctx.facts ?? B4748).missingPrompt;
      throw new SimHttpError(status, message);
    }
    throw new SimHttpError(400, "'prompt' is required", 'invalid_request_error', 'prompt');
  }
  // A batch (array of prompts) is served as its first prompt: the sim has one choice.
  if (
    Array.isArray(prompt) &&
    prompt.length > 0 &&
    (typeof prompt[0] === 'string' || Array.isArray(prompt[0]))
  ) {
    prompt = prompt[0];
  }
  if (typeof prompt === 'string') {
    const ids = tokenize(prompt);
    // llama.cpp adds BOS to string prompts; the others do not (as recorded / documented).
    return ctx.dialect === 'llamacpp' ? [BOS_ID, ...ids] : ids;
  }
  if (Array.isArray(prompt)) {
    for (const id of prompt) {
      if (!isVocabId(id))
        throw new SimHttpError(400, `prompt token id ${JSON.stringify(id)} is out of vocabulary`);
    }
    return prompt as number[];
  }
  throw new SimHttpError(400, `'${key}' must be a string or an array of token ids`, undefined, key);
}

function messageText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part) => (part && typeof part === 'object' && typeof part.text === 'string' ? part.text : ''))
      .join('');
  }
  return '';
}

/**
 * A ChatML-like template: `<|im_start|>role\ncontent<|im_end|>\n` per message,
 * then `<|im_start|>assistant\n`. With `continue_final_message` the last message
 * stays open (no end marker, no new assistant turn).
 */
export function renderChat(messages: unknown, continueFinal: boolean): string {
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new SimHttpError(400, "'messages' must be a non-empty array", 'invalid_request_error', 'messages');
  }
  let text = '';
  messages.forEach((message, index) => {
    if (!message || typeof message !== 'object') {
      throw new SimHttpError(
        400,
        `messages[${index}] must be an object`,
        'invalid_request_error',
        'messages',
      );
    }
    const role = String((message as Record<string, unknown>).role ?? 'user');
    text += `<|im_start|>${role}\n${messageText((message as Record<string, unknown>).content)}`;
    if (!(continueFinal && index === messages.length - 1)) text += '<|im_end|>\n';
  });
  return continueFinal ? text : `${text}<|im_start|>assistant\n`;
}

function effectiveSeed(ctx: RequestContext, body: Record<string, unknown>): number {
  // Sampling is simulated as greedy: temperature 0 (or absent) ignores the body
  // seed; temperature > 0 with a seed mixes it in, so different seeds give
  // different (still reproducible) text. Temperature > 0 without a seed is as
  // deterministic as greedy.
  const temperature = typeof body.temperature === 'number' ? body.temperature : 0;
  if (temperature > 0 && typeof body.seed === 'number')
    return (Math.imul(ctx.seed ^ 0x5bd1e995, 31) + body.seed) | 0;
  return ctx.seed;
}

/** Builds the generation for one request. */
export function readGenRequest(ctx: RequestContext, body: Record<string, unknown>): GenRequest {
  checkModel(ctx, body);
  const chat = ctx.endpoint === 'chat';
  let ids = chat
    ? (() => {
        const text = renderChat(body.messages, body.continue_final_message === true);
        return ctx.dialect === 'llamacpp' ? [BOS_ID, ...tokenize(text)] : tokenize(text);
      })()
    : promptIds(ctx, body);
  const requestedMax =
    (ctx.endpoint === 'native' ? integer(body, 'n_predict') : undefined) ??
    integer(body, 'max_completion_tokens') ??
    integer(body, 'max_tokens');
  checkContext(ctx, ids.length, requestedMax);
  if (ctx.dialect === 'llamacpp') checkLlamaContext(ctx, ids.length);
  const cutPrompt = ctx.dialect === 'llamacpp' ? cutLlamaPrompt(ctx, ids) : undefined;
  if (cutPrompt !== undefined) ids = cutPrompt;
  checkRefusals(ctx, body);
  const maxTokens = requestedMax ?? DEFAULT_MAX_TOKENS;
  const eosAfter = integer(body, 'sim_eos_after') ?? ctx.eosAfter;
  const tools = chat && Array.isArray(body.tools) && body.tools.length > 0 ? body.tools : undefined;
  const reasoningRequested =
    typeof body.sim_reasoning === 'number'
      ? body.sim_reasoning
      : body.sim_reasoning === true
        ? 4
        : ctx.reasoning;
  const reasoning = chat ? Math.min(reasoningRequested ?? 0, maxTokens) : 0;

  let tool: GenRequest['tool'];
  if (tools) {
    const first = tools[0] as { function?: { name?: unknown } };
    const name = typeof first?.function?.name === 'string' ? first.function.name : 'tool';
    tool = { id: `call_${hexId(ctx.seed, ctx.seq, 24)}`, name };
  }
  const room = Math.max(0, ctx.maxModelLen - ids.length);
  const stream = body.stream === true;
  const returnTokenIds = body.return_token_ids === true;
  const generation = new Generation({
    seed: effectiveSeed(ctx, body),
    eosAfter,
    promptIds: ids,
    // Servers that do not refuse (see checkContext) stop where the context ends. Without a
    // max_tokens a tool call runs to its end, as a model's call ends by itself (chat's default
    // max_tokens is the rest of the context on vLLM and OpenAI).
    maxTokens: tool && requestedMax === undefined ? room : Math.min(maxTokens, room),
    reasoning,
    tool: tool !== undefined,
    // SGLang chat repeats every output id at the end (sglext.output_ids); nothing else needs
    // them kept while streaming (non-streamed bodies are built from the whole generation).
    keepIds:
      ctx.keepOutputIds === true ||
      (ctx.dialect === 'sglang' && chat && body.return_output_ids_in_sglext === true),
    stop:
      typeof body.stop === 'string'
        ? [body.stop]
        : Array.isArray(body.stop)
          ? body.stop.map(String)
          : undefined,
    holdback: holdbackOf(ctx.facts ?? wireFactsFor(ctx.dialect), body),
  });
  const logprobsValue = chat
    ? body.logprobs === true
      ? (integer(body, 'top_logprobs') ?? 1)
      : undefined
    : undefined;
  const completionLogprobs =
    ctx.endpoint === 'native'
      ? integer(body, 'n_probs') || undefined
      : !chat && typeof body.logprobs === 'number'
        ? body.logprobs
        : undefined;
  const streamOptions = body.stream_options as { include_usage?: unknown } | undefined;
  return {
    dialect: ctx.dialect,
    facts: ctx.facts,
    endpoint: ctx.endpoint,
    stream,
    model: typeof body.model === 'string' && body.model !== '' ? body.model : ctx.model,
    id: responseId(ctx),
    created: Math.floor(Date.now() / 1000),
    promptIds: ids,
    promptCut: cutPrompt !== undefined,
    contextRoom: room,
    maxTokensAsked: maxTokens,
    generation,
    returnTokenIds,
    sglextOutputIds: body.return_output_ids_in_sglext === true,
    sglextInputIds: body.return_input_ids_in_sglext === true,
    logprobs: logprobsValue ?? completionLogprobs,
    tokenIdSpelling: body.return_tokens_as_token_ids === true,
    includeUsage: streamOptions?.include_usage === true,
    tool,
    body,
    startedAtMs: Date.now(),
  };
}
