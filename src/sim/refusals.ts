/**
 * Requests a real server refuses before generating, in its own words. Each
 * check cites where the server does it; the handler renders the SimHttpError in
 * the dialect's error shape (http-errors.ts).
 */
import { type WireFacts, wireFactsByLabel } from '../dialects/wire-facts.js';
import { llamaBuild } from './llamacpp-builds.js';
import { type RequestContext, SimHttpError } from './request.js';

/** The b4748 row: the llama.cpp encoder's fallback when a request carries no row (every llama.cpp name resolves to one). */
export const B4748 = wireFactsByLabel('llamacpp@b4748') as WireFacts;

/**
 * llama.cpp 2026 answers a prompt that does not fit the context (n_ctx: the
 * simulator's maxModelLen) with HTTP 400 `exceed_context_size_error` naming both
 * counts, streaming or not (its row's httpErrors, from
 * llamacpp-2026/examples/50_c64_v1cmpl_stream_longprompt.txt; a prompt exactly
 * as long as the context is taken as not fitting, which the recordings do not
 * show). b4748 cuts the prompt instead (cutLlamaPrompt), so nothing is refused there.
 */
export function checkLlamaContext(ctx: RequestContext, promptTokens: number): void {
  const build = llamaBuild(ctx.facts ?? B4748);
  if (build.contextError === undefined || promptTokens < ctx.maxModelLen) return;
  throw new SimHttpError(
    400,
    `request (${promptTokens} tokens) exceeds the available context size (${ctx.maxModelLen} tokens), try increasing it`,
    undefined,
    null,
    { type: build.contextError.type, extra: { n_prompt_tokens: promptTokens, n_ctx: ctx.maxModelLen } },
  );
}

/**
 * llama.cpp builds that do not refuse an over-long prompt (b4748: context shift on by
 * default) cut it instead, as `server_context::update_slots` does at 03d4bccb685f
 * (examples/server/server.cpp; wire-facts `context`): with n_keep 0 (the default) it
 * drops whole blocks of n_ctx / 2 tokens from the start until the rest fits. Returns the
 * cut prompt, or undefined when the prompt fits or the build refuses instead.
 */
export function cutLlamaPrompt(ctx: RequestContext, ids: number[]): number[] | undefined {
  const build = llamaBuild(ctx.facts ?? B4748);
  const nCtx = ctx.maxModelLen;
  if (build.contextError !== undefined || ids.length < nCtx) return undefined;
  const block = Math.max(1, Math.floor(nCtx / 2));
  const erasedBlocks = Math.floor((ids.length - block) / block);
  return ids.slice(erasedBlocks * block);
}

/**
 * vLLM's `OpenAIServing._check_model` (vllm/entrypoints/openai/engine/serving.py
 * at 00bd1493b3e8): a request naming a model the server does not serve is a 404
 * `NotFoundError` with param "model"; no model at all is served by the default one.
 */
export function checkModel(ctx: RequestContext, body: Record<string, unknown>): void {
  if (ctx.dialect !== 'vllm') return;
  const model = body.model;
  if (typeof model !== 'string' || model === '' || model === ctx.model) return;
  throw new SimHttpError(404, `The model \`${model}\` does not exist.`, 'NotFoundError', 'model');
}

/**
 * vLLM's `OpenAIServing._validate_input` (same file): a prompt that fills the
 * context, or prompt + max_tokens past it, is a 400 with param "input_tokens" /
 * "max_tokens". The message is `str(VLLMValidationError)`, which appends
 * "(parameter=…, value=…)" (vllm/exceptions.py `VLLMValidationError.__str__` at
 * f984edf698e8); `create_error_response` takes param from the exception. Only an
 * explicit max_tokens is checked: vLLM's default is whatever room is left.
 */
export function checkContext(ctx: RequestContext, promptTokens: number, maxTokens: number | undefined): void {
  if (ctx.dialect !== 'vllm' || ctx.endpoint === 'native') return;
  const limit = ctx.maxModelLen;
  if (promptTokens >= limit) {
    throw new SimHttpError(
      400,
      `This model's maximum context length is ${limit} tokens. However, your request has ${promptTokens} input tokens. Please reduce the length of the input messages. (parameter=input_tokens, value=${promptTokens})`,
      'BadRequestError',
      'input_tokens',
    );
  }
  if (maxTokens !== undefined && promptTokens + maxTokens > limit) {
    throw new SimHttpError(
      400,
      `'max_tokens' or 'max_completion_tokens' is too large: ${maxTokens}. This model's maximum context length is ${limit} tokens and your request has ${promptTokens} input tokens (${maxTokens} > ${limit} - ${promptTokens}). (parameter=max_tokens, value=${maxTokens})`,
      'BadRequestError',
      'max_tokens',
    );
  }
}

/** A request value that sets a field: not absent, null, false, 0 or ''. */
function isSet(value: unknown): boolean {
  return value !== undefined && value !== null && value !== false && value !== 0 && value !== '';
}

/**
 * The refusals of the emulated version, as its wire-facts row lists them
 * (`refusals`: endpoint, the body fields that trigger it, status, message): SGLang's
 * 400 for `return_token_ids` on a streamed chat, vLLM's 400 for a non-zero
 * `priority` without `--scheduling-policy priority` (the `priorityScheduling`
 * option lifts it). A trigger that says `stream: true` applies to streams only;
 * the message names the value sent where the row's example names its own.
 */
export function checkRefusals(ctx: RequestContext, body: Record<string, unknown>): void {
  const facts = ctx.facts;
  if (facts === undefined || ctx.endpoint === 'native') return;
  for (const refusal of facts.refusals) {
    if (refusal.endpoint !== 'both' && refusal.endpoint !== ctx.endpoint) continue;
    if (/stream: true/.test(refusal.trigger) && body.stream !== true) continue;
    const fields = Object.keys(refusal.body);
    if (!fields.every((field) => isSet(body[field]))) continue;
    if (fields.includes(facts.priority.field ?? '\0') && ctx.priorityScheduling) continue;
    let message = refusal.message;
    for (const field of fields) {
      message = message.replace(
        `${field} ${JSON.stringify(refusal.body[field])}`,
        `${field} ${JSON.stringify(body[field])}`,
      );
    }
    throw new SimHttpError(refusal.status, message);
  }
}
