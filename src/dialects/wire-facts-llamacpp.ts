/**
 * Wire facts of llama.cpp `llama-server`, from two recordings: build b4748 and
 * 2026 master (b10587). Where the behaviour changed between them is not known;
 * builds below 10587 are taken as b4748 (the decoder accepts both shapes).
 */
import { b4748Fixture, llama2026Fixture, llamaSource } from './wire-facts-cite.js';
import { LLAMACPP_HOLDBACK } from './wire-facts-holdback.js';
import type { WireFacts } from './wire-facts-types.js';

const F26 = llama2026Fixture;
const FINISH = { stop: 'stop', length: 'length', tool_calls: 'tool_calls' } as const;
const PRIORITY = {
  order: 'ignored',
  cite: [llamaSource('server-task.cpp', 'params_from_json_cmpl (no priority field)')],
  verified: false,
} as const;
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
};
