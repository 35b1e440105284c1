/**
 * Wire facts of llama.cpp `llama-server`, from two recordings: build b4748 and
 * 2026 master (b10587). Where the behaviour changed between them is not known;
 * builds below 10587 are taken as b4748 (the decoder accepts both shapes).
 */
import { b4748Fixture, llama2026Fixture, llamaExampleSource, llamaSource } from './wire-facts-cite.js';
import { LLAMACPP_HOLDBACK } from './wire-facts-holdback.js';
import type { Citation, WireFacts } from './wire-facts-types.js';

const F26 = llama2026Fixture;
const FINISH = { stop: 'stop', length: 'length', tool_calls: 'tool_calls' } as const;
const PRIORITY = {
  order: 'ignored',
  cite: [llamaSource('server-task.cpp', 'params_from_json_cmpl (no priority field)')],
  verified: false,
} as const;
/** The revisions of the llama.cpp sources read for the context facts (code index, 2026-12). */
const CONTEXT_2026 = '001d906a6d86';
const TASK_2026 = '00efb3e18426';
const SERVER_2025 = '03d4bccb685f';
/** Defaults: `ctx_shift = false`, `n_keep = 0` (2026 master). */
const COMMON_H: Citation = {
  kind: 'source',
  ref: 'ggml-org/llama.cpp common/common.h',
  where: 'common_params: ctx_shift = false, n_keep = 0',
  revision: CONTEXT_2026,
};

const TOKENIZE_2026 = {
  tokenize: '/tokenize',
  detokenize: '/detokenize',
  cite: [F26('examples/30_tokenize_with_pieces.txt'), F26('examples/32_detokenize.txt')],
} as const;

/** llama.cpp build b4748 (recorded). */
export const LLAMACPP_B4748: WireFacts = {
  label: 'llamacpp@b4748',
  dialect: 'llamacpp',
  version: 'b4748',
  versions: { below: '10587' },
  completions: {
    path: '/v1/completions',
    ids: {
      delivery: 'live',
      ask: { logprobs: 1 },
      field: 'choices[0].logprobs.content[k].id',
      cite: [b4748Fixture('v1-completions-logprobs.sse')],
    },
    usage: {
      when: 'always',
      where: 'finish-chunk',
      cite: [b4748Fixture('v1-completions-usage.sse', 'include_usage ignored; usage on the finish chunk')],
    },
    finishOn: 'separate',
    end: '[DONE]',
    resume: true,
    cite: [
      b4748Fixture('v1-completions-stream.sse'),
      b4748Fixture('README.md', 'Continuation determinism: YES'),
    ],
  },
  chat: {
    path: '/v1/chat/completions',
    ids: {
      delivery: 'live',
      ask: { logprobs: true, top_logprobs: 1 },
      field: 'choices[0].logprobs.content[k].id',
      cite: [llamaSource('server-task.cpp', 'probs_to_json (chat logprobs with id)')],
      verified: false,
    },
    usage: { when: 'always', where: 'finish-chunk', cite: [b4748Fixture('v1-chat-stream.sse')] },
    roleChunk: 'none',
    finishOn: 'separate',
    end: '[DONE]',
    reasoningField: 'reasoning_content',
    logprobIds: 'choices[0].logprobs.content[k].id',
    resume: false,
    cite: [b4748Fixture('v1-chat-stream.sse', 'no role chunk')],
  },
  httpErrors: [
    {
      status: 500,
      cause: 'missing prompt',
      body: '{"error":{"code":500,"message":"\\"prompt\\" is required","type":"server_error"}}',
      cite: [b4748Fixture('error-http-missing-prompt.txt')],
    },
    {
      status: 500,
      cause: 'malformed JSON body',
      body: '{"error":{"code":500,"message":"[json.exception.parse_error.101] …","type":"server_error"}}',
      cite: [b4748Fixture('error-http.txt')],
    },
    {
      status: 400,
      cause: 'prompt larger than the context (non-stream)',
      body: '{"error":{"code":400,"message":"the request exceeds the available context size. try increasing the context size or enable context shift","type":"invalid_request_error"}}',
      cite: [b4748Fixture('error-http-context.txt')],
    },
    {
      status: 404,
      cause: 'unknown path',
      body: '{"error":{"code":404,"message":"File Not Found","type":"not_found_error"}}',
      cite: [b4748Fixture('error-http-404.txt')],
    },
  ],
  inStreamError: {
    shape: 'error-field',
    doneAfter: true,
    example: '{"code":500,"message":"context shift is disabled","type":"server_error"}',
    cite: [b4748Fixture('error-in-stream.sse'), b4748Fixture('error-in-stream-prompt.sse')],
  },
  refusals: [],
  finishReasons: FINISH,
  priority: PRIORITY,
  detection: {
    path: '/props',
    versionField: 'build_info',
    serverHeader: 'llama.cpp',
    ownedBy: 'llamacpp',
    cite: [
      b4748Fixture('error-http-404.txt', 'Server: llama.cpp'),
      b4748Fixture('README.md', '/props exists'),
    ],
  },
  // Read at 2026 master only: b4748's server.cpp is taken to hold back the same way.
  stopHoldback: { ...LLAMACPP_HOLDBACK, verified: false },
  tokenize: { tokenize: '/tokenize', detokenize: '/detokenize', cite: [b4748Fixture('tokenize.json')] },
  context: {
    overlongPrompt: 'cut',
    flag: '`truncated: true` on the native `/completion` final event only (never on `/v1`)',
    usage: '`usage.prompt_tokens` (native `tokens_evaluated`) counts the cut prompt',
    cite: [
      b4748Fixture(
        'README.md',
        'with context shift enabled (the default) an over-long prompt is silently truncated, truncated:true',
      ),
      llamaExampleSource(
        'server.cpp',
        'server_context::update_slots: "if input prompt is too big, truncate it" (keeps n_keep tokens, drops whole blocks of (n_ctx - n_keep) / 2 after them), slot.truncated = true, n_prompt_tokens = the cut size; send_final_response: truncated, n_prompt_tokens, n_tokens_cached = n_past',
        SERVER_2025,
      ),
      llamaExampleSource(
        'server.cpp',
        'server_task_result_cmpl_final::to_json_oaicompat, to_json_oaicompat_chat(_stream): no truncated field (only inside __verbose)',
        SERVER_2025,
      ),
    ],
  },
};

