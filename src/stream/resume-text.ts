/**
 * The server's requests a resume makes about text (held-text.ts has the rules): the
 * text a server held back at a break, and which token completed a stop string that a
 * holding server showed late. Both only at a resume or its stop string, never per token.
 */
import type { Dialect } from '../dialects/dialect.js';
import { describeRequest, TokenwireError } from '../errors.js';
import type { FleetEndpoint } from '../fleet/fleet.js';
import type { StreamContext } from './context.js';
import { detokenizeInContext, type HoldbackModel, heldText } from './held-text.js';

/** Most tokens asked about to find the one that completed a stop string (it is within a few). */
const MAX_COMPLETING_CANDIDATES = 64;

type Detokenize = (ids: readonly number[]) => Promise<string | undefined>;

function detokenizer(
  ctx: StreamContext,
  endpoint: FleetEndpoint,
  dialect: Dialect,
  model: string | undefined,
): Detokenize | undefined {
  const detokenize = ctx.detokenize;
  if (detokenize === undefined || !dialect.detokenizeRequest) return undefined;
  return (ids) => detokenize(endpoint, dialect, ids, model);
}

/** What the stream knows at the break. */
export interface BreakText {
  /** Every id received, or undefined when one came without an id. */
  ids: number[] | undefined;
  /** The last prompt ids (for decoding the first generated one in context); may be empty. */
  context: readonly number[];
  /** The text received. */
  streamed: string;
  /** Characters of it the broken attempt's server streamed itself. */
  attemptChars: number;
  model: string | undefined;
}

/** The text the server held at the break ('' when none), or why it cannot be known. */
export async function recoverHeldText(
  ctx: StreamContext,
  endpoint: FleetEndpoint,
  dialect: Dialect,
  model: HoldbackModel,
  at: BreakText,
): Promise<string | { reason: string }> {
  if (model.kind === 'none') return '';
  const what = 'the server may have held back text that could begin a stop string';
  if (model.kind === 'unknown') return { reason: `${what}, and how ${dialect.name} does it is not known` };
  if (at.ids === undefined) return { reason: `${what}, and without every id it cannot be recovered` };
  const detokenize = detokenizer(ctx, endpoint, dialect, at.model);
  if (detokenize === undefined)
    return { reason: `${what}, and there is no detokenize endpoint to recover it` };
  let text: string | { reason: string };
  try {
    text = await detokenizeInContext(detokenize, at.context, at.ids);
  } catch (error) {
    return { reason: `${what}, and its detokenize request failed: ${(error as Error).message}` };
  }
  if (typeof text !== 'string') return { reason: `${what}: ${text.reason}` };
  const held = heldText(model, at.streamed, text, at.attemptChars);
  return 'held' in held ? held.held : { reason: `${what}: ${held.reason}` };
}

/** What the stream knows when a stop string matched in a continuation's text. */
export interface MatchText {
  /** The last ids before the continuation. */
  context: readonly number[];
  /** The continuation's ids (undefined where one came without an id). */
  ids: readonly (number | undefined)[];
  /** The continuation's own text as streamed. */
  streamed: string;
  /** How many characters of the continuation's text complete the stop string. */
  completedAt: number;
  model: string | undefined;
}

/**
 * The continuation token (index) whose text completed the stop string: the first whose
 * text, decoded in context with those before it, reaches `completedAt` characters (`reach`:
 * how far the continuation's text reaches with it).
 */
export async function completingToken(
  ctx: StreamContext,
  endpoint: FleetEndpoint,
  dialect: Dialect,
  at: MatchText,
): Promise<{ token: number; reach: number } | { reason: string }> {
  const detokenize = detokenizer(ctx, endpoint, dialect, at.model);
  if (detokenize === undefined) return { reason: 'the server has no detokenize endpoint' };
  const limit = Math.min(at.ids.length, MAX_COMPLETING_CANDIDATES);
  for (let t = 0; t < limit; t++) {
    const ids = at.ids.slice(0, t + 1);
    if (ids.some((id) => id === undefined)) return { reason: 'a token came without an id' };
    let text: string | { reason: string };
    try {
      text = await detokenizeInContext(detokenize, at.context, ids as number[]);
    } catch (error) {
      return { reason: `the detokenize request failed: ${(error as Error).message}` };
    }
    if (typeof text !== 'string') return text;
    // The server's text of these tokens and what it streamed must agree where both reach.
    const common = Math.min(text.length, at.streamed.length);
    if (text.slice(0, common) !== at.streamed.slice(0, common)) {
      return { reason: "the server's detokenized text differs from the text it streamed" };
    }
    if (text.length >= at.completedAt) return { token: t, reach: text.length };
  }
  return { reason: `not within the first ${limit} tokens of the continuation` };
}

/**
 * The texts of the first `keep` held events once the held text is cut to its first `kept`
 * characters: each cut where the whole reaches `kept`, and kept text that came with a
 * dropped event (a holding server sends a token's text with later ones) added to the last.
 */
export function cutHeldText(texts: readonly string[], kept: number, keep: number): string[] {
  const out: string[] = new Array(keep);
  let left = kept;
  for (let i = 0; i < keep; i++) {
    const text = texts[i];
    out[i] = text.length <= left ? text : text.slice(0, left);
    left -= out[i].length;
  }
  if (left > 0 && keep > 0) out[keep - 1] += texts.slice(keep).join('').slice(0, left);
  return out;
}

/** The break's error, saying why the stream was not continued (it keeps every token in `partial`). */
export function notResumed(
  ctx: StreamContext,
  failure: TokenwireError,
  reason: string,
  url: string,
): TokenwireError {
  ctx.log({ level: 'warn', event: 'resume_stop_text', url, note: reason });
  failure.message = `${failure.message} (not resumed: ${reason})`;
  return failure;
}

/** A stop string completed across a resume, and the token that completed it could not be told. */
export function untoldStop(
  ctx: StreamContext,
  reason: string,
  url: string,
  partial: TokenwireError['partial'],
): TokenwireError {
  const why = `a stop string completed across the resume point, and which token completed it could not be told (${reason})`;
  ctx.log({ level: 'warn', event: 'resume_stop_text', url, note: why });
  return new TokenwireError(
    `unsupported: ${why}; the server held its text back, so the tokens past the stop string cannot be told apart${describeRequest('POST', url)}`,
    { code: 'unsupported', phase: 'stream', retryable: false, partial },
  );
}

/**
 * Chat's held text events cut as {@link cutHeldText} cuts texts: the events of the tokens
 * before `tokens` stay (each carries its ids' tokens, one when it came without ids; an event
 * across the cut keeps the ids before it), their text cut to `kept` characters in all.
 */
export function cutChatText(
  held: { text: string; ids?: number[] }[],
  heldFrom: number,
  kept: number,
  tokens: number,
): void {
  let keep = 0;
  for (let at = heldFrom; keep < held.length && at < tokens; keep++) {
    const event = held[keep];
    const count = event.ids?.length ?? 1;
    if (event.ids !== undefined && at + count > tokens) event.ids = event.ids.slice(0, tokens - at);
    at += count;
  }
  const texts = cutHeldText(
    held.map((event) => event.text),
    kept,
    keep,
  );
  held.length = keep;
  for (let i = 0; i < keep; i++) held[i].text = texts[i];
}
