/**
 * Unknown keys in options and requests: an `invalid_option` error naming the key and,
 * where one fits, what to write instead. Options spelled as the `openai` package spells
 * them (`baseURL`, `maxRetries`) or as the wire does (`max_tokens`, `top_p`) would
 * otherwise be ignored without a word.
 */
import { InvalidOptionError } from './errors.js';

/**
 * The known keys of an options type, as a record the compiler checks against the type:
 * adding an option to the interface without adding it here is a type error.
 */
export function keySet<T>(keys: Record<keyof Required<T>, true>): ReadonlySet<string> {
  return new Set(Object.keys(keys));
}

/**
 * Names other clients (and the wire) use, and where tokenwire has the same thing. Keys
 * that differ only in case, `_` or `-` from a known one are found without this table.
 */
const OTHER_SPELLINGS: Readonly<Record<string, string>> = {
  // openai package (ClientOptions)
  baseURL: 'baseUrl',
  maxRetries: 'retry.maxAttempts',
  timeout: 'timeouts.totalMs',
  defaultHeaders: 'headers',
  httpAgent: 'dispatcher',
  fetchOptions: 'dispatcher, tls or proxy',
  // retry
  retries: 'retry.maxAttempts',
  attempts: 'retry.maxAttempts',
  // the wire, and other SDKs' request fields
  max_completion_tokens: 'maxTokens',
  maxCompletionTokens: 'maxTokens',
  maxOutputTokens: 'maxTokens',
  n_predict: 'maxTokens',
  temperature: 'sampling.temperature',
  top_p: 'sampling.topP',
  topP: 'sampling.topP',
  top_k: 'sampling.topK',
  topK: 'sampling.topK',
  min_p: 'sampling.minP',
  minP: 'sampling.minP',
  seed: 'sampling.seed',
  repetition_penalty: 'sampling.repetitionPenalty',
  repeat_penalty: 'sampling.repetitionPenalty',
  presence_penalty: 'sampling.presencePenalty',
  frequency_penalty: 'sampling.frequencyPenalty',
  stop_sequences: 'stop',
  stopSequences: 'stop',
  abortSignal: 'signal',
  extra_body: 'extraBody',
  tool_choice: 'toolChoice',
  response_format: 'responseFormat',
};

/** Same key but for case, `_` and `-`: `max_tokens` ~ `maxTokens`, `baseurl` ~ `baseUrl`. */
function loose(key: string): string {
  return key.toLowerCase().replace(/[-_]/g, '');
}

/** Edit distance, bounded (keys are short; a suggestion is only made within 2 edits). */
function distance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** What to write instead of `key`, given the keys known where it was found (with their path prefix). */
export function suggestKey(key: string, known: ReadonlySet<string>, prefix = ''): string | undefined {
  const spelled = OTHER_SPELLINGS[key];
  if (spelled !== undefined && (prefix === '' || spelled.startsWith(prefix))) return spelled;
  const target = loose(key);
  for (const candidate of known) if (loose(candidate) === target) return prefix + candidate;
  if (key.length >= 4) {
    for (const candidate of known) if (distance(loose(candidate), target) <= 2) return prefix + candidate;
  }
  return undefined;
}

/**
 * Throws `invalid_option` for the first key of `value` that is not in `known`. The value of
 * an unknown key is never shown: it may be a misspelled `apiKey`.
 *
 * @param kind `'option'` (client options) or `'request field'`
 * @param prefix the path of `value` in the options (`'retry.'`, `'sampling.'`), '' at the top
 * @param hint said when there is no suggestion (where the key may belong instead)
 */
export function checkKeys(
  value: object,
  known: ReadonlySet<string>,
  kind: 'option' | 'request field',
  prefix = '',
  hint = '',
): void {
  for (const key in value) {
    if (!Object.hasOwn(value, key) || known.has(key)) continue;
    const suggestion = suggestKey(key, known, prefix);
    const name = prefix + key;
    const label = kind === 'option' ? `invalid option ${name}` : `invalid ${name}`;
    const why = kind === 'option' ? 'unknown option' : 'unknown request field';
    throw new InvalidOptionError(
      suggestion !== undefined
        ? `${label}: ${why} (did you mean ${suggestion}?)`
        : `${label}: ${why} (expected one of ${[...known].join(', ')}${hint})`,
    );
  }
}
