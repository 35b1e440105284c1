/**
 * The shape of the wire-facts table (wire-facts.ts): what one server version
 * sends, as data. The decoders choose request flags from it, the simulator
 * emulates each row, docs/servers.md and the README's dialect table are checked
 * against it. Every fact carries where it was verified.
 *
 * This shape is read by the simulator's named-version emulation: extend it with
 * optional fields, never rename or remove one.
 */
import type { DialectName } from '../types.js';

/**
 * Where a fact was verified: an upstream source file and function (with the
 * revision read), a recorded fixture in this repository, or documentation.
 */
export interface Citation {
  /** `source`: upstream code; `fixture`: recorded bytes in test/fixtures; `docs`: vendor documentation or SDK. */
  kind: 'source' | 'fixture' | 'docs';
  /** `owner/repo path` for source, the fixture path for fixtures, a URL or package path for docs. */
  ref: string;
  /** Function, test or section, when it narrows the place down. */
  where?: string;
  /** Commit, release or build the fact was read at (`main as indexed 2026-12` when no commit is known). */
  revision?: string;
}

/** A fact with the places it was verified. `verified: false` means only secondhand (see docs/servers.md). */
export interface Cited {
  cite: readonly Citation[];
  /** False when no source or recording was available: the fact comes from notes or documentation only. */
  verified?: boolean;
}

/** When ids arrive: with each chunk, once at the end of the stream, or never. */
export type IdsDelivery = 'live' | 'end' | 'none';

/**
 * How a server holds back streamed text that may be the beginning of a stop string. Only
 * the text is held: the chunk of every token is still sent, with its ids, while its text
 * waits. Text held when a stream breaks is never sent, so a resume must recover it.
 */
export interface StopHoldbackFact extends Cited {
  /**
   * `suffix`: the last (longest stop string − 1) characters of the output are held while it
   * runs (vLLM); `partial`: all text not yet sent is held while it ends with the beginning of a
   * stop string (llama.cpp); `none`: text goes out as it is decoded (SGLang), so the beginning
   * of a stop string may be sent before the stop string completes.
   */
  mode: 'suffix' | 'partial' | 'none';
  /** What `suffix` lengths count: code points (a Python `str`, vLLM). */
  unit?: 'codepoint';
  /**
   * What the end of the generation does with held text: `flush` sends it with the last
   * chunk whatever the finish (vLLM); `lost-at-length` sends it when the last token is EOS
   * but never when max_tokens ends the stream (llama.cpp: the final chunk has no text).
   */
  atFinish: 'flush' | 'lost-at-length' | 'none';
  /** Request fields that turn the holdback off (vLLM `include_stop_str_in_output: true`). */
  offWhen?: Readonly<Record<string, unknown>>;
  /**
   * Which stop string ends the output when several complete in one step: the first of the
   * request's list that is found (`list-order`: vLLM, SGLang) or the one that begins first
   * (`earliest-start`: llama.cpp).
   */
  firstMatch: 'list-order' | 'earliest-start';
}

/** How a server gives the ids of generated tokens on one endpoint. */
export interface IdsFact extends Cited {
  delivery: IdsDelivery;
  /** Body fields that make the server send them. */
  ask: Readonly<Record<string, unknown>>;
  /** Headers that change how they are sent (SGLang `x-sglext-ids-framed`). */
  askHeaders?: Readonly<Record<string, string>>;
  /** Where the generated ids are, as a JSON path (`choices[i].token_ids`). */
  field: string;
  /** Where the prompt ids are, when the server echoes them. */
  promptField?: string;
  /** The server sometimes sends `null` for a token's id (the stream's ids are then incomplete). */
  nullIds?: boolean;
  /** Named SSE event the end-of-stream ids come in when `askHeaders` are sent. */
  framedEvent?: string;
}

/** Where usage is, and when. */
export interface UsageFact extends Cited {
  /** `include_usage`: only with `stream_options.include_usage`; `always`; `never`. */
  when: 'include_usage' | 'always' | 'never';
  /** `usage-chunk`: a last `choices: []` chunk; `finish-chunk`: on the chunk with `finish_reason`; `native-final`: counts on the native final event. */
  where: 'usage-chunk' | 'finish-chunk' | 'native-final' | 'none';
  /** Whether the usage says how many prompt tokens came from the prefix cache; absent: never, or not verified. */
  cachedTokens?: CachedTokensFact;
}

/** `usage.prompt_tokens_details.cached_tokens`: when a server sends it. */
export interface CachedTokensFact extends Cited {
  /** `always`: in every usage, 0 included; `nonzero-with-flag`: only when the server runs with `flag`, and only when not 0. */
  when: 'always' | 'nonzero-with-flag';
  /** The server's command-line flag that turns it on. */
  flag?: string;
}

/** An error inside an open stream. */
export interface InStreamErrorFact extends Cited {
  /** `data-error`: `data: {"error":{…}}`; `error-field`: a non-standard `error: {…}` SSE line; `finish-error`: a chunk with `error` and `finish_reason: "error"`. */
  shape: 'data-error' | 'error-field' | 'finish-error';
  /** `[DONE]` follows the error line. */
  doneAfter: boolean;
  /** An example of the error line's JSON, as the server writes it. */
  example: string;
}

/** An error answered before the stream starts (HTTP status + JSON body). */
export interface HttpErrorFact extends Cited {
  status: number;
  /** What causes it. */
  cause: string;
  /** The body, as the server writes it (a template where parts vary). */
  body: string;
}

