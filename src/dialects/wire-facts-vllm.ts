/**
 * Wire facts of vLLM, current (≥ 0.10.2, `return_token_ids`) and older
 * (`return_tokens_as_token_ids` through logprobs). See wire-facts-types.ts.
 */
import { docs, vllmSource } from './wire-facts-cite.js';
import { VLLM_HOLDBACK } from './wire-facts-holdback.js';
import type { WireFacts } from './wire-facts-types.js';

const COMPLETION_SERVING = (where: string) =>
  vllmSource('entrypoints/openai/completion/serving.py', where, '030ea52effcb05071543c8c42b8f0145e94cee43');
const CHAT_SERVING = (where: string) => vllmSource('entrypoints/openai/chat_completion/serving.py', where);
const ENGINE_SERVING = (where: string) => vllmSource('entrypoints/openai/engine/serving.py', where);
const PRIORITY_CHECK = vllmSource(
  'v1/engine/input_processor.py',
  'process_inputs: `if priority != 0 and not self.scheduler_config.policy == "priority"`',
);
const PROTOCOLS_NOTES = docs('PROTOCOLS.md (corrected 2026-12): vLLM PR 22587, PR 27752, PR 33402');

const FINISH = { stop: 'stop', length: 'length', tool_calls: 'tool_calls', abort: 'abort' } as const;

const HTTP_ERRORS = [
  {
    status: 400,
    cause: 'invalid request (validation)',
    body: '{"error":{"message":"…","type":"BadRequestError","param":null,"code":400}}',
    cite: [ENGINE_SERVING('create_error_response (ErrorResponse(error=ErrorInfo(…)))')],
  },
  {
    status: 401,
    cause: 'missing or wrong API key (--api-key)',
    body: '{"error":"Unauthorized"}',
    cite: [PROTOCOLS_NOTES],
    verified: false,
  },
] as const;

const IN_STREAM_ERROR = {
  shape: 'data-error',
  doneAfter: true,
  example:
    '{"error":{"message":"Internal server error","type":"InternalServerError","param":null,"code":500}}',
  cite: [
    COMPLETION_SERVING(
      'completion_stream_generator: except GenerationError / Exception → data: {error}, then [DONE]',
    ),
    ENGINE_SERVING('create_streaming_error_response, _raise_if_error (finish_reason "error")'),
  ],
} as const;

const PRIORITY_REFUSAL = {
  endpoint: 'both',
  trigger: 'a non-zero priority when the server does not run with --scheduling-policy priority',
  body: { priority: 1 },
  status: 400,
  message: 'Got priority 1 but Priority scheduling is not enabled.',
  cite: [PRIORITY_CHECK],
} as const;

const PRIORITY = {
  field: 'priority',
  order: 'lower-first',
  requires: '--scheduling-policy priority',
  without: 'http-400',
  cite: [PRIORITY_CHECK],
} as const;

const DETECTION = {
  path: '/version',
  versionField: 'version',
  ownedBy: 'vllm',
  cite: [vllmSource('entrypoints/openai/api_server.py', 'GET /version → {"version": VLLM_VERSION}')],
  verified: false,
} as const;

const TOKENIZE = {
  tokenize: '/tokenize',
  detokenize: '/detokenize',
  cite: [vllmSource('entrypoints/openai/api_server.py', 'POST /tokenize, POST /detokenize')],
  verified: false,
} as const;

/**
 * vLLM reads no session key itself (unknown headers are ignored; its `cache_salt` salts the
 * prefix cache against other tenants — vllm/entrypoints/openai/protocol.py
 * `CompletionRequest.cache_salt`, at ec3b890 — it isolates, it does not route). The routers
 * in front of it read `x-session-id`.
 */
const AFFINITY = {
  header: 'x-session-id',
  readBy:
    'the vLLM router (consistent_hash, rendezvous_hash and sticky policies: the first session header they read) and the production-stack router run with `--session-key x-session-id`',
  cite: [
    {
      kind: 'source',
      ref: 'vllm-project/router src/policies/hash_key.rs',
      where: 'SESSION_HEADER_NAMES (x-session-id first), extract_hash_key, extract_session_id',
      revision: 'b6f455eb2c55f6aabaac3c6cae11a9aa01c3c770',
    },
    {
      kind: 'source',
      ref: 'vllm-project/production-stack src/vllm_router/routers/routing_logic.py',
      where: 'SessionRouter.route_request, extract_session_id: the header named by --session-key',
      revision: '5ae0b10828491c579173ae41a17a33901c3dd7b4',
    },
  ],
} as const;

