/**
 * What every dialect's wire encoder provides, plus shared helpers. Encoders
 * return strings of complete SSE events (`data: …\n\n`); the responder turns
 * them into Buffers and applies byte-level faults.
 */
import type { GenRequest } from './request.js';
import type { Step } from './steps.js';
import { pieceText } from './vocab.js';

export interface StreamEncoder {
  /** Events before the first token (role chunk, processing comments); '' for none. */
  head(): string;
  /** The event(s) for one step; '' when the dialect sends nothing for it. `sent` counts ids including this step. */
  step(step: Step, sent: number, last: boolean): string;
  /** Events after the last token, in order (finish chunk, ids, usage, `[DONE]`). */
  tail(): string[];
  /** The dialect's in-stream error and whatever the server sends after it. */
  error(message: string): string;
  /** One event whose data is not valid JSON (for `bad-json-after`). */
  badJson(): string;
  /** A single valid data line padded to about `bytes` bytes (for `huge-line`). */
  huge(bytes: number): string;
  /** Junk data events after `[DONE]` (for `data-after-done`). */
  afterDone(): string;
  /** The complete non-streaming body (runs the generation to its end). */
  body(): unknown;
}

export const json = JSON.stringify;

export function dataEvent(payload: string): string {
  return `data: ${payload}\n\n`;
}

export const DONE = 'data: [DONE]\n\n';

/** A made-up but stable logprob for `id` at output position `position` (always < 0). */
export function fakeLogprob(id: number, position: number): number {
  let h = Math.imul(id ^ 0x27d4eb2d, 0x165667b1) ^ Math.imul(position + 1, 0x9e3779b1);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return -(((h >>> 0) % 4000) / 1000) - 0.0005;
}

/** The alternatives reported in top_logprobs: the chosen id first, then neighbours, each less likely. */
export function topAlternatives(
  id: number,
  position: number,
  count: number,
): { id: number; logprob: number }[] {
  const chosen = fakeLogprob(id, position);
  const out = [{ id, logprob: chosen }];
  for (let k = 1; k < count; k++) {
    const alt = 259 + ((id - 259 + k * 37 + 10_000) % 300);
    out.push({ id: alt, logprob: chosen - k * 0.5 });
  }
  return out;
}

export function spell(id: number, tokenIdSpelling: boolean): string {
  return tokenIdSpelling ? `token_id:${id}` : pieceText(id);
}

export function usage(req: GenRequest): {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens: number };
} {
  const out: ReturnType<typeof usage> = {
    prompt_tokens: req.promptIds.length,
    completion_tokens: req.generation.produced,
    total_tokens: req.promptIds.length + req.generation.produced,
  };
  // A cluster replica reports its prefix-cache hits as vLLM does (only when non-zero):
  // see replica-model.ts for the citation.
  if (req.cachedTokens) out.prompt_tokens_details = { cached_tokens: req.cachedTokens };
  return out;
}

/** Position (0-based output index) of a step's first id. */
export function positionOf(step: Step, sent: number): number {
  return sent - step.ids.length;
}

/** llama.cpp-style `timings` from the request's real elapsed time. */
export function timings(req: GenRequest): Record<string, number> {
  const predictedMs = Math.max(0.001, Date.now() - req.startedAtMs);
  const promptN = req.promptIds.length;
  const promptMs = Math.max(0.001, promptN * 0.01);
  const predictedN = req.generation.produced;
  return {
    prompt_n: promptN,
    prompt_ms: promptMs,
    prompt_per_token_ms: promptN ? promptMs / promptN : 0,
    prompt_per_second: promptN ? (promptN / promptMs) * 1000 : 0,
    predicted_n: predictedN,
    predicted_ms: predictedMs,
    predicted_per_token_ms: predictedN ? predictedMs / predictedN : 0,
    predicted_per_second: predictedN ? (predictedN / predictedMs) * 1000 : 0,
  };
}

export function errorMessage(tokens: number): string {
  return `simulated failure after ${tokens} tokens (sim fault error-after)`;
}

/** The delta that opens the scripted tool call: its id and name, arguments still empty. */
export function toolCallHeader(tool: { id: string; name: string }): string {
  return json({
    tool_calls: [{ index: 0, id: tool.id, type: 'function', function: { name: tool.name, arguments: '' } }],
  });
}