/** 2026 usage always says how many prompt tokens came from the cache (0 too); b4748's never did. */
const CACHED_2026 = {
  when: 'always',
  cite: [
    F26('examples/01_v1cmpl_stream_plain.txt', '"prompt_tokens_details":{"cached_tokens":0}'),
    F26('examples/11_chat_stream_include_usage.txt', '"prompt_tokens_details":{"cached_tokens":40}'),
    llamaSource(
      'server-task.cpp',
      'server_task_result_cmpl_final::usage_json_oaicompat (cached_tokens = n_prompt_tokens_cache)',
      '17f5f8a80d8ac9c18c23ecb2321640daeec77096',
    ),
  ],
} as const;

/** llama.cpp 2026 master, build b10587 (recorded). */
export const LLAMACPP_2026: WireFacts = {
  label: 'llamacpp@2026',
  dialect: 'llamacpp',
  version: 'b10587',
  versions: { from: '10587' },
  completions: {
    path: '/v1/completions',
    ids: {
      delivery: 'live',
      ask: { logprobs: 1 },
      field: 'choices[0].logprobs.content[k].id',
      cite: [F26('examples/02_v1cmpl_stream_logprobs1.txt')],
    },
    usage: {
      when: 'always',
      where: 'finish-chunk',
      cite: [F26('examples/01_v1cmpl_stream_plain.txt'), F26('examples/07_v1cmpl_stream_include_usage.txt')],
      cachedTokens: CACHED_2026,
    },
    finishOn: 'separate',
    end: '[DONE]',
    resume: true,
    cite: [F26('examples/01_v1cmpl_stream_plain.txt')],
  },
  chat: {
    path: '/v1/chat/completions',
    ids: {
      delivery: 'live',
      ask: { logprobs: true, top_logprobs: 1 },
      field: 'choices[0].logprobs.content[k].id',
      cite: [
        F26(
          'examples/12_chat_stream_logprobs.txt',
          'ids beside each content delta; 20 top entries by default',
        ),
        F26('examples/13_chat_stream_logprobs_top2.txt', 'top_logprobs sets the number of top entries'),
      ],
    },
    usage: {
      when: 'include_usage',
      where: 'usage-chunk',
      cite: [F26('examples/10_chat_stream_plain.txt'), F26('examples/11_chat_stream_include_usage.txt')],
      cachedTokens: CACHED_2026,
    },
    roleChunk: 'role-null',
    finishOn: 'separate',
    end: '[DONE]',
    reasoningField: 'reasoning_content',
    logprobIds: 'choices[0].logprobs.content[k].id',
    resume: false,
    cite: [F26('examples/10_chat_stream_plain.txt', 'delta {"role":"assistant","content":null} first')],
  },
  httpErrors: [
    {
      status: 400,
      cause: 'prompt does not fit the context (streaming or not)',
      body: '{"error":{"code":400,"message":"request (300 tokens) exceeds the available context size (256 tokens), try increasing it","type":"exceed_context_size_error","n_prompt_tokens":300,"n_ctx":256}}',
      cite: [
        F26('examples/50_c64_v1cmpl_stream_longprompt.txt'),
        llamaSource('server-task.cpp', 'server_task_result_error::to_json (n_prompt_tokens, n_ctx)'),
      ],
    },
    {
      status: 400,
      cause: 'missing prompt',
      body: '{"error":{"code":400,"message":"[json.exception.out_of_range.403] key \'prompt\' not found","type":"invalid_request_error"}}',
      cite: [F26('examples/70_v1cmpl_stream_missing_prompt.txt')],
    },
    {
      status: 500,
      cause: 'malformed JSON body',
      body: '{"error":{"code":500,"message":"[json.exception.parse_error.101] …","type":"server_error"}}',
      cite: [F26('examples/72_v1cmpl_stream_bad_json.txt')],
    },
    {
      status: 404,
      cause: 'unknown path',
      body: '{"error":{"code":404,"message":"File Not Found","type":"not_found_error"}}',
      cite: [F26('examples/79_unknown_endpoint.txt')],
    },
  ],
  inStreamError: {
    shape: 'data-error',
    doneAfter: false,
    example: '{"error":{"code":500,"message":"Context size has been exceeded.","type":"server_error"}}',
    cite: [
      F26('examples/60_c64_concurrent_v1cmpl_stream.txt'),
      F26('examples/61_c64_concurrent_chat_stream.txt'),
    ],
  },
  refusals: [],
  finishReasons: FINISH,
  priority: PRIORITY,
  detection: {
    path: '/props',
    versionField: 'build_info',
    serverHeader: 'llama.cpp',
    ownedBy: 'llamacpp',
    cite: [F26('examples/34_props.txt'), F26('examples/33_v1_models.txt')],
  },
  stopHoldback: LLAMACPP_HOLDBACK,
  tokenize: TOKENIZE_2026,
  context: {
    overlongPrompt: 'refuse',
    flag: '`truncated: true` on the native `/completion` final event only (never on `/v1`): the context filled up (`stop_type: "limit"`, `tokens_cached` = `tokens_evaluated` + `tokens_predicted` - 1: nothing dropped), or `--context-shift` (off by default) discarded tokens (`tokens_cached` smaller)',
    cite: [
      llamaSource(
        'server-context.cpp',
        'pre_decode: a prompt of n_ctx tokens or more is send_error "request (N tokens) exceeds the available context size (M tokens), try increasing it" (ERROR_TYPE_EXCEED_CONTEXT_SIZE); with ctx_shift, n_discard tokens after n_keep are dropped and slot.truncated = true',
        CONTEXT_2026,
      ),
      llamaSource(
        'server-context.cpp',
        'process_token: without ctx_shift a full context sets truncated, STOP_TYPE_LIMIT',
        CONTEXT_2026,
      ),
      llamaSource(
        'server-task.cpp',
        'server_task_result_cmpl_final::to_json_non_oaicompat sends truncated, tokens_cached; to_json_oaicompat* do not',
        TASK_2026,
      ),
      COMMON_H,
      F26(
        'examples/47_c64_native_stream_400.txt',
        'truncated: true, stop_type "limit", tokens_cached 255 = 3 + 253 - 1',
      ),
      F26('examples/50_c64_v1cmpl_stream_longprompt.txt'),
    ],
  },
};
