/**
 * Wire facts of hosted providers (Together, Fireworks, OpenAI, OpenRouter). Their
 * servers' code is not public: each fact cites the SDK, spec or documentation it
 * comes from and is marked `verified: false` unless a recording backs it.
 */
import { docs } from './wire-facts-cite.js';
import type { EndpointFacts, HttpErrorFact, InStreamErrorFact, WireFacts } from './wire-facts-types.js';

const NOTES = docs('PROTOCOLS.md (corrected 2026-12)');
const OPENAI_ERROR: HttpErrorFact = {
  status: 400,
  cause: 'invalid request',
  body: '{"error":{"message":"…","type":"invalid_request_error","param":null,"code":null}}',
  cite: [docs('https://platform.openai.com/docs/guides/error-codes')],
  verified: false,
};
const DATA_ERROR_NO_DONE: InStreamErrorFact = {
  shape: 'data-error',
  doneAfter: false,
  example: '{"error":{"message":"…","type":"server_error"}}',
  cite: [NOTES],
  verified: false,
};
const IGNORED_PRIORITY = { order: 'ignored', cite: [NOTES], verified: false } as const;

function noIds(path: string, usageWhere: 'usage-chunk' | 'finish-chunk', cite = [NOTES]): EndpointFacts {
  return {
    path,
    ids: { delivery: 'none', ask: {}, field: '—', cite, verified: false },
    usage: {
      when: usageWhere === 'usage-chunk' ? 'include_usage' : 'always',
      where: usageWhere,
      cite,
      verified: false,
    },
    finishOn: 'separate',
    end: '[DONE]',
    resume: false,
    cite,
  };
}

const TOGETHER_CHUNK = docs(
  'together-py src/together/types/chat_completions.py, completions.py',
  'delta.token_id',
);

/** Together: one id per chunk in `choices[0].delta.token_id`, sometimes null. */
export const TOGETHER: WireFacts = {
  label: 'together',
  dialect: 'together',
  version: 'hosted (2026-12)',
  versions: {},
  completions: {
    path: '/v1/completions',
    ids: {
      delivery: 'live',
      ask: {},
      field: 'choices[0].delta.token_id (beside choices[0].text)',
      nullIds: true,
      cite: [TOGETHER_CHUNK, docs('llama-stack recorded Together traffic (PROTOCOLS.md)')],
      verified: false,
    },
    usage: { when: 'always', where: 'finish-chunk', cite: [NOTES], verified: false },
    finishOn: 'last-token',
    end: '[DONE]',
    // Exact when every id came (none null) and Together takes the token-id prompt (not verified).
    resume: true,
    cite: [NOTES],
  },
  chat: {
    path: '/v1/chat/completions',
    ids: {
      delivery: 'live',
      ask: {},
      field: 'choices[0].delta.token_id',
      nullIds: true,
      cite: [TOGETHER_CHUNK],
      verified: false,
    },
    usage: { when: 'always', where: 'finish-chunk', cite: [NOTES], verified: false },
    roleChunk: 'none',
    finishOn: 'last-token',
    end: '[DONE]',
    reasoningField: 'reasoning',
    resume: false,
    cite: [NOTES],
  },
  httpErrors: [OPENAI_ERROR],
  inStreamError: { ...DATA_ERROR_NO_DONE, doneAfter: true },
  refusals: [],
  finishReasons: { stop: 'stop', eos: 'stop', length: 'length', tool_calls: 'tool_calls' },
  priority: IGNORED_PRIORITY,
  detection: { cite: [NOTES], ownedBy: 'together', verified: false },
};

const FIREWORKS_SPEC = docs(
  'Fireworks OpenAPI spec (post-completions, post-chat-completions)',
  'return_token_ids',
);

