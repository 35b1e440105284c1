/**
 * What differs between the llama.cpp builds the simulator emulates, read from
 * their wire-facts rows (src/dialects/wire-facts-llamacpp.ts) where the table
 * has the fact, and from the recordings where it does not (cited per field).
 */
import type { WireFacts } from '../dialects/wire-facts.js';

/** One build's wire, as the llama.cpp encoder needs it. */
export interface LlamaBuild {
  /** `system_fingerprint` and `/props` `build_info`: the recordings' (test/fixtures/llamacpp*). */
  fingerprint: string;
  /** Chat streams open with `delta: {"role":"assistant","content":null}` (row: chat.roleChunk). */
  roleChunk: boolean;
  /** Chat usage only with include_usage, in a `choices: []` chunk (row: chat.usage). */
  chatUsageChunk: boolean;
  /**
   * Usage carries `prompt_tokens_details.cached_tokens` (even 0) and timings start with
   * `cache_n`: llamacpp-2026/examples/01_v1cmpl_stream_plain.txt (absent from b4748's).
   */
  cacheCounts: boolean;
  /** In-stream errors are `data: {"error":{…}}` (else the `error:` line), `[DONE]` after or not (row: inStreamError). */
  dataError: boolean;
  doneAfterError: boolean;
  /** A missing prompt (row: httpErrors, cause "missing prompt"). */
  missingPrompt: { status: number; message: string };
  /** A prompt that does not fit the context is an HTTP 400 with this body (row: httpErrors); else no check. */
  contextError?: { type: string };
  /** 404 bodies name message, type, code in that order: llamacpp-2026/examples/79_unknown_endpoint.txt. */
  notFoundMessageFirst: boolean;
}

/** The fingerprint each recorded build reports (the recordings' README files). */
const FINGERPRINTS: Record<string, string> = {
  b4748: 'b4748-c392e5094',
  b10587: 'b10587-3f545becc',
};

function errorOf(
  facts: WireFacts,
  cause: RegExp,
): { status: number; error: Record<string, unknown> } | undefined {
  const fact = facts.httpErrors.find((candidate) => cause.test(candidate.cause));
  if (fact === undefined) return undefined;
  try {
    return {
      status: fact.status,
      error: (JSON.parse(fact.body) as { error: Record<string, unknown> }).error,
    };
  } catch {
    return undefined;
  }
}

/** The build a llama.cpp row describes. */
export function llamaBuild(facts: WireFacts): LlamaBuild {
  const recent = facts.version !== 'b4748';
  const missing = errorOf(facts, /missing prompt/);
  const context = errorOf(facts, /does not fit/);
  return {
    fingerprint: FINGERPRINTS[facts.version] ?? `${facts.version}-sim`,
    roleChunk: facts.chat.roleChunk === 'role-null',
    chatUsageChunk: facts.chat.usage.where === 'usage-chunk',
    cacheCounts: recent,
    dataError: facts.inStreamError.shape === 'data-error',
    doneAfterError: facts.inStreamError.doneAfter,
    missingPrompt: {
      status: missing?.status ?? 500,
      message: String(missing?.error.message ?? '"prompt" is required'),
    },
    contextError: context ? { type: String(context.error.type) } : undefined,
    notFoundMessageFirst: recent,
  };
}
