/**
 * The simulator's tokenizer: greedy longest match over UTF-8 bytes against the
 * word pieces, falling back to one byte token per byte, so every string has a
 * tokenization. Detokenizing concatenates bytes and decodes them as UTF-8 with
 * U+FFFD for invalid sequences. Like real BPE vocabularies, tokenization is not
 * unique: `tokenize(detokenize(ids))` need not give back `ids`.
 */
import { BYTE_BASE, VOCAB } from './vocab.js';

interface TrieNode {
  id: number;
  next: Map<number, TrieNode>;
}

function buildTrie(): TrieNode {
  const root: TrieNode = { id: -1, next: new Map() };
  for (let id = BYTE_BASE + 256; id < VOCAB.size; id++) {
    let node = root;
    for (const byte of VOCAB.bytes[id]) {
      let child = node.next.get(byte);
      if (!child) {
        child = { id: -1, next: new Map() };
        node.next.set(byte, child);
      }
      node = child;
    }
    // Pieces the generator only emits as completions (e.g. 🙂's tail) still
    // tokenize; the first piece registered for a byte string wins.
    if (node.id === -1) node.id = id;
  }
  return root;
}

const TRIE = buildTrie();

/** Greedy longest-match tokenization of UTF-8 bytes. */
export function tokenizeBytes(bytes: Uint8Array): number[] {
  const ids: number[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    let node: TrieNode | undefined = TRIE;
    let bestId = BYTE_BASE + bytes[pos];
    let bestLen = 1;
    for (let i = pos; i < bytes.length; i++) {
      node = node.next.get(bytes[i]);
      if (!node) break;
      if (node.id !== -1 && i + 1 - pos > bestLen) {
        bestId = node.id;
        bestLen = i + 1 - pos;
      }
    }
    ids.push(bestId);
    pos += bestLen;
  }
  return ids;
}

/**
 * The sim tokenizer: greedy longest match over the UTF-8 bytes of `text`.
 * No BOS is added (the llama.cpp dialect adds it for string prompts itself).
 *
 * @example tokenize(' café') // → one word-piece id
 */
export function tokenize(text: string): number[] {
  return tokenizeBytes(Buffer.from(text, 'utf8'));
}

/** The bytes of `ids` concatenated (BOS, EOS and pad contribute nothing). */
export function idsToBytes(ids: readonly number[]): Buffer {
  const parts: Buffer[] = [];
  for (const id of ids) {
    const piece = VOCAB.bytes[id];
    if (piece === undefined)
      throw new RangeError(`token id ${id} is outside the sim vocabulary (0..${VOCAB.size - 1})`);
    parts.push(piece);
  }
  return Buffer.concat(parts);
}

/** Concatenates the ids' bytes and decodes UTF-8, U+FFFD for invalid sequences. */
export function detokenize(ids: readonly number[]): string {
  return idsToBytes(ids).toString('utf8');
}

/** True when `id` is a valid sim vocabulary id. */
export function isVocabId(id: unknown): id is number {
  return typeof id === 'number' && Number.isInteger(id) && id >= 0 && id < VOCAB.size;
}

/**
 * Length of an incomplete (but so far valid) UTF-8 sequence at the end of
 * `bytes`, 0 when the bytes end on a character boundary. Invalid bytes are not
 * held back: they decode to U+FFFD at once, as servers do.
 */
export function incompleteTail(bytes: Uint8Array): number {
  const end = bytes.length;
  for (let i = end - 1; i >= 0 && i >= end - 3; i--) {
    const byte = bytes[i];
    if ((byte & 0xc0) === 0x80) continue;
    if (byte < 0xc0) return 0;
    const need = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : 2;
    return end - i < need ? end - i : 0;
  }
  return 0;
}

/** llama.cpp renders special tokens as text (`[1,358,368]` → `"<s> Hello world"`, `[1,2,3]` → `"<s></s>\u0000"`). */
export function renderWithSpecials(ids: readonly number[]): string {
  let out = '';
  let run: number[] = [];
  const flush = (): void => {
    if (run.length > 0) out += idsToBytes(run).toString('utf8');
    run = [];
  };
  for (const id of ids) {
    const special = id === 1 ? '<s>' : id === 2 ? '</s>' : id === 0 ? '<unk>' : undefined;
    if (special === undefined) run.push(id);
    else {
      flush();
      out += special;
    }
  }
  flush();
  return out;
}
