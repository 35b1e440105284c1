/**
 * vLLM. From 0.10.2 ids come live with `"return_token_ids": true`
 * (`choices[i].token_ids`, several per chunk possible, prompt ids on the first
 * chunk); older servers ignore that field, so for them (detected by `GET /version`)
 * ids are asked as `"token_id:N"` logprob tokens (`return_tokens_as_token_ids`).
 * Usage in a final `choices: []` chunk with `stream_options.include_usage`;
 * priority lower-first (our convention, passed as is) — a non-zero value is an
 * HTTP 400 unless the server runs with `--scheduling-policy priority`, and the
 * error says so. Chat continuation with `continue_final_message`. Facts and
 * citations: wire-facts-vllm.ts.
 */
import type { Dialect, ServerInfo } from './dialect.js';
import { openAiLike } from './openai-like.js';
import { compareVersions } from './wire-facts.js';
import type { WireFacts } from './wire-facts-types.js';
import { VLLM_CURRENT, VLLM_LEGACY } from './wire-facts-vllm.js';

/** The server's words when a non-zero priority meets FCFS scheduling (v1 input processor). */
const PRIORITY_REFUSED = 'Priority scheduling is not enabled';

function build(facts: WireFacts): Dialect {
  return openAiLike({
    name: 'vllm',
    facts,
    fullSampling: true,
    priority: (priority) => ({ priority }),
    tokenizePath: '/tokenize',
    detokenizePath: '/detokenize',
    forServer,
    explainHttpError(status, body, request) {
      if (status !== 400 || !body.includes(PRIORITY_REFUSED)) return undefined;
      const priority = request.body.priority;
      return `this vLLM server does not run with --scheduling-policy priority, so it refuses priority ${String(priority)}: start it with --scheduling-policy priority, or send priority 0 (or none)`;
    },
  });
}

/** vLLM ≥ 0.10.2 (and servers whose version is unknown). */
export const vllm: Dialect = build(VLLM_CURRENT);
/** vLLM < 0.10.2: `return_token_ids` is ignored there. */
const vllmLegacy: Dialect = build(VLLM_LEGACY);

function forServer(info: ServerInfo): Dialect {
  const below = VLLM_LEGACY.versions.below!;
  return info.version !== undefined && compareVersions(info.version, below) < 0 ? vllmLegacy : vllm;
}
