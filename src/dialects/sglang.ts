/**
 * SGLang. Completions stream ids live with `"return_token_ids": true`
 * (`choices[i].token_ids`, `prompt_token_ids` on each choice's first chunk).
 * Chat refuses `return_token_ids` when streaming (HTTP 400), so chat asks with
 * `return_output_ids_in_sglext` / `return_input_ids_in_sglext`: the ids come once,
 * at the end, in a `"choices": []` chunk as `sglext.output_ids` (one list per
 * choice) and `sglext.input_ids` (flat) — or as `event: sglext_ids` when the
 * request sent `x-sglext-ids-framed: 1` (decoded either way). Chat token events
 * therefore stream text with `id: undefined`, and `done.tokenIds` has all ids.
 * `finish_reason: "abort"` (a server-side abort) ends the stream as an error.
 * Priority is higher-first on SGLang, so ours (lower-first) is negated — unless
 * `/server_info` says the server runs with `--schedule-low-priority-values-first`.
 * Facts and citations: wire-facts-sglang.ts.
 */
import type { DecodeSink, Dialect, ServerInfo } from './dialect.js';
import { openAiLike } from './openai-like.js';
import { type Json, numberArray } from './openai-shapes.js';
import { SGLANG_CURRENT } from './wire-facts-sglang.js';

/** `sglext.output_ids` is one list per choice: choice 0's (a flat list is taken as it is). */
function firstChoiceIds(value: Json): number[] | undefined {
  if (!Array.isArray(value)) return undefined;
  if (value.length > 0 && Array.isArray(value[0])) return value[0] as number[];
  return numberArray(value);
}

/** The end-of-stream ids chunk (`data:` or `event: sglext_ids`). */
function decodeSglext(json: Json, sink: DecodeSink): void {
  const ext = json.sglext;
  if (!ext || typeof ext !== 'object') return;
  const input = numberArray(ext.input_ids);
  if (input) sink.promptIds(input);
  const output = firstChoiceIds(ext.output_ids);
  if (output) sink.completionIds(output);
}

function build(negate: boolean): Dialect {
  return openAiLike({
    name: 'sglang',
    facts: SGLANG_CURRENT,
    fullSampling: true,
    priority: negate ? (priority) => ({ priority: -priority }) : (priority) => ({ priority }),
    tokenizePath: '/v1/tokenize',
    detokenizePath: '/v1/detokenize',
    decodeChatExtra: decodeSglext,
    forServer,
  });
}

export const sglang: Dialect = build(true);
/** A server started with `--schedule-low-priority-values-first`: our convention, passed as is. */
const sglangLowFirst: Dialect = build(false);

function forServer(info: ServerInfo): Dialect {
  return info.lowPriorityValuesFirst === true ? sglangLowFirst : sglang;
}
