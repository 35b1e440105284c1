/**
 * Token ids and logprobs read from `logprobs` objects, and finish reasons mapped
 * through a dialect's table. Shapes (cited in docs/servers.md):
 * - chat-style `logprobs.content[k] = {id?, token, logprob, …}`: llama.cpp puts
 *   the id in `id` (recorded b4748 and b10587); vLLM before 0.10.2 with
 *   `return_tokens_as_token_ids` spells the token `"token_id:N"`;
 * - legacy completions `logprobs.tokens[k]` / `token_logprobs[k]` (vLLM).
 */
import type { DecodeSink } from './dialect.js';
import type { Json } from './openai-shapes.js';

const TOKEN_ID_PREFIX = 'token_id:';

/** `"token_id:1234"` → 1234; undefined for any other spelling. */
export function spelledTokenId(token: unknown): number | undefined {
  if (typeof token !== 'string' || !token.startsWith(TOKEN_ID_PREFIX)) return undefined;
  const id = Number(token.slice(TOKEN_ID_PREFIX.length));
  return Number.isSafeInteger(id) && id >= 0 ? id : undefined;
}

/** Ids of legacy `logprobs.tokens` spelled `"token_id:N"` (vLLM), or undefined when any is not. */
export function legacyTokenIds(tokens: Json): number[] | undefined {
  if (!Array.isArray(tokens) || tokens.length === 0) return undefined;
  const ids: number[] = [];
  for (const token of tokens) {
    const id = spelledTokenId(token);
    if (id === undefined) return undefined;
    ids.push(id);
  }
  return ids;
}

/**
 * The ids of chat-style `logprobs.content` entries: `id` (llama.cpp) or a
 * `"token_id:N"` token (vLLM < 0.10.2); undefined unless every entry has one.
 */
export function contentIds(content: readonly Json[]): number[] | undefined {
  if (content.length === 0) return undefined;
  const ids: number[] = [];
  for (const entry of content) {
    const id = typeof entry?.id === 'number' ? entry.id : spelledTokenId(entry?.token);
    if (id === undefined) return undefined;
    ids.push(id);
  }
  return ids;
}

/** The logprob of each chat-style `logprobs.content` entry. */
export function contentLogprobs(content: readonly Json[]): number[] {
  return content.map((entry) => entry?.logprob as number);
}

/** A chat choice's `logprobs.content` array, when it has one with entries. */
export function chatLogprobContent(choice: Json): Json[] | undefined {
  const content = choice?.logprobs?.content;
  return Array.isArray(content) && content.length > 0 ? content : undefined;
}

/**
 * Reports a server's finish reason through the dialect's map (wire-facts
 * `finishReasons`): `eos` → `stop` (Together); `abort` (a server-side abort,
 * SGLang/vLLM) and `error` end the stream as a server error, never as a
 * normal completion. Unknown reasons pass through as the server spelled them.
 */
export function reportFinish(
  reason: string,
  finishReasons: Readonly<Record<string, string>> | undefined,
  sink: DecodeSink,
): void {
  const mapped = finishReasons?.[reason] ?? reason;
  if (mapped === 'error' || mapped === 'abort') {
    sink.error({
      message:
        mapped === 'abort'
          ? `the server aborted the generation (finish_reason "${reason}")`
          : `server ended the stream with finish_reason "${reason}"`,
      code: mapped === 'abort' ? reason : undefined,
    });
    return;
  }
  sink.finish(mapped);
}
