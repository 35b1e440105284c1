/**
 * Requests a real server refuses before generating, in its own words. Each
 * check cites where the server does it; the handler renders the SimHttpError in
 * the dialect's error shape (http-errors.ts).
 */
import { type RequestContext, SimHttpError } from './request.js';

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
