/**
 * Fireworks: ids live with `return_token_ids` (`choices[i].token_ids`,
 * `prompt_token_ids` on the first chunk; chat also at the top level). An opt-in
 * `raw_output.completion_token_ids` is taken as the complete list when present.
 * Not verified against a live server (see docs/servers.md). Facts: wire-facts-hosted.ts.
 */
import type { DecodeSink } from './dialect.js';
import { openAiLike } from './openai-like.js';
import { type Json, numberArray } from './openai-shapes.js';
import { FIREWORKS } from './wire-facts-hosted.js';

function decodeRawOutput(json: Json, sink: DecodeSink): void {
  const raw = json.choices?.[0]?.raw_output ?? json.raw_output;
  if (raw === undefined) return;
  const ids = numberArray(raw?.completion_token_ids);
  if (ids) sink.completionIds(ids);
}

export const fireworks = openAiLike({
  name: 'fireworks',
  facts: FIREWORKS,
  fullSampling: true,
  decodeChatExtra: decodeRawOutput,
});
