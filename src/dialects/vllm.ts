/**
 * vLLM (≥ 0.10): ids via `"return_token_ids": true` in `choices[i].token_ids`,
 * several per chunk possible; prompt ids on the first chunk; usage in a final
 * `choices: []` chunk when `stream_options.include_usage` is set; priority where
 * lower values are served earlier (our convention, passed as is).
 */
import type { Dialect } from './dialect.js';
import {
  chatBody,
  commonSampling,
  completionBody,
  decodeChatDelta,
  decodeCompletionChoice,
  numberArray,
  parseStreamEvent,
  reportUsageAndFinish,
} from './openai-shapes.js';

export const vllm: Dialect = {
  name: 'vllm',
  liveIds: true,
  idPrompts: true,
  completionRequest(input) {
    const body = completionBody(input, this, true);
    body.return_token_ids = true;
    if (input.request.logprobs) body.logprobs = 1;
    return { path: '/v1/completions', body };
  },
  decodeCompletion(event, sink) {
    const json = parseStreamEvent(event, sink);
    if (json !== undefined) decodeCompletionChoice(json, sink);
  },
  chatRequest(input) {
    const body = chatBody(input, this, true);
    body.return_token_ids = true;
    if (input.continueAssistant !== undefined) {
      body.messages = [...input.request.messages, { role: 'assistant', content: input.continueAssistant }];
      body.continue_final_message = true;
      body.add_generation_prompt = false;
    }
    return { path: '/v1/chat/completions', body };
  },
  decodeChat(event, sink) {
    const json = parseStreamEvent(event, sink);
    if (json === undefined) return;
    const choice = Array.isArray(json.choices) ? json.choices[0] : undefined;
    if (Array.isArray(json.prompt_token_ids)) sink.promptIds(json.prompt_token_ids);
    if (choice) decodeChatDelta(choice, numberArray(choice.token_ids), sink);
    reportUsageAndFinish(json, choice, sink);
  },
  tokenizeRequest(text, model) {
    return { path: '/tokenize', body: model === undefined ? { prompt: text } : { model, prompt: text } };
  },
  parseTokenize(json) {
    return numberArray((json as { tokens?: unknown })?.tokens);
  },
  detokenizeRequest(ids, model) {
    return { path: '/detokenize', body: model === undefined ? { tokens: ids } : { model, tokens: ids } };
  },
  parseDetokenize(json) {
    const prompt = (json as { prompt?: unknown })?.prompt;
    return typeof prompt === 'string' ? prompt : undefined;
  },
  priority(priority) {
    return { priority };
  },
  sampling(sampling) {
    return commonSampling(sampling, true);
  },
};
