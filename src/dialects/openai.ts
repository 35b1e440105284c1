/**
 * OpenAI itself, and the generic fallback for unknown OpenAI-compatible servers:
 * text only (OpenAI sends no token ids: token events have `id: undefined`), usage
 * via `stream_options.include_usage`, and only the sampling keys OpenAI accepts
 * (`top_k`, `min_p`, `repetition_penalty` are not sent). Priority is dropped. If an
 * unknown server does put ids in a known place, they are still picked up.
 */
import { openAiLike } from './openai-like.js';
import { OPENAI } from './wire-facts-hosted.js';

export const openai = openAiLike({ name: 'openai', facts: OPENAI, fullSampling: false });
