/**
 * Together: one id per chunk, `choices[0].token_id` on completions and
 * `choices[0].delta.token_id` on chat; usage on the final chunk. No priority.
 */
import { openAiLike } from './openai-like.js';

export const together = openAiLike({
  name: 'together',
  liveIds: true,
  includeUsage: true,
  fullSampling: true,
});
