/**
 * vLLM (≥ 0.10): ids via `"return_token_ids": true` in `choices[i].token_ids`
 * (several per chunk possible), prompt ids on the first chunk, usage in a final
 * `choices: []` chunk with `stream_options.include_usage`, priority where lower
 * values are served earlier (our convention, passed as is), chat continuation
 * with `continue_final_message`. Older vLLM spells ids `"token_id:N"` in legacy
 * logprobs (decoded too).
 */
import { openAiLike } from './openai-like.js';

export const vllm = openAiLike({
  name: 'vllm',
  liveIds: true,
  idFields: { return_token_ids: true },
  includeUsage: true,
  fullSampling: true,
  priority: (priority) => ({ priority }),
  continueChat: true,
  tokenizePath: '/tokenize',
  detokenizePath: '/detokenize',
});