/** vLLM ≥ 0.10.2: ids live with `return_token_ids`. */
export const VLLM_CURRENT: WireFacts = {
  label: 'vllm@0.11',
  dialect: 'vllm',
  version: 'current (read at main, 2026-12)',
  versions: { from: '0.10.2' },
  completions: {
    path: '/v1/completions',
    ids: {
      delivery: 'live',
      ask: { return_token_ids: true },
      field: 'choices[i].token_ids',
      promptField: 'choices[i].prompt_token_ids (first chunk of each choice, explicit null later)',
      cite: [
        COMPLETION_SERVING('completion_stream_generator: token_ids=as_list(output.token_ids)'),
        PROTOCOLS_NOTES,
      ],
    },
    usage: {
      when: 'include_usage',
      where: 'usage-chunk',
      cite: [COMPLETION_SERVING('completion_stream_generator: final_usage_chunk with choices=[]')],
      cachedTokens: {
        when: 'nonzero-with-flag',
        flag: '--enable-prompt-tokens-details',
        cite: [
          vllmSource(
            'entrypoints/openai/completion/serving.py',
            'completion_stream_generator: `if self.enable_prompt_tokens_details and num_cached_tokens`',
            'cc139d8ea6ff4db984778a3e77e95e1d1c7f1362',
          ),
        ],
      },
    },
    finishOn: 'last-token',
    end: '[DONE]',
    resume: true,
    cite: [
      COMPLETION_SERVING(
        'completion_stream_generator: finish_reason on the output chunk; yield "data: [DONE]"',
      ),
    ],
  },
  chat: {
    path: '/v1/chat/completions',
    ids: {
      delivery: 'live',
      ask: { return_token_ids: true },
      field: 'choices[i].token_ids',
      promptField: 'prompt_token_ids (top level of the role chunk)',
      cite: [
        CHAT_SERVING('chat_completion_stream_generator: role chunk with prompt_token_ids'),
        PROTOCOLS_NOTES,
      ],
    },
    usage: {
      when: 'include_usage',
      where: 'usage-chunk',
      cite: [CHAT_SERVING('chat_completion_stream_generator: final usage chunk')],
      cachedTokens: {
        when: 'nonzero-with-flag',
        flag: '--enable-prompt-tokens-details',
        cite: [
          vllmSource(
            'entrypoints/openai/chat_completion/serving.py',
            'chat_completion_stream_generator: `if self.enable_prompt_tokens_details and num_cached_tokens`',
            '5e918640d7b65820db5beaa98c2a99925bff7c17',
          ),
        ],
      },
    },
    roleChunk: 'role-empty',
    finishOn: 'last-token',
    end: '[DONE]',
    reasoningField: 'reasoning',
    logprobIds: 'choices[i].token_ids (logprobs.content[k] has token, no id)',
    resume: true,
    cite: [
      CHAT_SERVING('chat_completion_stream_generator: DeltaMessage(role=role, content="") first'),
      {
        ...PROTOCOLS_NOTES,
        where: 'reasoning_content renamed reasoning (PR 27752), old name dropped (PR 33402)',
      },
    ],
  },
  httpErrors: HTTP_ERRORS,
  inStreamError: IN_STREAM_ERROR,
  refusals: [PRIORITY_REFUSAL],
  finishReasons: FINISH,
  priority: PRIORITY,
  detection: DETECTION,
  affinity: AFFINITY,
  stopHoldback: VLLM_HOLDBACK,
  tokenize: TOKENIZE,
};

/** vLLM < 0.10.2: `return_token_ids` is ignored; ids come as `"token_id:N"` logprob tokens. */
export const VLLM_LEGACY: WireFacts = {
  label: 'vllm@0.10.1',
  dialect: 'vllm',
  version: '0.10.1',
  versions: { below: '0.10.2' },
  completions: {
    path: '/v1/completions',
    ids: {
      delivery: 'live',
      ask: { logprobs: 1, return_tokens_as_token_ids: true },
      field: 'choices[i].logprobs.tokens[k] spelled "token_id:N"',
      cite: [
        COMPLETION_SERVING(
          '_create_completion_logprobs(return_as_token_id=request.return_tokens_as_token_ids)',
        ),
        PROTOCOLS_NOTES,
      ],
    },
    usage: { when: 'include_usage', where: 'usage-chunk', cite: [PROTOCOLS_NOTES], verified: false },
    finishOn: 'last-token',
    end: '[DONE]',
    resume: true,
    cite: [PROTOCOLS_NOTES],
  },
  chat: {
    path: '/v1/chat/completions',
    ids: {
      delivery: 'live',
      ask: { logprobs: true, return_tokens_as_token_ids: true },
      field: 'choices[i].logprobs.content[k].token spelled "token_id:N"',
      cite: [PROTOCOLS_NOTES],
      verified: false,
    },
    usage: { when: 'include_usage', where: 'usage-chunk', cite: [PROTOCOLS_NOTES], verified: false },
    roleChunk: 'role-empty',
    finishOn: 'last-token',
    end: '[DONE]',
    reasoningField: 'reasoning_content',
    logprobIds: 'choices[i].logprobs.content[k].token ("token_id:N")',
    resume: true,
    cite: [PROTOCOLS_NOTES],
  },
  httpErrors: HTTP_ERRORS,
  inStreamError: IN_STREAM_ERROR,
  refusals: [PRIORITY_REFUSAL],
  finishReasons: FINISH,
  priority: PRIORITY,
  detection: DETECTION,
  affinity: AFFINITY,
  stopHoldback: VLLM_HOLDBACK,
  tokenize: TOKENIZE,
};
