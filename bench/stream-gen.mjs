/**
 * Deterministic benchmark streams: a fixed-seed PRNG picks token pieces from a
 * small vocabulary, and the same module encodes them as vLLM-style SSE. The
 * server encodes with it, and every client run checks its output against it, so
 * a fast but wrong client is reported as FAILED instead of timed.
 */

/**
 * Token pieces. The vocabulary deliberately mixes plain ASCII, multi-byte UTF-8
 * (2, 3 and 4 bytes), characters JSON must escape, and pieces written as
 * `\uXXXX` escapes (including a surrogate pair), so that a client which splits
 * UTF-8 across chunks or mis-decodes escapes fails the check.
 */
export const VOCAB = Object.freeze([
  { id: 279, text: ' the' },
  { id: 11, text: ',' },
  { id: 1917, text: ' token' },
  { id: 4096, text: ' stream' },
  { id: 13, text: '.' },
  { id: 220, text: ' ' },
  { id: 3001, text: 'é' },
  { id: 3002, text: ' café' },
  { id: 3003, text: '語' },
  { id: 3004, text: ' 日本語' },
  { id: 3005, text: '🙂' },
  { id: 3006, text: '"' },
  { id: 3007, text: '\\' },
  { id: 3008, text: '\n' },
  { id: 3009, text: '\t' },
  { id: 3010, text: ' "quoted"\n' },
  { id: 3011, text: 'é', unicodeEscape: true },
  { id: 3012, text: 'ü語', unicodeEscape: true },
  { id: 3013, text: '🙂!', unicodeEscape: true },
  { id: 3014, text: '\r\n' },
  { id: 3015, text: 'data: [DONE]' },
  { id: 3016, text: ' ∑x²' },
]);

/** mulberry32: tiny, fast, and identical on every platform for a given seed. */
export function prng(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The tokens of one stream: `ids[i]` and `pieces[i]` for i < count, and the
 * whole `text`.
 */
export function generateTokens(seed, count) {
  const next = prng(seed);
  const ids = new Array(count);
  const pieces = new Array(count);
  const vocabIndex = new Array(count);
  for (let i = 0; i < count; i++) {
    const index = Math.floor(next() * VOCAB.length);
    vocabIndex[i] = index;
    ids[i] = VOCAB[index].id;
    pieces[i] = VOCAB[index].text;
  }
  return { ids, pieces, vocabIndex, text: pieces.join('') };
}

/** JSON string literal of a piece; non-ASCII as `\uXXXX` when the entry asks for it. */
export function jsonPiece(entry) {
  const literal = JSON.stringify(entry.text);
  if (!entry.unicodeEscape) return literal;
  let out = '';
  for (let i = 0; i < literal.length; i++) {
    const code = literal.charCodeAt(i);
    out += code < 0x80 ? literal[i] : `\\u${code.toString(16).padStart(4, '0')}`;
  }
  return out;
}

const COMPLETION_HEAD = 'data: {"id":"cmpl-b","object":"text_completion","created":1,"model":"m","choices":[';
const CHAT_HEAD =
  'data: {"id":"chatcmpl-b","object":"chat.completion.chunk","created":1,"model":"m","choices":[';

function usageJson(promptTokens, count) {
  return `{"prompt_tokens":${promptTokens},"total_tokens":${promptTokens + count},"completion_tokens":${count}}`;
}

/**
 * The SSE events (strings, each ending in a blank line) of one stream.
 * `kind` is `'completion'` (vLLM `/v1/completions` with `token_ids`) or `'chat'`
 * (`/v1/chat/completions` with `delta.content` and `token_ids`).
 */
export function encodeEvents(seed, count, { kind = 'completion', promptTokens = 3 } = {}) {
  const { vocabIndex } = generateTokens(seed, count);
  const literals = VOCAB.map(jsonPiece);
  const events = new Array(count + 3);
  const head = kind === 'chat' ? CHAT_HEAD : COMPLETION_HEAD;
  for (let i = 0; i < count; i++) {
    const entry = VOCAB[vocabIndex[i]];
    const literal = literals[vocabIndex[i]];
    events[i] =
      kind === 'chat'
        ? `${head}{"index":0,"delta":{"content":${literal}},"logprobs":null,"finish_reason":null,"token_ids":[${entry.id}]}]}\n\n`
        : `${head}{"index":0,"text":${literal},"logprobs":null,"finish_reason":null,"stop_reason":null,"token_ids":[${entry.id}]}]}\n\n`;
  }
  events[count] =
    kind === 'chat'
      ? `${head}{"index":0,"delta":{"content":""},"logprobs":null,"finish_reason":"length","token_ids":[]}]}\n\n`
      : `${head}{"index":0,"text":"","logprobs":null,"finish_reason":"length","stop_reason":null,"token_ids":[]}]}\n\n`;
  events[count + 1] = `${head}],"usage":${usageJson(promptTokens, count)}}\n\n`;
  events[count + 2] = 'data: [DONE]\n\n';
  return events;
}

/** The whole stream as one UTF-8 buffer. */
export function encodeStream(seed, count, options) {
  return Buffer.from(encodeEvents(seed, count, options).join(''), 'utf8');
}
