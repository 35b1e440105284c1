/**
 * Fireworks: ids where supported through `return_token_ids` (`choices[i].token_ids`)
 * or `raw_output.completion_token_ids` (taken as the complete list, at the end).
 * Not verified against a live server: ids are treated as arriving at the end.
 */
import type { DecodeSink } from './dialect.js';
import { openAiLike } from './openai-like.js';
import { type Json, numberArray } from './openai-shapes.js';

function decodeRawOutput(json: Json, sink: DecodeSink): void {
  const ids = numberArray(
    json.choices?.[0]?.raw_output?.completion_token_ids ?? json.raw_output?.completion_token_ids,
  );
  if (ids) sink.completionIds(ids);
}

export const fireworks = openAiLike({
  name: 'fireworks',
  liveIds: false,
  idFields: { return_token_ids: true },
  includeUsage: true,
  fullSampling: true,
  decodeExtra: decodeRawOutput,
});