/** Fireworks: ids live with `return_token_ids`. */
export const FIREWORKS: WireFacts = {
  label: 'fireworks',
  dialect: 'fireworks',
  version: 'hosted (2026-12)',
  versions: {},
  completions: {
    path: '/v1/completions',
    ids: {
      delivery: 'live',
      ask: { return_token_ids: true },
      field: 'choices[i].token_ids',
      promptField: 'choices[i].prompt_token_ids (first chunk)',
      cite: [FIREWORKS_SPEC],
      verified: false,
    },
    usage: { when: 'include_usage', where: 'usage-chunk', cite: [NOTES], verified: false },
    finishOn: 'last-token',
    end: '[DONE]',
    resume: false,
    cite: [NOTES],
  },
  chat: {
    path: '/v1/chat/completions',
    ids: {
      delivery: 'live',
      ask: { return_token_ids: true },
      field: 'choices[i].token_ids',
      promptField: 'prompt_token_ids (top level and choices[i], first chunk)',
      cite: [FIREWORKS_SPEC],
      verified: false,
    },
    usage: { when: 'include_usage', where: 'usage-chunk', cite: [NOTES], verified: false },
    roleChunk: 'role-only',
    finishOn: 'last-token',
    end: '[DONE]',
    reasoningField: 'reasoning_content',
    resume: false,
    cite: [NOTES],
  },
  httpErrors: [OPENAI_ERROR],
  inStreamError: DATA_ERROR_NO_DONE,
  refusals: [],
  finishReasons: { stop: 'stop', length: 'length', tool_calls: 'tool_calls' },
  priority: IGNORED_PRIORITY,
  detection: { cite: [NOTES], ownedBy: 'fireworks', verified: false },
  affinity: {
    header: 'x-session-affinity',
    readBy: 'Fireworks: requests with the same identifier are routed to the same server (its prompt cache)',
    cite: [
      docs(
        'https://docs.fireworks.ai/guides/prompt-caching',
        'Optimizing inference request for caching: the `user` field or the `x-session-affinity` header',
      ),
    ],
  },
};

/**
 * Streams OpenAI sent, captured verbatim in the openai-node SDK's own test snapshots: the
 * first chat chunk is `delta: {"role":"assistant","content":"","refusal":null}` (gpt-4o,
 * created 1722953697; a refusal instead opens with `"content":null,"refusal":""`).
 */
const OPENAI_STREAM_SNAPSHOT = {
  kind: 'docs',
  ref: 'openai/openai-node tests/lib/__snapshots__/ChatCompletionStream.test.ts.snap',
  where:
    '`.stream() emits content logprobs events`: first chunk delta {"role":"assistant","content":"","refusal":null}',
  revision: '573787cf3ea8eea593eeeb5e24a9256951e2cc35',
} as const;

/** OpenAI itself (and the fallback for unknown servers): text only. */
export const OPENAI: WireFacts = {
  label: 'openai',
  dialect: 'openai',
  version: 'hosted (2026-12)',
  versions: {},
  completions: noIds('/v1/completions', 'usage-chunk'),
  chat: {
    ...noIds('/v1/chat/completions', 'usage-chunk'),
    roleChunk: 'role-empty-refusal',
    cite: [NOTES, OPENAI_STREAM_SNAPSHOT],
  },
  httpErrors: [OPENAI_ERROR],
  inStreamError: DATA_ERROR_NO_DONE,
  refusals: [],
  finishReasons: {
    stop: 'stop',
    length: 'length',
    tool_calls: 'tool_calls',
    content_filter: 'content_filter',
  },
  priority: IGNORED_PRIORITY,
  detection: { cite: [NOTES], ownedBy: 'openai', verified: false },
  affinity: {
    chatField: 'prompt_cache_key',
    maxLength: 64,
    readBy:
      'OpenAI: combined with the prompt prefix hash to route to a machine holding the prefix (chat completions; the legacy completions API has no such field)',
    cite: [
      docs(
        'openai/openai-node src/resources/chat/completions/completions.ts',
        'ChatCompletionCreateParamsBase.prompt_cache_key (src/resources/completions.ts CompletionCreateParamsBase has none), at 7b7d6ca',
      ),
      docs('https://developers.openai.com/api/docs/guides/prompt-caching', 'How it works: Cache Routing'),
      docs(
        'theopenco/llmgateway PR 3110',
        "recorded 400: Invalid 'prompt_cache_key': string too long. Expected a string with maximum length 64 (string_above_max_length)",
      ),
    ],
  },
};

const OPENROUTER_DOCS = docs('https://openrouter.ai/docs/api-reference/streaming');

/** OpenRouter: text only, keepalive comments, error chunks with finish_reason "error". */
export const OPENROUTER: WireFacts = {
  label: 'openrouter',
  dialect: 'openrouter',
  version: 'hosted (2026-12)',
  versions: {},
  completions: noIds('/v1/completions', 'finish-chunk', [OPENROUTER_DOCS]),
  chat: { ...noIds('/v1/chat/completions', 'finish-chunk', [OPENROUTER_DOCS]), reasoningField: 'reasoning' },
  httpErrors: [OPENAI_ERROR],
  inStreamError: {
    shape: 'finish-error',
    doneAfter: false,
    example:
      '{"id":"…","choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}],"error":{"code":502,"message":"…"}}',
    cite: [OPENROUTER_DOCS],
    verified: false,
  },
  refusals: [],
  finishReasons: { stop: 'stop', length: 'length', tool_calls: 'tool_calls', error: 'error' },
  priority: IGNORED_PRIORITY,
  detection: {
    requestIdHeader: 'x-generation-id',
    cite: [docs('https://openrouter.ai/docs/api-reference/get-a-generation', 'generation id')],
    verified: false,
  },
};
