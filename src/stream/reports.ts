/**
 * The records a stream logs: what a server sent that is not as it should be (tokens
 * after the finish reason, ids that are not ids or never came, an in-stream error, an
 * unparsable event, usage the ids contradict, no finish reason), and what the attempt
 * loop did about a failure (retry, resume, wait for an endpoint, end at `length`). Each
 * names its event; the stream decides when one is due (the rare branch: never per token).
 */
import { scrub, scrubbedPreview } from '../diagnostics/redact.js';
import type { Dialect, WireError } from '../dialects/dialect.js';
import type { TokenwireError } from '../errors.js';
import type { LogRecord } from '../options.js';
import type { RetryDecision } from '../retry/policy.js';
import type { Attempt } from './attempt.js';
import { toTokenId } from './ids.js';
import type { ModelChange } from './response-info.js';
import type { UsageMismatch } from './usage.js';

type Log = (record: LogRecord) => void;

/** Longest in-stream error message kept (the longest real ones, validation errors, are a few hundred). */
export const SERVER_MESSAGE_MAX_CHARS = 1000;

/** Longest bad id value shown in its warning (enough to see what it was). */
const BAD_ID_PREVIEW_CHARS = 40;

/**
 * An in-stream error as errors and logs show it: secrets scrubbed from the server's whole
 * message (and code), then the message bounded. Scrubbing first: a cut through an echoed
 * key would leave its start behind, which a later scrub no longer recognises.
 */
export function shownWireError(error: WireError, secrets: readonly (string | undefined)[]): WireError {
  return {
    message: scrubbedPreview(error.message, SERVER_MESSAGE_MAX_CHARS, secrets),
    code: typeof error.code === 'string' ? scrub(error.code, secrets) : error.code,
    type: error.type === undefined ? undefined : scrub(error.type, secrets),
  };
}

/** The first entry of `ids` that is no token id (what a bad id report shows). */
export function firstBadId(ids: readonly unknown[]): unknown {
  return ids.find((id) => toTokenId(id) === undefined);
}

/** Tokens came after the attempt's finish reason (reported once per attempt; they are kept). */
export function reportTokenAfterFinish(log: Log, attempt: Attempt): void {
  log({
    level: 'warn',
    event: 'token_after_finish',
    url: attempt.url.href,
    finishReason: attempt.finishReason,
    note: 'the server sent tokens after its finish reason; they are kept',
  });
}

/** An id (of `what`) that is not a non-negative integer, reported once per stream. */
export function reportBadId(
  log: Log,
  url: string | undefined,
  value: unknown,
  what: string,
  secrets: readonly (string | undefined)[],
): void {
  log({
    level: 'warn',
    event: 'bad_token_id',
    url,
    // Scrubbed before the cut: the value is the server's text, and could echo a key.
    value: scrubbedPreview(JSON.stringify(value) ?? String(value), BAD_ID_PREVIEW_CHARS, secrets),
    note: `an id of ${what} that is not a non-negative integer: not used as an id`,
  });
}

/** A dialect that promises live ids delivered tokens without them (see checkLiveIds). */
export function reportIdsMissing(
  log: Log,
  dialect: Dialect,
  kind: 'completion' | 'chat',
  attempt: Attempt,
): void {
  const ask = JSON.stringify(
    kind === 'completion' ? dialect.facts.completions.ids.ask : dialect.facts.chat.ids.ask,
  );
  log({
    level: 'warn',
    event: 'ids_missing',
    url: attempt.url.href,
    tokens: attempt.tokens,
    idsReceived: attempt.ids,
    note:
      attempt.ids === 0
        ? `the ${dialect.name} server sent no token ids although ${ask} asked for them (an older server ignores the field)`
        : `${attempt.tokens - attempt.ids} tokens came without an id`,
  });
}

/** The server counted more tokens than ids it sent. */
export function reportIdsIncomplete(
  log: Log,
  url: string | undefined,
  serverCount: number,
  idsReceived: number,
): void {
  log({
    level: 'warn',
    event: 'ids_incomplete',
    url,
    serverCount,
    idsReceived,
    note: 'the server counted more tokens than ids it sent (a token ending inside a UTF-8 character)',
  });
}

