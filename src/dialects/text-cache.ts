/**
 * Decoded token texts by the bytes of their JSON string literal, shared by all streams
 * of the process: the fast path's decoder looks a text up before decoding it. A
 * direct-mapped table of {@link TEXT_CACHE_SLOTS} slots for literals of up to
 * {@link TEXT_CACHE_MAX_BYTES} bytes. A token's text is mostly one of a few thousand
 * common pieces, so a hit gives every stream the same string object, as JSON.parse does
 * for short strings (it interns them): measured at 1,000 streams of 200 tokens, a
 * consumer keeping the texts held 115,000 copies of them (~3 MB) without this. The
 * bytes are compared in full on every hit, so a hit is exactly what decoding would give.
 */
export const TEXT_CACHE_SLOTS = 4096;
export const TEXT_CACHE_MAX_BYTES = 32;
const cacheBytes = new Uint8Array(TEXT_CACHE_SLOTS * TEXT_CACHE_MAX_BYTES);
/** Literal length per slot; 0 = empty slot (an empty literal is never looked up). */
const cacheLengths = new Uint8Array(TEXT_CACHE_SLOTS);
const cacheTexts: string[] = new Array<string>(TEXT_CACHE_SLOTS).fill('');
/** The slot of the last lookup: where its miss is stored. */
let lookedUpSlot = 0;

function cacheSlot(line: Buffer, start: number, end: number): number {
  // FNV-1a over the literal's bytes.
  let hash = 0x811c9dc5;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ line[i], 0x01000193);
  return (hash ^ (hash >>> 16)) & (TEXT_CACHE_SLOTS - 1);
}

export function cachedText(line: Buffer, start: number, end: number): string | undefined {
  const length = end - start;
  if (length === 0) return '';
  const slot = cacheSlot(line, start, end);
  lookedUpSlot = slot;
  if (cacheLengths[slot] !== length) return undefined;
  const base = slot * TEXT_CACHE_MAX_BYTES;
  for (let i = 0; i < length; i++) if (cacheBytes[base + i] !== line[start + i]) return undefined;
  return cacheTexts[slot];
}

/** Stores the text of the literal that cachedText() just missed. */
export function cacheText(line: Buffer, start: number, end: number, text: string): void {
  const slot = lookedUpSlot;
  cacheLengths[slot] = end - start;
  cacheBytes.set(line.subarray(start, end), slot * TEXT_CACHE_MAX_BYTES);
  cacheTexts[slot] = text;
}
