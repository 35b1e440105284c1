/**
 * A byte-level fast path for the commonest completions chunk: one choice whose
 * only changing parts are its `text` and `token_ids`, e.g. vLLM's
 * `{"id":"cmpl-1","object":"text_completion","created":1,"model":"m","choices":
 * [{"index":0,"text":" the","logprobs":null,"finish_reason":null,
 * "stop_reason":null,"token_ids":[279]}]}`.
 *
 * Chunks of one stream repeat everything but those two values, so after the full
 * `JSON.parse` path decoded one such chunk, the bytes around the two values are
 * kept as a template: the next line is compared with it (memcmp), and only the
 * text literal and the id array are decoded, straight from the bytes — no string
 * of the whole line, no object tree.
 *
 * The contract is exactness: a line is decoded here only when the full path
 * (`parseStreamEvent` + `decodeCompletionChoice`) would make the same sink calls
 * with the same arguments; otherwise nothing is called and false is returned, so
 * the caller falls back. A property test holds both paths to that. How a
 * template is learned: fast-chunk-learn.ts.
 */
import { decodeUtf8 } from '../utf8.js';
import type { DecodeSink } from './dialect.js';
import { cachedText, cacheText, TEXT_CACHE_MAX_BYTES } from './text-cache.js';

/**
 * The bytes around a chunk's text and ids, learned from a chunk the full path
 * decoded: one buffer holding head, middle and tail back to back (one small
 * allocation per stream, from Node's shared pool; a stream holds its template for
 * its whole life, so at 10,000 concurrent streams the size matters).
 */
export interface CompletionTemplate {
  /** head + middle + tail. */
  bytes: Buffer;
  /** A view of `bytes` for the 4-byte compares. */
  view: DataView;
  /** Everything before the text's content, its opening quote included: `bytes[0, headLength)`. */
  headLength: number;
  /** From the text's closing quote to the ids' opening bracket, both included: next `middleLength` bytes. */
  middleLength: number;
  /** From the ids' closing bracket to the end of the data: the last `tailLength` bytes. */
  tailLength: number;
}

/** Per-stream state of the fast path (a global template would thrash between concurrent streams). */
export interface FastState {
  /** The template lines are matched against, once one was learned. */
  template: CompletionTemplate | undefined;
  /**
   * Learning attempts left. Each costs a `JSON.parse` of a probe, so a stream
   * whose chunks never have the simple shape (llama.cpp with logprobs, SGLang
   * without live ids) stops paying for them after a few.
   */
  learnBudget: number;
  /** Chunks the full path decoded so far (learning starts after a few). */
  fullChunks: number;
}

export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;
const SLASH = 0x2f;
const LETTER_A = 0x61;
const LETTER_B = 0x62;
const LETTER_F = 0x66;
const LETTER_N = 0x6e;
const LETTER_R = 0x72;
const LETTER_T = 0x74;
const LETTER_U = 0x75;
const COMMA = 0x2c;
const CLOSE_BRACKET = 0x5d;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
/** The ids handed to the sink for a chunk of one id (valid during the call only) and of none. */
const ONE_ID: number[] = [0];
const NO_IDS: readonly number[] = [];
/** Any 15-digit decimal is below 2^53, so summing digit by digit stays exact. */
const MAX_EXACT_DIGITS = 15;

/**
 * A DataView of the last buffer matched: events of one chunk reuse it. Only one
 * chunk is kept alive by it (a per-stream cache would pin a chunk per stream).
 */
let viewedBuffer: Buffer | undefined;
let view: DataView = new DataView(new ArrayBuffer(0));

function viewOf(line: Buffer): DataView {
  if (line !== viewedBuffer) {
    viewedBuffer = line;
    view = new DataView(line.buffer, line.byteOffset, line.byteLength);
  }
  return view;
}

/**
 * Whether `line[at, at + length)` equals `template.bytes[from, from + length)`; the
 * caller checked the bounds. Four bytes per step through DataViews (inlined by V8):
 * measured ~2x faster than `Buffer#compare` (a native call with a fixed cost of
 * ~50 ns) and ~3x faster than a byte loop, for the ~100-byte heads of real chunks.
 */
function bytesEqual(
  lineView: DataView,
  line: Buffer,
  at: number,
  template: CompletionTemplate,
  from: number,
  length: number,
): boolean {
  const { view, bytes } = template;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) if (lineView.getInt32(at + i) !== view.getInt32(from + i)) return false;
  for (let i = whole; i < length; i++) if (line[at + i] !== bytes[from + i]) return false;
  return true;
}

/**
 * Decodes the SSE data `line[start, end)` of a completions stream if it matches
 * the stream's learned template, calling `sink` exactly as the full path would;
 * returns false (having called nothing) otherwise.
 */
