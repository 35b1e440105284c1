/**
 * SGLang: `"return_token_ids": true`; per PROTOCOLS.md the ids arrive at the END,
 * in one `"choices": []` chunk carrying `sglext.prompt_token_ids` and
 * `sglext.completion_token_ids` (per choice). Token events therefore stream text
 * with `id: undefined`, and `done.tokenIds` carries the complete list. Priority
 * is higher-first on SGLang, so ours (lower-first) is negated. Flat error bodies
 * (`{"object":"error","message"}`) are handled by the shared error parser.
 */
import type { DecodeSink } from './dialect.js';
import { openAiLike } from './openai-like.js';
import type { Json } from './openai-shapes.js';

/** `[[ids of choice 0], …]` or a flat `[ids]`: either way, choice 0's ids. */
function firstChoiceIds(value: Json): number[] | undefined {
  if (!Array.isArray(value)) return undefined;
  if (value.length > 0 && Array.isArray(value[0])) return value[0] as number[];
  return value as number[];
}

function decodeSglext(json: Json, sink: DecodeSink): void {
  const ext = json.sglext;
  if (!ext || typeof ext !== 'object') return;
  const prompt = firstChoiceIds(ext.prompt_token_ids);
  if (prompt) sink.promptIds(prompt);
  const completion = firstChoiceIds(ext.completion_token_ids);
  if (completion) sink.completionIds(completion);
}

export const sglang = openAiLike({
  name: 'sglang',
  liveIds: false,
  idFields: { return_token_ids: true },
  includeUsage: true,
  fullSampling: true,
  priority: (priority) => ({ priority: -priority }),
  tokenizePath: '/v1/tokenize',
  detokenizePath: '/v1/detokenize',
  decodeExtra: decodeSglext,
});
