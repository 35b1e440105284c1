/**
 * Usage of a whole call, over all its attempts: the server's numbers where it gave
 * them (the original prompt counted once, every completion token counted), else
 * computed from what was streamed and marked so.
 */
import type { WireUsage } from '../dialects/dialect.js';
import type { Usage } from '../types.js';

export interface UsageInput {
  /** What the last (successful) attempt's server reported, if anything. */
  reported: WireUsage | undefined;
  /** Tokens received before the last attempt (its prompt was extended by them on a resume). */
  tokensBeforeAttempt: number;
  /** Whether the last attempt was a continuation (its prompt holds the earlier tokens). */
  resumed: boolean;
  /** The prompt's length when known without the server (id prompts, server-given prompt ids). */
  promptTokens: number | undefined;
  /** Tokens delivered over the whole call. */
  tokensReceived: number;
  /** Ids the server sent at the end (SGLang), which count tokens better than text events. */
  endIds: number | undefined;
}

export function callUsage(input: UsageInput): Usage {
  const { reported } = input;
  let usage: Usage;
  if (reported?.completionTokens !== undefined) {
    const completionTokens = input.tokensBeforeAttempt + reported.completionTokens;
    const extension = input.resumed ? input.tokensBeforeAttempt : 0;
    const promptTokens =
      reported.promptTokens === undefined ? undefined : Math.max(0, reported.promptTokens - extension);
    usage = {
      promptTokens,
      completionTokens,
      totalTokens: promptTokens === undefined ? undefined : promptTokens + completionTokens,
      computed: false,
    };
  } else {
    const completionTokens = input.endIds ?? input.tokensReceived;
    const { promptTokens } = input;
    usage = {
      promptTokens,
      completionTokens,
      totalTokens: promptTokens === undefined ? undefined : promptTokens + completionTokens,
      computed: true,
    };
  }
  const cached = cachedOfCall(reported?.cachedPromptTokens, usage.promptTokens, input.resumed);
  if (cached !== undefined) usage.cachedPromptTokens = cached;
  return usage;
}

/**
 * The call's cached prompt tokens from the last attempt's count. A resumed attempt sent
 * the prompt followed by the tokens received before it, and prefix caches count from the
 * start: the prompt's share is at most the prompt's length (unknown length: not said).
 */
function cachedOfCall(
  reported: number | undefined,
  promptTokens: number | undefined,
  resumed: boolean,
): number | undefined {
  if (reported === undefined) return undefined;
  if (promptTokens === undefined) return resumed ? undefined : reported;
  return Math.min(reported, promptTokens);
}

/** A usage number that contradicts what the stream knows from the ids. */
export interface UsageMismatch {
  field: 'completion_tokens' | 'prompt_tokens';
  reported: number;
  expected: number;
}

/**
 * The server's usage as far as the ids allow believing it. Each id received is a
 * generated token, so fewer completion tokens than ids is wrong: that usage is not used
 * (undefined: computed instead). A prompt count other than the ids the attempt sent is
 * only reported. Every contradiction goes to `report`.
 */
export function believedUsage(
  reported: WireUsage | undefined,
  idsReceived: number,
  promptIdsSent: number | undefined,
  report: (mismatch: UsageMismatch) => void,
): WireUsage | undefined {
  if (reported === undefined) return undefined;
  if (reported.completionTokens !== undefined && reported.completionTokens < idsReceived) {
    report({ field: 'completion_tokens', reported: reported.completionTokens, expected: idsReceived });
    return undefined;
  }
  if (
    reported.promptTokens !== undefined &&
    promptIdsSent !== undefined &&
    reported.promptTokens !== promptIdsSent
  ) {
    report({ field: 'prompt_tokens', reported: reported.promptTokens, expected: promptIdsSent });
  }
  return reported;
}