/** A request the server refuses. */
export interface RefusalFact extends Cited {
  /** Which endpoint: `completions`, `chat` or both. */
  endpoint: 'completions' | 'chat' | 'both';
  /** What in the request triggers it. */
  trigger: string;
  /** Body fields that trigger it (with `stream: true`). */
  body: Readonly<Record<string, unknown>>;
  status: number;
  /** The server's message. */
  message: string;
}

/** What a server does with a prompt that does not fit its context, and how it says it dropped tokens. */
export interface ContextFact extends Cited {
  /** `refuse`: an HTTP error before generating; `cut`: the prompt is cut and generation goes on. */
  overlongPrompt: 'refuse' | 'cut';
  /**
   * Where the server says it cut the context: a field and where it is sent (llama.cpp:
   * `truncated` on the native `/completion` final event only, never on `/v1`).
   */
  flag?: string;
  /** How a cut shows in usage (llama.cpp before 2026: the prompt count is the cut one). */
  usage?: string;
}

/** How priority is read. */
export interface PriorityFact extends Cited {
  /** The body field, when the server has one. */
  field?: string;
  /** `lower-first`: smaller values are served earlier; `higher-first`; `ignored`. */
  order: 'lower-first' | 'higher-first' | 'ignored';
  /** The server flag needed for it to matter, and what happens without it. */
  requires?: string;
  /** What the server does with a non-zero priority without that flag. */
  without?: 'http-400' | 'ignored' | 'abort-if-configured';
}

/**
 * Where a request's `session` / `affinityKey` goes so that the server, or the router in
 * front of it, keeps a session on one replica (its prefix cache). Only where a cited
 * source shows it is read; a row without it forwards nothing.
 */
export interface AffinityFact extends Cited {
  /** A request header carrying the key (a header no server rejects). */
  header?: string;
  /** A chat request body field carrying the key. */
  chatField?: string;
  /** Longest value the body field takes: a longer key is sent as its SHA-256 (hex, 64 characters). */
  maxLength?: number;
  /** Who reads it, and for what. */
  readBy: string;
}

/** One endpoint's stream of one server version. */
export interface EndpointFacts {
  path: string;
  ids: IdsFact;
  usage: UsageFact;
  /**
   * Chat's first chunk: `role-null`: `delta: {role, content: null}`; `role-empty`: `content: ""`;
   * `role-empty-refusal`: `content: "", refusal: null`; `role-only`: `{role}`; `none`: no such chunk.
   */
  roleChunk?: 'role-null' | 'role-empty' | 'role-empty-refusal' | 'role-only' | 'none';
  /** `last-token`: finish_reason rides on the last token's chunk; `separate`: a chunk of its own after it. */
  finishOn: 'last-token' | 'separate' | 'native-stop';
  /** How the stream ends when it succeeds. */
  end: '[DONE]' | 'native-stop';
  /** Chat only: the delta field reasoning text is in. */
  reasoningField?: 'reasoning' | 'reasoning_content';
  /** Chat only: `logprobs: true` puts ids here (`choices[0].logprobs.content[k].id`). */
  logprobIds?: string;
  /**
   * Resume by continuation is exact here: the server takes a token-id prompt (or continues a
   * partial assistant message) and every generated id is known before the failure.
   */
  resume: boolean;
  /** Citations for the endpoint-level facts (role chunk, finish placement, end, resume). */
  cite: readonly Citation[];
}

/** How to recognise a server and read its version. */
export interface DetectionFact extends Cited {
  /** `GET` path that answers with the version. */
  path?: string;
  /** JSON field holding the version (`version`, `build_info`). */
  versionField?: string;
  /** `Server` response header value that identifies it. */
  serverHeader?: string;
  /** `owned_by` in `GET /v1/models`. */
  ownedBy?: string;
  /** Response header carrying the request id, when not `x-request-id`. */
  requestIdHeader?: string;
}

/** Everything known about one server version's wire. */
export interface WireFacts {
  /** `dialect@version`, the simulator's `--dialect` value. */
  label: string;
  dialect: DialectName;
  /** The version this row was verified at (a release, a build, or `current`). */
  version: string;
  /**
   * The versions this row applies to, for request building: `[from, below)` compared as
   * dotted numbers (llama.cpp: build numbers). Undefined ends are open.
   */
  versions: { from?: string; below?: string };
  completions: EndpointFacts;
  chat: EndpointFacts;
  httpErrors: readonly HttpErrorFact[];
  inStreamError: InStreamErrorFact;
  refusals: readonly RefusalFact[];
  /** Server finish reasons and what tokenwire reports for them (`error`/`abort` end the stream as a failure). */
  finishReasons: Readonly<
    Record<string, 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'error' | 'abort'>
  >;
  priority: PriorityFact;
  detection: DetectionFact;
  /** How a request's session key is forwarded, where one is read (none: not forwarded). */
  affinity?: AffinityFact;
  /** How streamed text that may begin a stop string is held back; undefined when not known. */
  stopHoldback?: StopHoldbackFact;
  /** Over-long prompts and context cuts, where verified (optional: rows without it say nothing). */
  context?: ContextFact;
  /** Tokenize/detokenize paths, when the server has them. */
  tokenize?: { tokenize: string; detokenize: string } & Cited;
}
