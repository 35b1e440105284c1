/**
 * Text a server held back when a stream broke. A server that holds back streamed text
 * while it may begin a stop string (vLLM: the last longest − 1 characters; llama.cpp:
 * everything unsent while it ends with a stop string's beginning — the wire facts'
 * `stopHoldback`) still sends every token's ids, so at a break the client has every id
 * but not all of their text. That text is recovered from the server's own detokenizer
 * and checked against what the holdback allows; when it cannot be recovered exactly the
 * stream is not resumed (it fails with its tokens in `partial`) rather than continue
 * with text missing. Work done only at a resume, never per token.
 */
import type { Dialect } from '../dialects/dialect.js';
import type { StopHoldbackFact } from '../dialects/wire-facts-types.js';
import { stopList } from './stop-strings.js';

/** Prompt ids put before the generated ids when detokenizing, so their first one decodes in context. */
export const CONTEXT_IDS = 8;

/** How the server of a stream holds text back, for the request's stop strings. */
export type HoldbackModel =
  /** Nothing can be held (no stop string of two characters or more, or a server that holds nothing). */
  | { kind: 'none' }
  /** Held by a rule known from the server's source. */
  | { kind: 'held'; mode: 'suffix' | 'partial'; stops: readonly string[]; buffer: number }
  /** The server's behaviour is not known: held text cannot be ruled out nor checked. */
  | { kind: 'unknown' };

/** The holdback of `dialect`'s server for a request with these stop strings and extra body fields. */
export function holdbackModel(
  dialect: Dialect,
  stop: string | string[] | undefined,
  extraBody: Record<string, unknown> | undefined,
): HoldbackModel {
  const stops = stopList(stop);
  const buffer = Math.max(0, ...stops.map((s) => codePoints(s) - 1));
  const fact: StopHoldbackFact | undefined = dialect.facts.stopHoldback;
  // llama.cpp sends the token that completes a stop string apart from its finish: even with
  // one-character stop strings a break between them must be told from a running stream.
  const apart = fact?.mode === 'partial' && stops.length > 0;
  // A one-character stop string is found whole in the token that brings it: nothing waits.
  if (buffer === 0 && !apart) return { kind: 'none' };
  if (fact === undefined) return { kind: 'unknown' };
  if (fact.mode === 'none') return { kind: 'none' };
  const off = fact.offWhen;
  if (off !== undefined && Object.entries(off).every(([key, value]) => extraBody?.[key] === value)) {
    return { kind: 'none' };
  }
  return { kind: 'held', mode: fact.mode, stops, buffer };
}

/** What the received text and the server's detokenized text say was held. */
export type HeldText = { held: string } | { reason: string };

/**
 * The held text: what the server's text of every id received (`detokenized`, decoded in
 * context) has past the text it streamed (`streamed`), checked against the holdback rule.
 * `attemptChars` is how much text the broken attempt itself streamed (a continuation's
 * server holds back within its own output only).
 */
export function heldText(
  model: Extract<HoldbackModel, { kind: 'held' }>,
  streamed: string,
  detokenized: string,
  attemptChars: number,
): HeldText {
  if (!detokenized.startsWith(streamed)) {
    return { reason: "the server's detokenized text of the ids does not begin with the text it streamed" };
  }
  for (const stop of model.stops) {
    if (detokenized.indexOf(stop, Math.max(0, streamed.length - stop.length + 1)) !== -1) {
      // The server stopped there (llama.cpp sends the stopping token and its finish apart): a
      // continuation would generate past the end.
      return {
        reason: 'the ids received complete a stop string: the server had stopped, and its finish was lost',
      };
    }
  }
  const held = detokenized.slice(streamed.length);
  if (held.endsWith('\uFFFD')) {
    // The last token ends inside a UTF-8 character: the server sent none of it yet.
    return { reason: 'the held text ends inside a UTF-8 character' };
  }
  if (model.mode === 'suffix') {
    // vLLM sends all but the last `buffer` characters of the attempt's output: exactly that
    // many are held once it streamed anything, at most that many before.
    const n = codePoints(held);
    const ok = attemptChars > 0 ? n === model.buffer : n <= model.buffer;
    if (!ok) {
      return {
        reason: `${n} characters would be held where the server holds ${attemptChars > 0 ? '' : 'at most '}${model.buffer}`,
      };
    }
    return { held };
  }
  // llama.cpp holds unsent text only while it ends with the beginning of a stop string.
  if (held !== '' && !endsWithStopBeginning(held, model.stops)) {
    return { reason: 'the text past the streamed text does not end with the beginning of a stop string' };
  }
  return { held };
}

/** The text of `ids` as the stream decodes it: after `context` ids, whose own text is cut off. */
export async function detokenizeInContext(
  detokenize: (ids: readonly number[]) => Promise<string | undefined>,
  context: readonly number[],
  ids: readonly number[],
): Promise<string | { reason: string }> {
  const [whole, head] = await Promise.all([
    detokenize([...context, ...ids]),
    context.length > 0 ? detokenize(context) : Promise.resolve(''),
  ]);
  if (whole === undefined || head === undefined) return { reason: 'no text in the detokenize answer' };
  if (!whole.startsWith(head)) return { reason: 'the context ids do not decode to a prefix of the whole' };
  return whole.slice(head.length);
}

function endsWithStopBeginning(text: string, stops: readonly string[]): boolean {
  for (const stop of stops) {
    for (let length = Math.min(stop.length - 1, text.length); length > 0; length--) {
      if (text.endsWith(stop.slice(0, length))) return true;
    }
  }
  return false;
}

/** Characters as Python counts them (code points): vLLM's holdback length. */
export function codePoints(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}
