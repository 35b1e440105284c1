/**
 * Facts about a continuation (resume after tokens arrived), shared by the completion
 * and chat streams and the attempt loop: how many tokens it may ask for, whether
 * there is anything left to ask for, and why a retry was not made.
 */
import { TokenwireError } from '../errors.js';
import { isResumable, type RetryDecision } from '../retry/policy.js';

/**
 * The `max_tokens` of a continuation. A stream with nothing left to generate never
 * reaches a continuation (it ends complete with `length`), so less than one is a bug,
 * not a request to send.
 */
export function remainingTokens(maxTokens: number, received: number): number {
  const remaining = maxTokens - received;
  if (remaining < 1) {
    throw new TokenwireError(
      `internal: a continuation with nothing left to generate (${received} of ${maxTokens} tokens received)`,
      { code: 'protocol_error', phase: 'setup' },
    );
  }
  return remaining;
}

/**
 * Whether a break that resume would continue from (`resumable`: resume on and the
 * stream can be continued) came after every token the request allows: the continuation
 * would have nothing left to generate, and asking for at least one more token would get
 * one too many.
 */
export function nothingLeftToGenerate(
  failure: TokenwireError,
  maxTokens: number | undefined,
  received: number,
  resumable: boolean,
): boolean {
  return maxTokens !== undefined && received >= maxTokens && resumable && isResumable(failure);
}

/** The failure, its message saying why it was not retried where the caller would expect it. */
export function withNote(failure: TokenwireError, decision: RetryDecision): TokenwireError {
  if (decision.note !== undefined) failure.message = `${failure.message} (not retried: ${decision.note})`;
  return failure;
}
