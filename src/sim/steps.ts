/**
 * "Steps": what one token (or one tool-call fragment) contributes to the
 * stream (generation.ts makes them one at a time). Text is decoded
 * incrementally, holding back the bytes of a UTF-8 character that a token leaves
 * incomplete, as servers do: the held token gets text '' (vLLM) or no event at
 * all (llama.cpp), and the held bytes go out with the next token.
 */
import { idsToBytes, tokenize } from './tokenizer.js';

export type StepKind = 'content' | 'reasoning' | 'tool';

export interface Step {
  /** The ids this step carries (one generated token, or a tool-call fragment's ids). */
  ids: number[];
  /** Text to send with this step (may be '' while bytes are held back). */
  text: string;
  /** The bytes this step's text came from (held-back bytes of earlier tokens included). */
  bytes: Buffer;
  /** This step left bytes of an incomplete UTF-8 character held back. */
  held: boolean;
  kind: StepKind;
}

/**
 * The tool call's JSON arguments, chosen to make naive clients fail: a `\u00e9`
 * escape, an escaped quote, a backslash, CJK text and an emoji (a surrogate pair).
 */
export const TOOL_ARGUMENTS = '{"query":"caf\\u00e9 \\"語\\" 🙂","path":"C:\\\\tmp","limit":3}';

/**
 * Splits the arguments into fragments, deliberately cutting inside the
 * `\u00e9` escape and between the `\` and `"` of an escaped quote, never inside
 * a surrogate pair.
 */
export function toolArgumentFragments(args: string = TOOL_ARGUMENTS): string[] {
  const cuts = new Set<number>();
  const unicodeEscape = args.indexOf('\\u');
  if (unicodeEscape >= 0) cuts.add(unicodeEscape + 4);
  const quote = args.indexOf('\\"');
  if (quote >= 0) cuts.add(quote + 1);
  for (let i = 3; i < args.length; i += 4) cuts.add(i);
  const sorted = [...cuts].filter((cut) => {
    const code = args.charCodeAt(cut);
    return cut > 0 && cut < args.length && !(code >= 0xdc00 && code <= 0xdfff);
  });
  sorted.sort((a, b) => a - b);
  const fragments: string[] = [];
  let start = 0;
  for (const cut of sorted) {
    fragments.push(args.slice(start, cut));
    start = cut;
  }
  fragments.push(args.slice(start));
  return fragments;
}

/** Steps for the tool-call argument fragments (ids: the fragment tokenized). */
export function toolSteps(): Step[] {
  return toolArgumentFragments().map((text) => {
    const bytes = Buffer.from(text, 'utf8');
    return { ids: tokenize(text), text, bytes, held: false, kind: 'tool' as const };
  });
}

/** Merges consecutive steps of the same kind into one (vLLM's several ids per chunk). */
export function mergeSteps(steps: readonly Step[]): Step {
  if (steps.length === 1) return steps[0];
  const ids: number[] = [];
  let text = '';
  for (const step of steps) {
    ids.push(...step.ids);
    text += step.text;
  }
  const bytes = Buffer.concat(steps.map((step) => step.bytes));
  return { ids, text, bytes, held: steps[steps.length - 1].held, kind: steps[0].kind };
}

/** The full text of some ids (for non-streaming bodies). */
export function textOf(ids: readonly number[]): string {
  return idsToBytes(ids).toString('utf8');
}
