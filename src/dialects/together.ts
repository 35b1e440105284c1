/**
 * Together: one id per chunk in `choices[0].delta.token_id` (beside
 * `choices[0].text` on completions), sometimes `null` — that token then has no
 * id and the stream's ids are marked incomplete. `finish_reason: "eos"` is a
 * normal stop. No priority. Facts and citations: wire-facts-hosted.ts.
 */
import { openAiLike } from './openai-like.js';
import { TOGETHER } from './wire-facts-hosted.js';

export const together = openAiLike({ name: 'together', facts: TOGETHER, fullSampling: true });
