/**
 * What one recorded answer shows on the wire (pure: bytes in, facts out): whether
 * the server echoed the prompt's ids, which delta field its reasoning came in, and
 * how a chat stream's first chunk looks. These are the facts the Client does not
 * keep once decoded (it reads both reasoning names, and keeps no echo).
 */
import { SseParser } from '../sse/parser.js';
import type { TapRecord } from './tap.js';

/** What an answer's events show. */
export interface WireReading {
  /** Events whose data was JSON. */
  events: number;
  /** A `prompt_token_ids` or `input_ids` list of ids somewhere in an event. */
  promptIdsEchoed: boolean;
  /** The delta field reasoning text came in (`reasoning`, `reasoning_content`), when any came. */
  reasoningField: string | undefined;
  /** Chat: the first chunk's shape, in the table's words (`role-empty`, `none`, …). */
  roleChunk: string | undefined;
  /** Some choice carried a `logprobs` object. */
  logprobs: boolean;
}

/** Keys an echo of the prompt's ids goes by (vLLM, SGLang completions, Fireworks; SGLang sglext). */
const PROMPT_ID_KEYS = new Set(['prompt_token_ids', 'input_ids']);
/** How deep an event's JSON is searched for them (they sit at most at `choices[i].x` / `sglext.x`). */
const MAX_DEPTH = 4;

type Json = Record<string, unknown>;

/** Reads the events of `record`'s answer (an SSE body); undefined when it was not one. */
export function readWire(record: TapRecord | undefined): WireReading | undefined {
  // A compressed answer (the Client decodes it; the tap keeps the bytes as sent) is not read here.
  if (record === undefined || record.status !== 200 || record.encoding !== undefined) return undefined;
  const reading: WireReading = {
    events: 0,
    promptIdsEchoed: false,
    reasoningField: undefined,
    roleChunk: undefined,
    logprobs: false,
  };
  let first = true;
  const parser = new SseParser(
    {
      onEvent(event) {
        const json = parseJson(event.data);
        if (json === undefined) return;
        reading.events++;
        if (!reading.promptIdsEchoed && hasPromptIds(json, 0)) reading.promptIdsEchoed = true;
        if (!reading.logprobs && hasLogprobs(json)) reading.logprobs = true;
        const delta = firstDelta(json);
        if (first && delta !== undefined) {
          first = false;
          reading.roleChunk = roleChunkOf(delta);
        }
        if (reading.reasoningField === undefined && delta !== undefined) {
          for (const key of ['reasoning', 'reasoning_content']) {
            if (typeof delta[key] === 'string' && delta[key] !== '') reading.reasoningField = key;
          }
        }
      },
    },
    { maxLineBytes: 1024 * 1024, maxEventBytes: 1024 * 1024 },
  );
  try {
    for (const chunk of record.chunks) parser.push(chunk);
    parser.end();
  } catch {
    // A body cut at the tap's bound, or not SSE: what was read so far stands.
  }
  return reading;
}

function parseJson(data: string): Json | undefined {
  if (data === '' || data === '[DONE]') return undefined;
  try {
    const value: unknown = JSON.parse(data);
    return value !== null && typeof value === 'object' ? (value as Json) : undefined;
  } catch {
    return undefined;
  }
}

function hasPromptIds(value: unknown, depth: number): boolean {
  if (depth > MAX_DEPTH || value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some((item) => hasPromptIds(item, depth + 1));
  for (const [key, item] of Object.entries(value)) {
    if (PROMPT_ID_KEYS.has(key) && Array.isArray(item) && item.length > 0) {
      if (item.every((id) => Number.isInteger(id))) return true;
    }
    if (hasPromptIds(item, depth + 1)) return true;
  }
  return false;
}

function hasLogprobs(json: Json): boolean {
  const choices = json.choices;
  if (!Array.isArray(choices)) return false;
  return choices.some((choice) => {
    const logprobs = (choice as Json | null)?.logprobs;
    return logprobs !== null && typeof logprobs === 'object';
  });
}

function firstDelta(json: Json): Json | undefined {
  const choices = json.choices;
  if (!Array.isArray(choices) || choices.length === 0) return undefined;
  const delta = (choices[0] as Json | null)?.delta;
  return delta !== null && typeof delta === 'object' ? (delta as Json) : undefined;
}

/** The table's name for a first chunk (wire-facts-types.ts `roleChunk`). */
function roleChunkOf(delta: Json): string {
  // A first chunk that already carries a token (Together names the role on every delta)
  // is not a chunk of its own.
  const token =
    (typeof delta.content === 'string' && delta.content !== '') ||
    (typeof delta.reasoning === 'string' && delta.reasoning !== '') ||
    (typeof delta.reasoning_content === 'string' && delta.reasoning_content !== '') ||
    (delta.token_id !== undefined && delta.token_id !== null);
  if (token || !('role' in delta)) return 'none';
  if (!('content' in delta)) return 'role-only';
  if (delta.content === null) return 'role-null';
  if (delta.content === '') return 'refusal' in delta ? 'role-empty-refusal' : 'role-empty';
  return 'role-with-content';
}
