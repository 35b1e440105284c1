/**
 * The simulator's vocabulary. Ids follow the recorded llama.cpp model so ids
 * look familiar in tests: 0 `<pad>`, 1 BOS `<s>`, 2 EOS `</s>`, 3..258 the byte
 * tokens (id = 3 + byte), then word pieces from 259 up. The word pieces are
 * chosen to exercise clients: words with and without a leading space, JSON
 * specials (`"`, `\`, newline, tab), multi-byte UTF-8 (é, 語, 🙂) and pieces that
 * are only PART of a UTF-8 character, whose completing piece the generator
 * must emit next.
 */

export const PAD_ID = 0;
export const BOS_ID = 1;
export const EOS_ID = 2;
export const BYTE_BASE = 3;
export const FIRST_PIECE_ID = 259;

const CONSONANTS = 'bdfghjklmnprstvwz';
const VOWELS = 'aeiou';

/** Deterministic pseudo-random words built from consonant-vowel syllables (like the recorded model's). */
function makeWords(count: number): string[] {
  const words = new Set<string>();
  let state = 0x9e3779b9;
  const next = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
  while (words.size < count) {
    const syllables = 1 + (next() % 3);
    let word = '';
    for (let s = 0; s < syllables; s++) {
      word += CONSONANTS[next() % CONSONANTS.length] + VOWELS[next() % VOWELS.length];
    }
    if (next() % 4 === 0) word += CONSONANTS[next() % CONSONANTS.length];
    if (next() % 6 === 0) word = word[0].toUpperCase() + word.slice(1);
    words.add(word);
  }
  return [...words];
}

/** Whole pieces with characters that are awkward on the wire. */
const SPECIAL_PIECES = [
  ' ',
  '\n',
  '\n\n',
  '\t',
  '"',
  ' "',
  '\\',
  '\\n',
  '":"',
  '{"',
  '"}',
  '.',
  ',',
  ':',
  ' é',
  'é',
  ' café',
  '語',
  ' 語',
  '日本',
  '🙂',
  ' 🙂',
  '→',
  '<',
  '>',
  '&',
  "'",
  '/',
  '\u2028',
];

/**
 * Partial UTF-8 pieces as [first half, completing half]. The second half of 語
 * is the byte token 0x9E (id 161), the same ids as the recorded grammar case.
 */
const SPLIT_PIECES: [number[], number[]][] = [
  [[0xe8, 0xaa], [0x9e]], // 語 = E8 AA | 9E
  [
    [0xf0, 0x9f],
    [0x99, 0x82],
  ], // 🙂 = F0 9F | 99 82
  [
    [0xe6, 0x97],
    [0xa5, 0xe6, 0x9c, 0xac],
  ], // 日本 = E6 97 | A5 + 本
  [
    [0xf0, 0x9f, 0x99],
    [0x82, 0x20],
  ], // 🙂 again, 3 | 1, then a space
];

export interface Vocab {
  /** The bytes of every id (empty for pad/BOS/EOS: they are not text). */
  readonly bytes: readonly Buffer[];
  /** Ids the generator may choose freely (word pieces and first halves). */
  readonly generatable: readonly number[];
  /** First-half piece id → the id that must follow it. */
  readonly completion: ReadonlyMap<number, number>;
  /** Spelling for `/tokenize` pieces and logprob `token` fields. */
  readonly size: number;
}

function buildVocab(): Vocab {
  const bytes: Buffer[] = [Buffer.alloc(0), Buffer.alloc(0), Buffer.alloc(0)];
  for (let b = 0; b < 256; b++) bytes.push(Buffer.from([b]));
  const seen = new Set<string>();
  const generatable: number[] = [];
  const completion = new Map<number, number>();
  const add = (piece: Buffer, free: boolean): number => {
    const key = piece.toString('hex');
    if (piece.length === 1) return BYTE_BASE + piece[0];
    if (seen.has(key)) throw new Error(`duplicate sim vocab piece ${key}`);
    seen.add(key);
    bytes.push(piece);
    const id = bytes.length - 1;
    if (free) generatable.push(id);
    return id;
  };
  for (const piece of SPECIAL_PIECES) add(Buffer.from(piece, 'utf8'), true);
  for (const word of makeWords(160)) {
    add(Buffer.from(word, 'utf8'), true);
    add(Buffer.from(` ${word}`, 'utf8'), true);
  }
  for (const [first, second] of SPLIT_PIECES) {
    const firstId = add(Buffer.from(first), true);
    const secondId = add(Buffer.from(second), false);
    completion.set(firstId, secondId);
  }
  return { bytes, generatable, completion, size: bytes.length };
}

export const VOCAB: Vocab = buildVocab();

/** The text spelling of an id, as llama.cpp's `/tokenize` pieces and logprob `token` fields show it. */
export function pieceText(id: number): string {
  if (id === BOS_ID) return '<s>';
  if (id === EOS_ID || id === PAD_ID) return '';
  return VOCAB.bytes[id].toString('utf8');
}
