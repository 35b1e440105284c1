/**
 * Learning the fast path's template (see fast-chunk.ts): from a chunk the full
 * `JSON.parse` path has just decoded, the bytes around its text and ids are kept
 * when a probe proves that any other text and ids in those places would decode
 * the same way. Runs a few times per stream, never per token.
 */

import { BACKSLASH, type FastState, QUOTE } from './fast-chunk.js';
import type { Json } from './openai-shapes.js';

const OPEN_BRACKET = 0x5b;
const SPACE = 0x20;

/** Learning attempts per stream: the first chunks may carry prompt ids; the next ones are plain. */
const LEARN_ATTEMPTS = 8;

/** A fresh per-stream state. */
export function newFastState(): FastState {
  return { template: undefined, learnBudget: LEARN_ATTEMPTS, fullChunks: 0 };
}

/**
 * Drops the learned template when a new attempt starts: its first chunks go the full way
 * (they carry the attempt's response id and model, which only the full path reads), and a
 * template is learned again after them. Keeps the learning budget: per attempt, never per token.
 */
export function forgetTemplate(state: FastState): void {
  state.template = undefined;
  state.fullChunks = 0;
}

/**
 * Chunks a stream decodes the full way before it tries to learn: learning costs about
 * three JSON.parse calls, wasted on the shortest streams (a few tokens), and a long
 * stream hardly notices two more parses.
 */
const LEARN_AFTER_CHUNKS = 2;

/** Counts a chunk the full path decoded; true when the stream should try to learn from it. */
export function mayLearn(state: FastState): boolean {
  return ++state.fullChunks > LEARN_AFTER_CHUNKS && state.learnBudget > 0;
}

/**
 * Stand-ins for the two values when a learned template is checked: an escaped NUL
 * (which a real chunk cannot carry raw) in the text, and two ids.
 */
const TEXT_PROBE = '\\u0000tw';
const TEXT_PROBE_VALUE = '\u0000tw';
const IDS_PROBE = '123456789012345,7';
const TEXT_KEY = '"text":';
const IDS_KEY = '"token_ids":';

function isNullish(value: Json): boolean {
  return value === null || value === undefined;
}

/**
 * Learns a template from a chunk the full path has just decoded (`data` its raw
 * text, `json` its parse), when the chunk is the simple shape. Does
 * nothing once the stream's learning budget is spent.
 */
export function learnCompletionTemplate(data: string, json: Json, state: FastState): void {
  if (state.learnBudget <= 0) return;
  state.learnBudget--;
  const choices = json.choices;
  if (!Array.isArray(choices) || choices.length !== 1) return;
  const choice = choices[0];
  if (choice === null || typeof choice !== 'object' || Array.isArray(choice)) return;
  // Chunks of another choice (n > 1) are skipped by the full path: never learn from one.
  if (choice.index !== undefined && choice.index !== 0) return;
  // Anything that makes the full path call more than `tokens` (or read more than text
  // and ids) stays on the full path; the template fixes these values for every line
  // it matches, so checking them once here covers all of those lines.
  if (typeof choice.text !== 'string' || !Array.isArray(choice.token_ids)) return;
  if (!isNullish(choice.finish_reason) || !isNullish(choice.logprobs)) return;
  if (choice.prompt_token_ids !== undefined || choice.token_id !== undefined) return;
  if (json.usage !== undefined && json.usage !== null) return;
  if (json.error !== undefined || json.prompt_token_ids !== undefined || json.sglext !== undefined) return;
  for (const id of choice.token_ids) if (!Number.isSafeInteger(id) || id < 0) return;
  // Cut the chunk's own text literal and id list out of its data. Where they are is
  // found by searching, and then proven: the template with other values put in must
  // parse to those values at choices[0] and nothing else changed (a duplicate key, a
  // match inside another key, a nested "text" all fail that). What the template keeps
  // is the server's bytes as they are, so it need not be canonical JSON.
  const textKey = data.indexOf(TEXT_KEY);
  if (textKey === -1) return;
  const textQuote = skipSpaces(data, textKey + TEXT_KEY.length);
  if (data.charCodeAt(textQuote) !== QUOTE) return;
  const textStart = textQuote + 1;
  let textEnd = textStart;
  for (;;) {
    const code = data.charCodeAt(textEnd);
    if (Number.isNaN(code)) return;
    if (code === QUOTE) break;
    textEnd += code === BACKSLASH ? 2 : 1;
  }
  const idsKey = data.indexOf(IDS_KEY, textEnd);
  if (idsKey === -1) return;
  const idsBracket = skipSpaces(data, idsKey + IDS_KEY.length);
  if (data.charCodeAt(idsBracket) !== OPEN_BRACKET) return;
  const idsStart = idsBracket + 1;
  const idsEnd = data.indexOf(']', idsStart);
  if (idsEnd === -1) return;
  const head = data.slice(0, textStart);
  const middle = data.slice(textEnd, idsStart);
  const tail = data.slice(idsEnd);
  if (!provesTemplate(head, middle, tail, json)) return;
  const whole = head + middle + tail;
  const bytes = Buffer.from(whole);
  // All ASCII (the usual case): byte lengths are string lengths.
  const ascii = bytes.length === whole.length;
  state.template = {
    bytes,
    view: new DataView(bytes.buffer, bytes.byteOffset, bytes.length),
    headLength: ascii ? head.length : Buffer.byteLength(head),
    middleLength: ascii ? middle.length : Buffer.byteLength(middle),
    tailLength: ascii ? tail.length : Buffer.byteLength(tail),
  };
}

/** The first position at or after `at` that is not a space (servers writing `": "` have them). */
function skipSpaces(data: string, at: number): number {
  while (data.charCodeAt(at) === SPACE) at++;
  return at;
}

/**
 * Whether head + text + middle + ids + tail, for other values, parses to exactly the
 * learned chunk with those values as `choices[0].text` and `choices[0].token_ids`. One
 * probe suffices: a JSON string's content and an array's numbers can be swapped for any
 * others without changing where anything else is.
 */
function provesTemplate(head: string, middle: string, tail: string, json: Json): boolean {
  let probe: Json;
  try {
    probe = JSON.parse(`${head}${TEXT_PROBE}${middle}${IDS_PROBE}${tail}`);
  } catch {
    return false;
  }
  const choice = probe?.choices?.[0];
  if (choice?.text !== TEXT_PROBE_VALUE) return false;
  const ids = choice.token_ids;
  if (!Array.isArray(ids) || ids.length !== 2 || ids[0] !== 123456789012345 || ids[1] !== 7) return false;
  // Everything else must be as learned: put the learned values back and compare.
  const original = json.choices[0];
  choice.text = original.text;
  choice.token_ids = original.token_ids;
  return sameJson(probe, json);
}

/** Deep equality of two JSON.parse results. */
function sameJson(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) if (!Object.hasOwn(b, key) || !sameJson(a[key], b[key])) return false;
  return true;
}