export function fastDecodeCompletionBytes(
  line: Buffer,
  start: number,
  end: number,
  sink: DecodeSink,
  state: FastState,
): boolean {
  const template = state.template;
  if (template === undefined) return false;
  const { headLength, middleLength, tailLength } = template;
  if (end - start < headLength + middleLength + tailLength) return false;
  const lineView = viewOf(line);
  if (!bytesEqual(lineView, line, start, template, 0, headLength)) return false;

  // The text literal: up to the first quote not escaped by a backslash.
  const textStart = start + headLength;
  let pos = textStart;
  let escaped = false;
  // OR of every byte: its high bit says whether the text is all ASCII.
  let bitsSeen = 0;
  for (;;) {
    if (pos >= end) return false;
    const byte = line[pos];
    if (byte === QUOTE) break;
    bitsSeen |= byte;
    if (byte === BACKSLASH) {
      escaped = true;
      // Skips the escaped byte, which may be a quote. (An escape is ASCII; any other
      // byte here makes the literal invalid, which JSON.parse below rejects.)
      pos += 2;
      continue;
    }
    // Raw control characters are invalid inside a JSON string.
    if (byte < 0x20) return false;
    pos++;
  }
  const textEnd = pos;
  if (
    end - textEnd < middleLength + tailLength ||
    !bytesEqual(lineView, line, textEnd, template, headLength, middleLength)
  )
    return false;

  // The ids: `[]` or `[d(,d)*]`, canonical (no spaces, no leading zeros).
  pos = textEnd + middleLength;
  // Most chunks carry one id: it goes into a reused one-element array (the sink does not
  // keep `ids`), saving an array and its 17-slot backing store per token (~180 bytes).
  let firstId = 0;
  let idCount = 0;
  let moreIds: number[] | undefined;
  if (line[pos] !== CLOSE_BRACKET) {
    for (;;) {
      const digitsStart = pos;
      let value = 0;
      let byte = line[pos];
      while (byte >= DIGIT_0 && byte <= DIGIT_9) {
        value = value * 10 + (byte - DIGIT_0);
        byte = line[++pos];
      }
      const digits = pos - digitsStart;
      if (digits === 0 || digits > MAX_EXACT_DIGITS) return false;
      if (digits > 1 && line[digitsStart] === DIGIT_0) return false;
      if (idCount === 0) firstId = value;
      else if (idCount === 1) moreIds = [firstId, value];
      else moreIds!.push(value);
      idCount++;
      if (byte === CLOSE_BRACKET) break;
      if (byte !== COMMA) return false;
      pos++;
    }
  }
  // The tail closes every bracket: it must end the line exactly.
  if (
    end - pos !== tailLength ||
    !bytesEqual(lineView, line, pos, template, headLength + middleLength, tailLength)
  )
    return false;

  let text: string | undefined;
  if (textEnd - textStart <= TEXT_CACHE_MAX_BYTES) {
    text = cachedText(line, textStart, textEnd);
    if (text === undefined) {
      text = decodeLiteral(line, textStart, textEnd, bitsSeen < 0x80, escaped);
      if (text === undefined) return false;
      cacheText(line, textStart, textEnd, text);
    }
  } else {
    text = decodeLiteral(line, textStart, textEnd, bitsSeen < 0x80, escaped);
    if (text === undefined) return false;
  }
  if (idCount === 1) {
    ONE_ID[0] = firstId;
    sink.tokens(ONE_ID, text, undefined);
  } else if (idCount > 1) sink.tokens(moreIds, text, undefined);
  else if (text !== '') sink.tokens(NO_IDS, text, undefined);
  return true;
}

/**
 * The content of the JSON string literal `line[start, end)` (closing quote found, no raw
 * control characters), decoded exactly as JSON.parse does; undefined where JSON.parse
 * would throw.
 */
function decodeLiteral(
  line: Buffer,
  start: number,
  end: number,
  ascii: boolean,
  escaped: boolean,
): string | undefined {
  if (ascii && end - start <= MAX_JS_TEXT_BYTES) return decodeShortAscii(line, start, end);
  if (!escaped) return decodeUtf8(line, start, end);
  try {
    // Escapes decoded (and validated) by the same parser the full path uses.
    return JSON.parse(decodeUtf8(line, start - 1, end + 1)) as string;
  } catch {
    return undefined;
  }
}

/**
 * Longest ASCII text literal decoded by {@link decodeShortAscii}: most tokens are a
 * few characters, and V8 keeps concatenations below 13 characters flat, so building
 * them char by char costs less than a native UTF-8 decode or `JSON.parse` call (~50
 * and ~140 ns); past this, the growing copies cost more than the call.
 */
const MAX_JS_TEXT_BYTES = 16;

/**
 * Decodes the content of an all-ASCII JSON string literal `line[start, end)` (its
 * closing quote found, no raw control characters) with its escapes, exactly as
 * JSON.parse does; undefined for an invalid escape (JSON.parse would throw).
 */
function decodeShortAscii(line: Buffer, start: number, end: number): string | undefined {
  let text = '';
  for (let i = start; i < end; i++) {
    let code = line[i];
    if (code === BACKSLASH) {
      if (++i >= end) return undefined;
      code = line[i];
      switch (code) {
        case QUOTE:
        case BACKSLASH:
        case SLASH:
          break;
        case LETTER_B:
          code = 0x08;
          break;
        case LETTER_F:
          code = 0x0c;
          break;
        case LETTER_N:
          code = 0x0a;
          break;
        case LETTER_R:
          code = 0x0d;
          break;
        case LETTER_T:
          code = 0x09;
          break;
        case LETTER_U:
          // One UTF-16 unit, as JSON.parse gives it (a lone surrogate stays lone; a
          // pair written as two escapes is the same two units either way).
          if (end - i <= 4) return undefined;
          code =
            (hexValue(line[i + 1]) << 12) |
            (hexValue(line[i + 2]) << 8) |
            (hexValue(line[i + 3]) << 4) |
            hexValue(line[i + 4]);
          // A non-hex digit is -1, negative however far it is shifted.
          if (code < 0) return undefined;
          i += 4;
          break;
        default:
          return undefined;
      }
    }
    text += String.fromCharCode(code);
  }
  return text;
}

/** The value of a hex digit byte, or -1. */
function hexValue(byte: number): number {
  if (byte >= DIGIT_0 && byte <= DIGIT_9) return byte - DIGIT_0;
  const lower = byte | 0x20;
  if (lower >= LETTER_A && lower <= LETTER_F) return lower - LETTER_A + 10;
  return -1;
}