/** The server sent an error inside the stream. */
export function reportServerError(log: Log, attempt: Attempt, error: WireError): void {
  log({
    level: 'warn',
    event: 'server_error',
    url: attempt.url.href,
    message: error.message,
    code: error.code,
  });
}

/** An event that could not be parsed (`preview` is already scrubbed and cut). */
export function reportParseError(log: Log, attempt: Attempt, preview: string, cause: unknown): void {
  log({
    level: 'warn',
    event: 'parse_error',
    url: attempt.url.href,
    preview,
    error: String(cause),
  });
}

/** The server's usage contradicts the ids (see believedUsage). */
export function reportUsageMismatch(log: Log, attempt: Attempt, mismatch: UsageMismatch): void {
  log({
    level: 'warn',
    event: 'usage_mismatch',
    url: attempt.url.href,
    ...mismatch,
    note: `the server's usage says ${mismatch.reported} ${mismatch.field}, the ids say ${mismatch.expected}`,
  });
}

/** The server generated without part of the request's context (see StreamStats.contextTruncated). */
export function reportContextTruncated(log: Log, attempt: Attempt, detail: string): void {
  log({
    level: 'warn',
    event: 'context_truncated',
    url: attempt.url.href,
    detail,
    note: 'the server generated this output without part of its context (the prompt did not fit): not an answer to the whole prompt',
  });
}

/** The stream ended complete without a finish reason. */
export function reportNoFinishReason(log: Log, attempt: Attempt): void {
  log({
    level: 'warn',
    event: 'no_finish_reason',
    url: attempt.url.href,
    note: "the server ended the stream without a finish reason: reported as 'stop'",
  });
}

/** A break after every token maxTokens allows: the stream ends complete with `length`. */
export function reportLengthReached(
  log: Log,
  attempt: Attempt,
  failure: TokenwireError,
  tokensReceived: number,
): void {
  log({
    level: 'warn',
    event: 'length_reached',
    url: attempt.url.href,
    error: failure.message,
    tokensReceived,
    note: 'the stream broke after maxTokens tokens, before the finish reason: nothing was left to generate',
  });
}

/** Another attempt follows `failure` (`event` retry or resume; `reason` as decided). */
export function reportRetry(
  log: Log,
  event: 'retry' | 'resume',
  reason: string,
  failure: TokenwireError,
  attempt: number,
  tokensReceived: number,
  decision: RetryDecision,
): void {
  log({
    level: 'warn',
    event,
    reason,
    error: failure.message,
    attempt,
    tokensReceived,
    delayMs: decision.delayMs,
  });
}

/** A resumed attempt's server named another model than the one the output began with. */
export function reportModelChanged(
  log: Log,
  attempt: Attempt,
  change: ModelChange,
  tokensReceived: number,
): void {
  log({
    level: 'warn',
    event: 'model_changed',
    url: attempt.url.href,
    model: change.after,
    previousModel: change.before,
    tokensReceived,
    note: `the stream was resumed on a server that names its model ${JSON.stringify(change.after)}, not ${JSON.stringify(change.before)}: the output comes from both`,
  });
}

/** A hedge: `first` produced nothing within `afterMs`, the same request went to `url` too. */
export function reportHedge(log: Log, first: Attempt, url: URL, afterMs: number): void {
  log({
    level: 'warn',
    event: 'hedge',
    url: first.url.href,
    hedgeUrl: url.href,
    afterMs,
    note: `no token within hedge.afterMs ${afterMs}: the same request also goes to another endpoint; the first to answer is kept`,
  });
}

/** One request of a hedge race failed; the other goes on alone (not the call's failure). */
export function reportHedgeRacerFailed(log: Log, failed: Attempt, survivor: Attempt): void {
  log({
    level: 'warn',
    event: 'hedge_failed',
    url: failed.url.href,
    error: failed.failure?.message,
    note: `one request of the hedge failed; the other (${survivor.url.href}) goes on`,
  });
}
