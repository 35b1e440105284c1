/**
 * Request validation at the door: a bad argument is an `invalid_option` error
 * naming the field and the value, before anything goes on the wire.
 */
import { InvalidOptionError } from './errors.js';
import { showValue } from './options.js';
import type { ChatRequest, CommonRequestOptions, CompletionRequest } from './types.js';

function bad(field: string, value: unknown, expected: string): never {
  throw new InvalidOptionError(`invalid ${field}: ${showValue(value)} (expected ${expected})`);
}

const SAMPLING_KEYS = [
  'temperature',
  'topP',
  'topK',
  'minP',
  'seed',
  'repetitionPenalty',
  'presencePenalty',
  'frequencyPenalty',
] as const;

function validateCommon(request: CommonRequestOptions): void {
  const { maxTokens, sampling, stop, priority, signal, extraBody, model, session, affinityKey } = request;
  if (session !== undefined && (typeof session !== 'string' || session === '')) {
    bad('session', session, 'a non-empty string');
  }
  if (affinityKey !== undefined && (typeof affinityKey !== 'string' || affinityKey === '')) {
    bad('affinityKey', affinityKey, 'a non-empty string');
  }
  if (maxTokens !== undefined && (!Number.isInteger(maxTokens) || maxTokens < 1)) {
    bad('maxTokens', maxTokens, 'an integer ≥ 1');
  }
  if (sampling !== undefined) {
    if (sampling === null || typeof sampling !== 'object') bad('sampling', sampling, 'an object');
    for (const key of Object.keys(sampling)) {
      if (!(SAMPLING_KEYS as readonly string[]).includes(key)) {
        bad(
          `sampling.${key}`,
          (sampling as Record<string, unknown>)[key],
          `one of ${SAMPLING_KEYS.join(', ')}`,
        );
      }
      const value = (sampling as Record<string, unknown>)[key];
      if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value))) {
        bad(`sampling.${key}`, value, 'a finite number');
      }
    }
    if (sampling.temperature !== undefined && sampling.temperature < 0) {
      bad('sampling.temperature', sampling.temperature, 'a number ≥ 0');
    }
    if (sampling.topK !== undefined && !Number.isInteger(sampling.topK))
      bad('sampling.topK', sampling.topK, 'an integer');
    if (sampling.seed !== undefined && !Number.isInteger(sampling.seed))
      bad('sampling.seed', sampling.seed, 'an integer');
  }
  if (stop !== undefined) {
    const ok = typeof stop === 'string' || (Array.isArray(stop) && stop.every((s) => typeof s === 'string'));
    if (!ok) bad('stop', stop, 'a string or an array of strings');
  }
  if (priority !== undefined && (typeof priority !== 'number' || !Number.isFinite(priority))) {
    bad('priority', priority, 'a finite number');
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) bad('signal', signal, 'an AbortSignal');
  if (
    extraBody !== undefined &&
    (extraBody === null || typeof extraBody !== 'object' || Array.isArray(extraBody))
  ) {
    bad('extraBody', extraBody, 'a plain object');
  }
  if (model !== undefined && (typeof model !== 'string' || model === ''))
    bad('model', model, 'a non-empty string');
}

export function validateCompletionRequest(request: CompletionRequest): void {
  if (request === null || typeof request !== 'object') bad('request', request, 'an object');
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
  validateCommon(request);
}

export function validateChatRequest(request: ChatRequest): void {
  if (request === null || typeof request !== 'object') bad('request', request, 'an object');
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
