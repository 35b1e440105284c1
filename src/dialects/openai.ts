/**
 * OpenAI itself, and the generic fallback for unknown OpenAI-compatible servers:
 * text only (OpenAI sends no token ids: token events have `id: undefined`), usage
 * via `stream_options.include_usage`, and only the sampling keys OpenAI accepts
 * (`top_k`, `min_p`, `repetition_penalty` are not sent). Priority is dropped. If an
 * unknown server does put ids in a known place, they are still picked up.
 */
import type { Dialect } from './dialect.js';
import {
  chatBody,
  commonSampling,
  completionBody,
  decodeChatDelta,
  decodeCompletionChoice,
  parseStreamEvent,
  reportUsageAndFinish,
} from './openai-shapes.js';

export const openai: Dialect = {
  name: 'openai',
  liveIds: false,
  idPrompts: true,
  completionRequest(input) {
    const body = completionBody(input, this, true);
    if (input.request.logprobs) body.logprobs = 1;
    return { path: '/v1/completions', body };
  },
  decodeCompletion(event, sink) {
    const json = parseStreamEvent(event, sink);
    if (json !== undefined) decodeCompletionChoice(json, sink);
  },
  chatRequest(input) {
    if (input.continueAssistant !== undefined) return undefined;
    return { path: '/v1/chat/completions', body: chatBody(input, this, true) };
  },
  decodeChat(event, sink) {
    const json = parseStreamEvent(event, sink);
    if (json === undefined) return;
    const choice = Array.isArray(json.choices) ? json.choices[0] : undefined;
    if (choice) decodeChatDelta(choice, undefined, sink);
    reportUsageAndFinish(json, choice, sink);
  },
  priority() {
    return undefined;
  },
  sampling(sampling) {
    return commonSampling(sampling, false);
  },
};
