/**
 * OpenRouter: text only (no ids), keepalive comments (`: OPENROUTER PROCESSING`)
 * for as long as a model queues, usage on the last chunk, in-stream errors as a
 * chunk with `error` and `finish_reason: "error"`. Accepts the extended sampling
 * keys. No priority, no tokenize.
 */
import { openAiLike } from './openai-like.js';

export const openrouter = openAiLike({
  name: 'openrouter',
  liveIds: false,
  includeUsage: true,
  fullSampling: true,
});
