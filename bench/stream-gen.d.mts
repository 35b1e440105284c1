/** Types for stream-gen.mjs (the bench is plain JavaScript; the smoke test is TypeScript). */
export interface VocabEntry {
  readonly id: number;
  readonly text: string;
  readonly unicodeEscape?: boolean;
}
export declare const VOCAB: readonly VocabEntry[];
export declare function prng(seed: number): () => number;
export declare function generateTokens(
  seed: number,
  count: number,
): { ids: number[]; pieces: string[]; vocabIndex: number[]; text: string };
export declare function jsonPiece(entry: VocabEntry): string;
export interface EncodeOptions {
  kind?: 'completion' | 'chat';
  promptTokens?: number;
}
export declare function encodeEvents(seed: number, count: number, options?: EncodeOptions): string[];
export declare function encodeStream(seed: number, count: number, options?: EncodeOptions): Buffer;
