/**
 * Request validation at the door: a bad argument is an `invalid_option` error
 * naming the field and the value, before anything goes on the wire.
 */
import { InvalidOptionError } from './errors.js';
import { checkKeys, keySet } from './option-keys.js';
import {
  DEFAULT_TIMEOUTS,
  resolveHeaders,
  resolveHedge,
  resolveTimeouts,
  showValue,
} from './option-values.js';
import type { ChatRequest, CommonRequestOptions, CompletionRequest, SamplingOptions } from './types.js';

function bad(field: string, value: unknown, expected: string): never {
  throw new InvalidOptionError(`invalid ${field}: ${showValue(value)} (expected ${expected})`);
}

const SAMPLING_KEYS = keySet<SamplingOptions>({
  temperature: true,
  topP: true,
  topK: true,
  minP: true,
  seed: true,
  repetitionPenalty: true,
  presencePenalty: true,
  frequencyPenalty: true,
});

/** Every field of a request (the compiler checks that none is missing). */
const COMMON_KEYS = {
  maxTokens: true,
  sampling: true,
  stop: true,
  priority: true,
  signal: true,
  extraBody: true,
  model: true,
  logprobs: true,
  session: true,
  affinityKey: true,
  headers: true,
  timeouts: true,
  hedge: true,
} as const satisfies Record<keyof Required<CommonRequestOptions>, true>;
const COMPLETION_KEYS = keySet<CompletionRequest>({ ...COMMON_KEYS, prompt: true, native: true });
const CHAT_KEYS = keySet<ChatRequest>({
  ...COMMON_KEYS,
  messages: true,
  tools: true,
  toolChoice: true,
  responseFormat: true,
});
/** Said with an unknown request field that has no suggestion. */
const EXTRA_BODY_HINT = '; a field the server takes that tokenwire has no option for goes in extraBody';

/** A number in a range; `open` excludes the low end. */
function checkRange(
  field: string,
  value: number | undefined,
  low: number,
  high: number,
  open: boolean,
): void {
  if (value === undefined) return;
  if ((open ? value <= low : value < low) || value > high) {
    bad(field, value, `a number in ${open ? '(' : '['}${low}, ${high}]`);
  }
}

function validateCommon(request: CommonRequestOptions): void {
  const { maxTokens, sampling, stop, priority, signal, extraBody, model, logprobs, session, affinityKey } =
    request;
  if (session !== undefined && (typeof session !== 'string' || session === '')) {
    bad('session', session, 'a non-empty string');
  }
  if (affinityKey !== undefined && (typeof affinityKey !== 'string' || affinityKey === '')) {
    bad('affinityKey', affinityKey, 'a non-empty string');
  }
  if (maxTokens !== undefined && (!Number.isSafeInteger(maxTokens) || maxTokens < 1)) {
    bad('maxTokens', maxTokens, 'an integer ≥ 1');
  }
  if (sampling !== undefined) {
    if (sampling === null || typeof sampling !== 'object') bad('sampling', sampling, 'an object');
    checkKeys(sampling, SAMPLING_KEYS, 'request field', 'sampling.');
    for (const key of Object.keys(sampling)) {
      const value = (sampling as Record<string, unknown>)[key];
      if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value))) {
        bad(`sampling.${key}`, value, 'a finite number');
      }
    }
    if (sampling.temperature !== undefined && sampling.temperature < 0) {
      bad('sampling.temperature', sampling.temperature, 'a number ≥ 0');
    }
    // Ranges as vLLM checks them (vllm/sampling_params.py SamplingParams._verify_args at
    // 00388f65): top_p in (0, 1], min_p in [0, 1], repetition_penalty > 0.
    checkRange('sampling.topP', sampling.topP, 0, 1, true);
    checkRange('sampling.minP', sampling.minP, 0, 1, false);
    if (sampling.repetitionPenalty !== undefined && sampling.repetitionPenalty <= 0) {
      bad('sampling.repetitionPenalty', sampling.repetitionPenalty, 'a number > 0');
    }
    if (sampling.topK !== undefined && !Number.isSafeInteger(sampling.topK))
      bad('sampling.topK', sampling.topK, 'an integer');
    if (sampling.seed !== undefined && !Number.isSafeInteger(sampling.seed))
      bad('sampling.seed', sampling.seed, 'an integer');
  }
  if (stop !== undefined) {
    const ok = typeof stop === 'string' || (Array.isArray(stop) && stop.every((s) => typeof s === 'string'));
    if (!ok) bad('stop', stop, 'a string or an array of strings');
  }
  if (priority !== undefined && !Number.isSafeInteger(priority)) bad('priority', priority, 'an integer');
  if (logprobs !== undefined && typeof logprobs !== 'boolean') bad('logprobs', logprobs, 'a boolean');
  if (signal !== undefined && !(signal instanceof AbortSignal)) bad('signal', signal, 'an AbortSignal');
  if (
    extraBody !== undefined &&
    (extraBody === null || typeof extraBody !== 'object' || Array.isArray(extraBody))
  ) {
    bad('extraBody', extraBody, 'a plain object');
  }
  if (model !== undefined && (typeof model !== 'string' || model === ''))
    bad('model', model, 'a non-empty string');
  if (request.timeouts !== undefined) resolveTimeouts(request.timeouts, DEFAULT_TIMEOUTS, 'request field');
  if (request.headers !== undefined) resolveHeaders(request.headers);
  resolveHedge(request.hedge, 'request field');
}

export function validateCompletionRequest(request: CompletionRequest): void {
  if (request === null || typeof request !== 'object') bad('request', request, 'an object');
  checkKeys(request, COMPLETION_KEYS, 'request field', '', EXTRA_BODY_HINT);
  const { prompt } = request;
  if (typeof prompt === 'string') {
    if (prompt === '') bad('prompt', prompt, 'a non-empty string or token ids');
  } else if (Array.isArray(prompt)) {
    if (prompt.length === 0) bad('prompt', prompt, 'a non-empty array of token ids');
    for (let i = 0; i < prompt.length; i++) {
      const id = prompt[i];
      if (!Number.isInteger(id) || id < 0) bad(`prompt[${i}]`, id, 'a token id (integer ≥ 0)');
    }
  } else {
    bad('prompt', prompt, 'token ids (number[]) or a string');
  }
  if (request.native !== undefined && typeof request.native !== 'boolean')
    bad('native', request.native, 'a boolean');
  validateCommon(request);
}

export function validateChatRequest(request: ChatRequest): void {
  if (request === null || typeof request !== 'object') bad('request', request, 'an object');
  checkKeys(request, CHAT_KEYS, 'request field', '', EXTRA_BODY_HINT);
  const { messages } = request;
  if (!Array.isArray(messages) || messages.length === 0)
    bad('messages', messages, 'a non-empty array of messages');
  messages.forEach((message, i) => {
    if (message === null || typeof message !== 'object' || typeof message.role !== 'string') {
      bad(`messages[${i}]`, message, 'an object with a string role');
    }
  });
  if (request.tools !== undefined && !Array.isArray(request.tools)) bad('tools', request.tools, 'an array');
  validateCommon(request);
}
