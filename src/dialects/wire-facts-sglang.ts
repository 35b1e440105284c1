/**
 * Wire facts of SGLang (current main): completions stream ids live, chat gives
 * them once at the end in `sglext` and refuses `return_token_ids` when streaming.
 * See wire-facts-types.ts.
 */
import { docs, sglangSource } from './wire-facts-cite.js';
import { SGLANG_HOLDBACK } from './wire-facts-holdback.js';
import type { WireFacts } from './wire-facts-types.js';

const CHAT = (where: string) => sglangSource('entrypoints/openai/serving_chat.py', where);
const COMPLETIONS = (where: string) =>
  sglangSource(
    'entrypoints/openai/serving_completions.py',
    where,
    '004c82e07d876f6e4a0ad6e15325706b0f478f1a',
  );
const SERVER_ARGS = (where: string) => sglangSource('server_args.py', where);
const HTTP_SERVER = (where: string) => sglangSource('entrypoints/http_server.py', where);
/** Cached prompt tokens in usage: only with --enable-cache-report, only when not 0. */
const CACHED_TOKENS = {
  when: 'nonzero-with-flag',
  flag: '--enable-cache-report',
  cite: [
    sglangSource(
      'entrypoints/openai/usage_processor.py',
      'calculate_streaming_usage / _details_if_cached (`{"cached_tokens": N} only when N > 0`)',
      '9e738dbafab35954e694d4f038a29ea48923ff6e',
    ),
  ],
} as const;

/** SGLang main as read in 2026-12 (0.5.x). */
export const SGLANG_CURRENT: WireFacts = {
  label: 'sglang@0.5',
  dialect: 'sglang',
  version: 'current (read at main, 2026-12)',
  versions: {},
  completions: {
    path: '/v1/completions',
    ids: {
      delivery: 'live',
      ask: { return_token_ids: true },
      field: 'choices[i].token_ids',
      promptField: "choices[i].prompt_token_ids (each choice's first chunk)",
      cite: [COMPLETIONS('_generate_completion_stream: chunk_token_ids = output_ids[n_prev_token_id:]')],
    },
    usage: {
      when: 'include_usage',
      where: 'usage-chunk',
      cite: [COMPLETIONS('_generate_completion_stream: final_usage_chunk with choices=[]')],
      cachedTokens: CACHED_TOKENS,
    },
    finishOn: 'last-token',
    end: '[DONE]',
    resume: true,
    cite: [
      COMPLETIONS('_generate_completion_stream: finish_reason and matched_stop on the chunk; data: [DONE]'),
    ],
  },
  chat: {
    path: '/v1/chat/completions',
    ids: {
      delivery: 'end',
      ask: { return_output_ids_in_sglext: true, return_input_ids_in_sglext: true },
      askHeaders: { 'x-sglext-ids-framed': '1' },
      field: 'sglext.output_ids[i] (one list per choice) in a final choices: [] chunk',
      promptField: 'sglext.input_ids (flat)',
      framedEvent: 'sglext_ids',
      cite: [
        CHAT('_generate_chat_stream: sglext_chunk / `event: sglext_ids` when x-sglext-ids-framed: 1'),
        CHAT('_should_return_output_ids, _should_return_input_ids'),
      ],
    },
    usage: {
      when: 'include_usage',
      where: 'usage-chunk',
      cite: [CHAT('_generate_chat_stream: usage_chunk with choices=[] after the sglext chunk')],
      cachedTokens: CACHED_TOKENS,
    },
    roleChunk: 'role-empty',
    finishOn: 'separate',
    end: '[DONE]',
    reasoningField: 'reasoning_content',
    resume: false,
    cite: [
      CHAT(
        '_generate_chat_stream: first chunk role="assistant", content=""; finish_reason chunks after the loop',
      ),
    ],
  },
  httpErrors: [
    {
      status: 400,
      cause: 'invalid request (ValueError before the first chunk)',
      body: '{"object":"error","message":"…","type":"BadRequestError","param":null,"code":400}',
      cite: [
        CHAT(
          '_handle_streaming_request: first chunk awaited before HTTP 200, ValueError → create_error_response',
        ),
        sglangSource('entrypoints/openai/protocol.py', 'ErrorResponse (object="error")'),
      ],
    },
  ],
  inStreamError: {
    shape: 'data-error',
    doneAfter: true,
    example:
      '{"error":{"object":"error","message":"…","type":"SERVICE_UNAVAILABLE","param":null,"code":503}}',
    cite: [
      CHAT(
        '_generate_chat_stream: abort with status_code → create_streaming_error_response(message, code.name, code.value); then [DONE]',
      ),
      COMPLETIONS(
        '_generate_completion_stream: same abort path; except Exception after start → data: {error}',
      ),
    ],
  },
  refusals: [
    {
      endpoint: 'chat',
      trigger: 'return_token_ids with stream: true',
      body: { return_token_ids: true },
      status: 400,
      message:
        'return_token_ids is not supported with streaming on /v1/chat/completions. Please set stream=false when using return_token_ids=true.',
      cite: [
        CHAT(
          '_convert_to_internal_request: `if request.stream: … if request.return_token_ids: raise ValueError`',
        ),
        {
          kind: 'source',
          ref: 'sgl-project/sglang test (Ascend suite)',
          where: 'test_return_token_ids_stream_400',
        },
      ],
    },
  ],
  finishReasons: { stop: 'stop', length: 'length', tool_calls: 'tool_calls', abort: 'abort' },
  priority: {
    field: 'priority',
    order: 'higher-first',
    requires: '--enable-priority-scheduling (--schedule-low-priority-values-first flips the order)',
    without: 'abort-if-configured',
    cite: [
      SERVER_ARGS(
        '--enable-priority-scheduling help: "Requests with higher priority integer values will be scheduled first by default"',
      ),
      SERVER_ARGS('--schedule-low-priority-values-first, --abort-on-priority-when-disabled'),
    ],
  },
  detection: {
    path: '/server_info',
    versionField: 'version',
    ownedBy: 'sglang',
    cite: [HTTP_SERVER('server_info (GET /server_info; /get_server_info is the deprecated alias)')],
  },
  affinity: {
    header: 'x-smg-routing-key',
    readBy:
      'the SGLang Model Gateway (consistent_hashing and manual policies: one worker per key) and SGLang itself (its OpenAI endpoints take it as the request routing key, for `--schedule-policy routing-key`)',
    cite: [
      {
        kind: 'source',
        ref: 'sgl-project/sglang sgl-model-gateway/src/policies/consistent_hashing.rs',
        where: 'HEADER_ROUTING_KEY = "x-smg-routing-key", ConsistentHashingPolicy::select_worker_impl',
        revision: 'ef23c7ecfb2fb1250988d7cb489302b1b24f82c0',
      },
      docs(
        'sgl-project/sglang PR 34897',
        'the OpenAI entrypoints extract x-smg-routing-key into routing_key (--schedule-policy routing-key)',
      ),
    ],
  },
  stopHoldback: SGLANG_HOLDBACK,
  tokenize: {
    tokenize: '/v1/tokenize',
    detokenize: '/v1/detokenize',
    cite: [sglangSource('entrypoints/openai/serving_tokenize.py', 'OpenAIServingTokenize')],
    verified: false,
  },
};

/** Documentation pointer for the sglext mechanism (the merged PR). */
export const SGLEXT_NOTE = docs('PROTOCOLS.md (corrected 2026-12): SGLang PR 34488, PR 30917');
