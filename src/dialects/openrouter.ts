/**
 * OpenRouter: text only (no ids), keepalive comments (`: OPENROUTER PROCESSING`)
 * for as long as a model queues, usage on the last chunk, in-stream errors as a
 * chunk with `error` and `finish_reason: "error"`, its request id in
 * `X-Generation-Id`. Accepts the extended sampling keys. No priority, no tokenize.
 */
import { openAiLike } from './openai-like.js';
import { OPENROUTER } from './wire-facts-hosted.js';

export const openrouter = openAiLike({ name: 'openrouter', facts: OPENROUTER, fullSampling: true });
